"""WooCommerce app-authorization requests (connectors/woocommerce/models.py)

Revision ID: 0003_woocommerce_auth
Revises: 0002_push_state
Create Date: 2026-11-23 15:06:02.126486
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import integration.db


revision = '0003_woocommerce_auth'
down_revision = '0002_push_state'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('woocommerce_auth_request',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('nonce', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('site_url', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('allow_insecure_http', sa.Boolean(), nullable=False),
    sa.Column('created_at', integration.db.UTCDateTime(), nullable=False),
    sa.Column('completed_at', integration.db.UTCDateTime(), nullable=True),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['connection_id'], ['connection.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('nonce')
    )
    with op.batch_alter_table('woocommerce_auth_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_woocommerce_auth_request_account_id'), ['account_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('woocommerce_auth_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_woocommerce_auth_request_account_id'))

    op.drop_table('woocommerce_auth_request')
