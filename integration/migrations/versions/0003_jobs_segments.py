"""Jobs, segments and customer insights: job_run, segment tables, customer_insight, rfm_bounds.

Revision ID: 0003_jobs_segments
Revises: 0001_core
Create Date: 2026-11-23 14:58:22.654437
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import integration.db


revision = '0003_jobs_segments'
down_revision = '0001_core'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('segment_scratch',
    sa.Column('segment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.PrimaryKeyConstraint('segment_id', 'customer_id')
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE segment_scratch SET UNLOGGED")  # transient work rows: no WAL
    op.create_table('rfm_bounds',
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('bounds', sa.JSON(), nullable=False),
    sa.Column('computed_at', integration.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.PrimaryKeyConstraint('account_id')
    )
    op.create_table('segment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('rule', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', integration.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', integration.db.UTCDateTime(), nullable=False),
    sa.Column('computed_at', integration.db.UTCDateTime(), nullable=True),
    sa.Column('member_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'name')
    )
    with op.batch_alter_table('segment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_segment_account_id'), ['account_id'], unique=False)

    op.create_table('job_run',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('job', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('trigger', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('started_at', integration.db.UTCDateTime(), nullable=False),
    sa.Column('heartbeat_at', integration.db.UTCDateTime(), nullable=False),
    sa.Column('finished_at', integration.db.UTCDateTime(), nullable=True),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('api_calls', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['connection_id'], ['connection.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.create_index('ix_job_run_job', ['job', 'started_at'], unique=False)
        batch_op.create_index('ux_job_run_running', ['job', 'scope'], unique=True, sqlite_where=sa.text("status = 'running'"), postgresql_where=sa.text("status = 'running'"))

    op.create_table('segment_change',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('segment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('change', sa.String(length=10), nullable=False),
    sa.Column('created_at', integration.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('segment_change', schema=None) as batch_op:
        batch_op.create_index('ix_segment_change_account', ['account_id', 'id'], unique=False)

    op.create_table('segment_member',
    sa.Column('segment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('added_at', integration.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('segment_id', 'customer_id')
    )
    with op.batch_alter_table('segment_member', schema=None) as batch_op:
        batch_op.create_index('ix_segment_member_customer', ['customer_id'], unique=False)

    op.create_table('abandoned_checkout',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('platform_id', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('abandoned_at', integration.db.UTCDateTime(), nullable=False),
    sa.Column('recovered', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['connection_id'], ['connection.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('connection_id', 'platform_id')
    )
    with op.batch_alter_table('abandoned_checkout', schema=None) as batch_op:
        batch_op.create_index('ix_abandoned_checkout_customer', ['account_id', 'customer_id', 'abandoned_at'], unique=False)

    op.create_table('customer_insight',
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('points_expiring', sa.Integer(), nullable=False),
    sa.Column('points_expiring_at', integration.db.UTCDateTime(), nullable=True),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('spend', sa.Float(), nullable=False),
    sa.Column('last_order_days', sa.Float(), nullable=True),
    sa.Column('first_order_days', sa.Float(), nullable=True),
    sa.Column('discounted_orders', sa.Integer(), nullable=False),
    sa.Column('rfm_r', sa.Integer(), nullable=True),
    sa.Column('rfm_f', sa.Integer(), nullable=True),
    sa.Column('rfm_m', sa.Integer(), nullable=True),
    sa.Column('rfm_group', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('predicted_clv', sa.Float(), nullable=True),
    sa.Column('p_alive', sa.Float(), nullable=True),
    sa.Column('expected_orders_90d', sa.Float(), nullable=True),
    sa.Column('updated_at', integration.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('customer_id')
    )
    with op.batch_alter_table('customer_insight', schema=None) as batch_op:
        batch_op.create_index('ix_customer_insight_account', ['account_id', 'rfm_group'], unique=False)

    op.create_table('segment_push_state',
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('last_change_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('pushed_at', integration.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['connection_id'], ['connection.id'], ),
    sa.PrimaryKeyConstraint('connection_id')
    )
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.create_index('ix_customer_updated', ['account_id', 'updated_at'], unique=False)

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_updated', ['account_id', 'updated_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_updated')

    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_updated')

    with op.batch_alter_table('customer_insight', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_insight_account')

    op.drop_table('segment_push_state')
    op.drop_table('customer_insight')
    with op.batch_alter_table('abandoned_checkout', schema=None) as batch_op:
        batch_op.drop_index('ix_abandoned_checkout_customer')

    op.drop_table('abandoned_checkout')
    with op.batch_alter_table('segment_member', schema=None) as batch_op:
        batch_op.drop_index('ix_segment_member_customer')

    op.drop_table('segment_member')
    with op.batch_alter_table('segment_change', schema=None) as batch_op:
        batch_op.drop_index('ix_segment_change_account')

    op.drop_table('segment_change')
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.drop_index('ux_job_run_running', sqlite_where=sa.text("status = 'running'"), postgresql_where=sa.text("status = 'running'"))
        batch_op.drop_index('ix_job_run_job')

    op.drop_table('job_run')
    with op.batch_alter_table('segment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_segment_account_id'))

    op.drop_table('segment')
    op.drop_table('rfm_bounds')
    op.drop_table('segment_scratch')
