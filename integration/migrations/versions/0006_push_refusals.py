"""push refusals and segment push retries: contacts a connection refuses for good, and segment
memberships still to be sent, so neither is re-sent forever nor holds up the others

Revision ID: 0006_push_refusals
Revises: 0002_push_state
Create Date: 2026-12-04 19:00:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import integration.db


revision = '0006_push_refusals'
down_revision = '0002_push_state'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('push_refusal',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('account_id', BIG_ID, nullable=False),
    sa.Column('connection_id', BIG_ID, nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('refused_at', integration.db.UTCDateTime(), nullable=False),
    sa.Column('consent_seen_at', integration.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['connection_id'], ['connection.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('connection_id', 'customer_id')
    )
    with op.batch_alter_table('push_refusal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_push_refusal_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_push_refusal_reason', ['connection_id', 'reason'], unique=False)

    op.create_table('segment_push_retry',
    sa.Column('connection_id', BIG_ID, nullable=False),
    sa.Column('segment_id', BIG_ID, nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=False),
    sa.Column('account_id', BIG_ID, nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('since', integration.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['connection_id'], ['connection.id'], ),
    sa.PrimaryKeyConstraint('connection_id', 'segment_id', 'customer_id')
    )


def downgrade() -> None:
    op.drop_table('segment_push_retry')
    with op.batch_alter_table('push_refusal', schema=None) as batch_op:
        batch_op.drop_index('ix_push_refusal_reason')
        batch_op.drop_index(batch_op.f('ix_push_refusal_account_id'))
    op.drop_table('push_refusal')
