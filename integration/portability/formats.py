"""The import sources Sadakat knows: which columns of a file mean what.

A source is declared, not coded: its ``mode`` (what one row is) and, for each field, the header
names it may carry. Headers are matched without regard to case, spaces, dashes or underscores,
and a merchant can point any field at any header (``--column points="Points balance"``) when an
export does not look like what is documented here.

Where the column names come from (looked up 2026-11; vendors change their exports, which is why
every mapping can be overridden):

- Smile.io: the points import file has exactly two headers, ``email`` and ``points``
  (help.smile.io/en/articles/4036233-import-points-with-a-csv-file); the VIP tier import matches
  tier names case-sensitively (help.smile.io/en/articles/4036327-configure-vip-tiers) but the
  tier column's header is not published, so ``vip_tier`` / ``tier`` is our assumption. Points
  history follows the REST points-transaction object (``id``, ``points_change``, ``description``,
  ``created_at``: dev.smile.io/api/resources/points-transactions); no CSV export of it is
  documented, so that mapping is an assumption built on the API's field names.
- LoyaltyLion: the customer export lets the merchant pick and *rename* columns
  (help.loyaltylion.com/articles/5367139-export), so no header is guaranteed. The points states
  are approved / pending / spent (help.loyaltylion.com/en/articles/6062006-how-points-work);
  its own bulk-points file is customer id, email, points, enrolled
  (help.loyaltylion.com/en/articles/1965801-managing-members). We import approved points only:
  pending points may still be declined.
- WooCommerce Points & Rewards (the WooCommerce.com extension) has no documented CSV export; its
  data lives in ``wc_points_rewards_user_points`` (``user_id``, ``points``, ``points_balance``,
  ``order_id``, ``date``) and ``wc_points_rewards_user_points_log`` (``user_id``, ``points``,
  ``type``, ``admin_user_id``, ``date``). Migration tools export it as ``email``, ``points``
  (e.g. WooRewards' "WooCommerce Points and Rewards" export method selects
  ``user_email AS email, SUM(points_balance) AS points``). The history mapping expects that log
  joined with ``wp_users.user_email``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum


class Mode(StrEnum):
    BALANCE = "balance"      # one row per customer: an opening balance
    HISTORY = "history"      # one row per points transaction
    CUSTOMERS = "customers"  # Sadakat export: profiles and tiers, no points
    TIERS = "tiers"          # Sadakat export: tier definitions


# Fields every mode understands; which are required depends on the mode.
REQUIRED: dict[Mode, tuple[str, ...]] = {
    Mode.BALANCE: ("points",),
    Mode.HISTORY: ("points", "created_at"),
    Mode.CUSTOMERS: (),
    Mode.TIERS: ("name",),
}
# A customer is named by e-mail, by the old app's customer id (``ref``), or both.
IDENTIFIED_BY = ("email", "ref")


@dataclass(frozen=True)
class SourceFormat:
    name: str
    mode: Mode
    title: str
    columns: dict[str, tuple[str, ...]]
    confirmed: bool = True
    notes: str = ""

    def with_overrides(self, overrides: dict[str, str]) -> SourceFormat:
        columns = dict(self.columns)
        for name, header in overrides.items():
            columns[name] = (header,)
        return replace(self, columns=columns)


def header_key(header: str) -> str:
    """``"Points Balance"``, ``points_balance`` and ``points-balance`` are one header."""
    return re.sub(r"[\s_\-]+", "", header.strip().lower())


_PROFILE = {
    "first_name": ("first_name",),
    "last_name": ("last_name",),
}

SOURCES: dict[str, SourceFormat] = {
    source.name: source
    for source in (
        SourceFormat(
            "generic", Mode.BALANCE, "Generic balances CSV (documented in docs/import-export.md)",
            {
                "email": ("email",),
                "ref": ("customer_id", "id"),
                "points": ("points",),
                "tier": ("tier",),
                **_PROFILE,
            },
        ),
        SourceFormat(
            "generic-history", Mode.HISTORY, "Generic points history CSV",
            {
                "email": ("email",),
                "ref": ("customer_id",),
                "id": ("transaction_id", "id"),
                "points": ("points",),
                "created_at": ("created_at", "date"),
                "reason": ("reason", "description"),
                "tier": ("tier",),
            },
        ),
        SourceFormat(
            "smile", Mode.BALANCE, "Smile.io points file",
            {
                "email": ("email",),
                "ref": ("customer_id",),
                "points": ("points", "points_balance"),
                "tier": ("vip_tier", "vip_tier_name", "tier"),
                **_PROFILE,
            },
            notes="email/points confirmed by Smile's help centre; the tier header is assumed",
        ),
        SourceFormat(
            "smile-history", Mode.HISTORY, "Smile.io points transactions",
            {
                "email": ("email", "customer_email"),
                "ref": ("customer_id",),
                "id": ("id", "points_transaction_id"),
                "points": ("points_change",),
                "created_at": ("created_at",),
                "reason": ("description", "internal_note"),
            },
            confirmed=False,
            notes="field names of Smile's REST points transaction; no CSV export is documented",
        ),
        SourceFormat(
            "loyaltylion", Mode.BALANCE, "LoyaltyLion customer export",
            {
                "email": ("email",),
                "ref": ("merchant_id", "customer_id", "id"),
                "points": ("points_approved", "approved_points", "points"),
                "tier": ("tier", "current_tier", "tier_name"),
                **_PROFILE,
            },
            confirmed=False,
            notes="LoyaltyLion lets merchants rename export columns; approved points only",
        ),
        SourceFormat(
            "woocommerce", Mode.BALANCE, "WooCommerce Points & Rewards balances",
            {
                "email": ("email", "user_email"),
                "ref": ("user_id",),
                "points": ("points", "points_balance"),
                **_PROFILE,
            },
            confirmed=False,
            notes="no official CSV export; matches the user_points table as migration tools dump it",
        ),
        SourceFormat(
            "woocommerce-history", Mode.HISTORY, "WooCommerce Points & Rewards points log",
            {
                "email": ("user_email", "email"),
                "ref": ("user_id",),
                "id": ("id",),
                "points": ("points",),
                "created_at": ("date",),
                "reason": ("type",),
            },
            confirmed=False,
            notes="wc_points_rewards_user_points_log joined with wp_users.user_email",
        ),
        # Sadakat's own export (integration/portability/exporter.py writes these headers).
        SourceFormat(
            "sadakat-tiers", Mode.TIERS, "Sadakat export: tiers",
            {
                "name": ("name",),
                "threshold": ("threshold",),
                "multiplier": ("multiplier",),
                "perks": ("perks",),
            },
        ),
        SourceFormat(
            "sadakat-customers", Mode.CUSTOMERS, "Sadakat export: customers",
            {
                "ref": ("id",),
                "email": ("email",),
                "first_name": ("first_name",),
                "last_name": ("last_name",),
                "phone": ("phone",),
                "birthday": ("birthday",),
                "consent": ("consent",),
                "is_guest": ("is_guest",),
                "tier": ("tier",),
                "tier_achieved_at": ("tier_achieved_at",),
                "tier_kept_until": ("tier_kept_until",),
                "referral_code": ("referral_code",),
                "created_at": ("created_at",),
            },
        ),
        SourceFormat(
            "sadakat-ledger", Mode.HISTORY, "Sadakat export: ledger",
            {
                "ref": ("customer_id",),
                "email": ("email",),
                "id": ("idempotency_key",),
                "points": ("amount",),
                "kind": ("kind",),
                "created_at": ("created_at",),
                "available_at": ("available_at",),
                "reason": ("reason",),
                "original_source": ("source",),
            },
        ),
    )
}

# ``--source sadakat`` imports an export folder: these files, in this order.
SADAKAT_FILES = (("tiers", "sadakat-tiers"), ("customers", "sadakat-customers"),
                 ("ledger", "sadakat-ledger"))


def app_of(source: SourceFormat) -> str:
    """The app a source belongs to (``smile`` for smile-history): names keys, refs and entries."""
    return source.name.split("-")[0]
