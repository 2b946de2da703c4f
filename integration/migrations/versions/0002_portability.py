"""import_ref: outside customer ids mapped to the customers an import created or matched

Revision ID: 0002_portability
Revises: 0001_core
"""

from alembic import op
import sqlalchemy as sa

revision = "0002_portability"
down_revision = "0001_core"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "import_ref",
        sa.Column("id", BigId, nullable=False),
        sa.Column("account_id", BigId, nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("ref", sa.String(length=120), nullable=False),
        sa.Column("customer_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "source", "ref"),
    )
    with op.batch_alter_table("import_ref", schema=None) as batch_op:
        batch_op.create_index("ix_import_ref_customer_id", ["customer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("import_ref", schema=None) as batch_op:
        batch_op.drop_index("ix_import_ref_customer_id")
    op.drop_table("import_ref")
