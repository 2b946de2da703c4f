"""VIP tiers: the highest tier whose threshold the customer's rolling-window spend or points meet.

Retention: a tier reached (or re-qualified for) is kept until ``tier_kept_until``, so a quiet
month does not demote a VIP; after that the tier follows the window again. Upgrades are immediate.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from integration.db import utcnow
from integration.ledger.orders import AWARD_STATES
from integration.ledger.periods import months
from integration.models.fast import set_fields
from integration.models import Customer, EntryKind, LedgerEntry, Order, Tier
from integration.program import ProgramSettings

QUALIFYING_KINDS = (EntryKind.EARN, EntryKind.BONUS, EntryKind.REVERSE, EntryKind.IMPORT)


def qualifying_values(
    session: Session,
    program: ProgramSettings,
    account_id: int,
    customer_ids: list[int],
    now: datetime,
) -> dict[int, Decimal]:
    """Spend (net of refunds, awarded orders) or points earned in the window, per customer.

    The spend query names the account so that it reaches orders through ``ix_orders_customer``
    (account, customer, placed): without it every batch scanned the whole orders table.
    """
    since = now - months(program.tiers.window_months)
    if not customer_ids:
        return {}
    if program.tiers.basis == "points":
        query = (
            select(LedgerEntry.customer_id, func.sum(LedgerEntry.amount))
            .where(
                LedgerEntry.customer_id.in_(customer_ids),  # type: ignore[attr-defined]
                LedgerEntry.created_at >= since,
                LedgerEntry.kind.in_(QUALIFYING_KINDS),  # type: ignore[attr-defined]
            )
            .group_by(LedgerEntry.customer_id)
        )
    else:
        query = (
            select(Order.customer_id, func.sum(Order.total - Order.refunded_total))
            .where(
                Order.account_id == account_id,
                Order.customer_id.in_(customer_ids),  # type: ignore[union-attr]
                Order.placed_at >= since,
                Order.awarded_at.is_not(None),  # type: ignore[union-attr]
                Order.status.in_(AWARD_STATES["paid"]),  # type: ignore[attr-defined]
            )
            .group_by(Order.customer_id)
        )
    values = {cid: Decimal(0) for cid in customer_ids}
    for customer_id, total in session.exec(query):
        values[customer_id] = Decimal(total or 0)
    return values


def qualifying_value(
    session: Session, program: ProgramSettings, customer: Customer, now: datetime
) -> Decimal:
    return qualifying_values(session, program, customer.account_id, [customer.id], now)[customer.id]


def tiers_of(session: Session, account_id: int) -> list[Tier]:
    return list(
        session.exec(select(Tier).where(Tier.account_id == account_id).order_by(Tier.threshold))
    )


def evaluate_tier(
    session: Session,
    program: ProgramSettings,
    customer: Customer,
    now: datetime | None = None,
    tiers: list[Tier] | None = None,
) -> Tier | None:
    """Set the customer's tier from the window, honouring retention; returns the tier now held."""
    now = now or utcnow()
    tiers = tiers if tiers is not None else tiers_of(session, customer.account_id)
    if not tiers:
        return None
    value = qualifying_value(session, program, customer, now)
    set_fields(customer, **tier_changes(program, customer, now, tiers, value))
    return next((t for t in tiers if t.id == customer.tier_id), None)


def tier_changes(
    program: ProgramSettings,
    customer: Customer,
    now: datetime,
    tiers: list[Tier],
    value: Decimal,
) -> dict[str, Any]:
    """The tier columns to write for a customer whose qualifying value is ``value`` (``tiers``
    sorted by threshold); empty when nothing changes. A function of its inputs alone, so a batch
    can gather every customer's changes and write them together."""
    reached = None
    for tier in tiers:
        if value >= tier.threshold:
            reached = tier
    rank = {tier.id: i for i, tier in enumerate(tiers)}
    current_rank = rank.get(customer.tier_id, -1)
    reached_rank = rank.get(reached.id, -1) if reached else -1
    keep = months(program.tiers.retention_months)
    if reached_rank > current_rank:
        changes = dict(tier_id=reached.id if reached else None, tier_achieved_at=now,
                       tier_kept_until=now + keep)
    elif reached_rank == current_rank and reached is not None:
        changes = dict(tier_kept_until=max(customer.tier_kept_until or now, now + keep))
    elif customer.tier_kept_until is None or customer.tier_kept_until <= now:
        changes = dict(tier_id=reached.id if reached else None,
                       tier_achieved_at=now if reached else None,
                       tier_kept_until=now + keep if reached else None)
    else:
        changes = {}
    return {name: value for name, value in changes.items() if getattr(customer, name) != value}


def write_tier_changes(
    session: Session, changes: Iterable[tuple[Customer, dict[str, Any]]]
) -> None:
    """Write many customers' tier changes with one statement per set of changed columns.

    Left to the unit of work, customers with different changed columns interleave in primary-key
    order and every one became its own UPDATE (about a hundred round trips per 500-order batch).
    The objects keep the written values as their loaded state.
    """
    groups: dict[tuple[str, ...], list[tuple[Customer, dict[str, Any]]]] = {}
    for customer, fields in changes:
        if fields:
            groups.setdefault(tuple(sorted(fields)), []).append((customer, fields))
    table = Customer.__table__
    for names, members in groups.items():
        statement = (
            update(table)
            .where(table.c.id == bindparam("customer_id"))
            .values({name: bindparam(name) for name in names})
        )
        session.connection().execute(
            statement, [{"customer_id": customer.id, **fields} for customer, fields in members]
        )
        for customer, fields in members:
            for name, value in fields.items():
                set_committed_value(customer, name, value)
