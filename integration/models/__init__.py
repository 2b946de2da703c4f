"""The database model. Every table but ``account`` carries ``account_id``: rows belong to a tenant.

Importing this package registers every table on ``SQLModel.metadata`` (Alembic reads it there).
"""

from integration.models.admin import AdminUser
from integration.models.api import ApiToken
from integration.models.customers import Customer, CustomerIdentity, Referral
from integration.models.jobs import JobRun, RunStatus
from integration.models.ledger import EntryKind, LedgerEntry
from integration.models.orders import Order, OrderLine, OrderStatus, Refund
from integration.models.push import PushRefusal, PushState, SegmentPushRetry
from integration.models.program import Redemption, RedemptionStatus, Reward, RewardKind, Tier
from integration.models.segments import (
    AbandonedCheckout,
    CustomerInsight,
    RfmBounds,
    Segment,
    SegmentChange,
    SegmentMember,
    SegmentPushState,
)
from integration.models.tenancy import Account, Connection, ConnectionStatus, SyncCursor
from integration.portability.models import ImportRef  # noqa: E402,F401  (registers import_ref)
from webhooks.models import DataExport, InboxDelivery, InboxStatus  # noqa: E402  (webhook inbox)
from connectors.woocommerce.models import WooAuthRequest  # noqa: E402,F401  (table registration)

__all__ = [
    "AbandonedCheckout",
    "Account",
    "AdminUser",
    "ApiToken",
    "Connection",
    "ConnectionStatus",
    "Customer",
    "CustomerIdentity",
    "CustomerInsight",
    "EntryKind",
    "JobRun",
    "LedgerEntry",
    "Order",
    "OrderLine",
    "OrderStatus",
    "PushRefusal",
    "PushState",
    "Redemption",
    "RedemptionStatus",
    "Referral",
    "Refund",
    "Reward",
    "RewardKind",
    "RfmBounds",
    "RunStatus",
    "Segment",
    "SegmentChange",
    "SegmentMember",
    "SegmentPushRetry",
    "SegmentPushState",
    "SyncCursor",
    "Tier",
]
