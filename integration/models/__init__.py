"""The database model. Every table but ``account`` carries ``account_id``: rows belong to a tenant.

Importing this package registers every table on ``SQLModel.metadata`` (Alembic reads it there).
"""

from integration.models.customers import Customer, CustomerIdentity, Referral
from integration.models.ledger import EntryKind, LedgerEntry
from integration.models.orders import Order, OrderLine, OrderStatus, Refund
from integration.models.push import PushState
from integration.models.program import Redemption, RedemptionStatus, Reward, RewardKind, Tier
from integration.models.tenancy import Account, Connection, ConnectionStatus, SyncCursor
from webhooks.models import DataExport, InboxDelivery, InboxStatus  # noqa: E402  (webhook inbox)

__all__ = [
    "Account",
    "Connection",
    "ConnectionStatus",
    "Customer",
    "CustomerIdentity",
    "EntryKind",
    "LedgerEntry",
    "Order",
    "OrderLine",
    "OrderStatus",
    "PushState",
    "Redemption",
    "RedemptionStatus",
    "Referral",
    "Refund",
    "Reward",
    "RewardKind",
    "SyncCursor",
    "Tier",
]
