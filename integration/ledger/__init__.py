"""The points ledger: append-only entries, order settlement, bonuses, redemptions, expiry, tiers.

Every function here runs inside the caller's transaction and session; none commits.
"""

from integration.ledger.bonuses import (
    adjust,
    award_birthday,
    award_review,
    award_signup,
    complete_referral,
    customer_history,
    refer_friend,
    referral_code,
)
from integration.ledger.check import LedgerReport, check_account
from integration.ledger.entries import (
    available_points,
    lock_customer,
    lock_customers,
    pending_points,
    post_entry,
)
from integration.ledger.expiry import Expiring, expire_points, upcoming_expiry
from integration.ledger.orders import (
    AWARD_STATES,
    eligible_base,
    order_entries,
    settle_order,
)
from integration.ledger.redemptions import complete_redemption, fail_redemption, redeem
from integration.ledger.tiers import (
    evaluate_tier,
    qualifying_value,
    qualifying_values,
    tier_changes,
    tiers_of,
    write_tier_changes,
)

__all__ = [
    "AWARD_STATES",
    "Expiring",
    "LedgerReport",
    "adjust",
    "available_points",
    "award_birthday",
    "award_review",
    "award_signup",
    "check_account",
    "complete_redemption",
    "complete_referral",
    "customer_history",
    "eligible_base",
    "evaluate_tier",
    "expire_points",
    "fail_redemption",
    "lock_customer",
    "lock_customers",
    "order_entries",
    "pending_points",
    "post_entry",
    "qualifying_value",
    "qualifying_values",
    "tier_changes",
    "redeem",
    "refer_friend",
    "referral_code",
    "settle_order",
    "tiers_of",
    "upcoming_expiry",
]
