"""push state

Revision ID: 0002_push_state
Revises: 0001_core
Create Date: 2026-11-23 14:57:45.926433
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import integration.db


revision = '0002_push_state'
down_revision = '0001_core'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('push_state',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('pushed_at', integration.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['connection_id'], ['connection.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('connection_id', 'customer_id')
    )
    with op.batch_alter_table('push_state', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_push_state_account_id'), ['account_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('push_state', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_push_state_account_id'))

    op.drop_table('push_state')
