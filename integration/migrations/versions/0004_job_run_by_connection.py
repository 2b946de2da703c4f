"""job runs by connection: the connections page reads a connection's recent runs

Revision ID: 0004_job_run_by_connection
Revises: 0003_jobs_segments
Create Date: 2026-12-01 12:00:00
"""

from alembic import op

revision = '0004_job_run_by_connection'
down_revision = '0003_jobs_segments'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_job_run_connection', 'job_run', ['connection_id', 'started_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_job_run_connection', table_name='job_run')
