"""Segment recompute works in temporary tables: drop the shared segment_scratch table.

Revision ID: 0005_segment_work_tables
Revises: 0004_job_run_by_connection
Create Date: 2026-12-01 10:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0005_segment_work_tables'
down_revision = '0004_job_run_by_connection'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table('segment_scratch')


def downgrade() -> None:
    op.create_table('segment_scratch',
    sa.Column('segment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.PrimaryKeyConstraint('segment_id', 'customer_id')
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE segment_scratch SET UNLOGGED")
