"""Points for orders: earn once, take back exactly what was earned.

The ledger side of an order is a function of the order's state, not of the events that told us
about it. ``settle_order`` compares what the order's entries add up to with what its state says
they should, and posts the difference. So a duplicate, a late webhook, a webhook after the sync,
or events in any order all converge on the same entries' sum.

- Earning happens once, when the order is first seen in the award state (paid, fulfilled or
  completed, per the program). The rule and tier multiplier in force then are stored on the earn
  entry and every later reversal uses them, never today's rule.
- Reversal target: everything on cancellation or full refund; pro rata
  ``round(earned * refunded / total)`` on partial refunds. An order that comes back
  (completed → cancelled → completed) gets its reversal reinstated, never a second earn.
- Debt rule: a reversal never takes the balance below zero. What it could not take is recorded
  as ``shortfall`` on the entry and written off; a later reinstatement first cancels shortfall.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlmodel import Session, select

from integration.db import utcnow
from integration.ledger.entries import available_points, post_entry
from integration.models.fast import set_fields
from integration.models import (
    Customer,
    EntryKind,
    LedgerEntry,
    Order,
    OrderStatus,
    Tier,
)
from integration.program import ProgramSettings

AWARD_STATES = {
    "paid": {OrderStatus.PAID, OrderStatus.FULFILLED, OrderStatus.COMPLETED},
    "fulfilled": {OrderStatus.FULFILLED, OrderStatus.COMPLETED},
    "completed": {OrderStatus.COMPLETED},
}
REVERSED_STATES = {OrderStatus.CANCELLED, OrderStatus.REFUNDED}


def eligible_base(order: Order, program: ProgramSettings) -> Decimal:
    """The money that earns points under the program's earn rule."""
    rule = program.earn
    discounts = order.points_discount if rule.count_discounts else order.discount_total
    base = order.subtotal - discounts
    if rule.include_shipping:
        base += order.shipping
    if rule.include_tax:
        base += order.tax
    return max(Decimal(0), base)


def _earn_key(order: Order) -> str:
    return f"order:{order.connection_id}:{order.platform_id}:earn"


def order_entries(session: Session, order: Order) -> list[LedgerEntry]:
    if order.id is None:
        return []
    return list(
        session.exec(
            select(LedgerEntry).where(LedgerEntry.order_id == order.id).order_by(LedgerEntry.id)
        )
    )


def _reversal_target(order: Order, earned: int, earned_total: Decimal) -> int:
    if order.status in REVERSED_STATES:
        return earned
    if order.refunded_total <= 0:
        return 0
    if earned_total <= 0:
        return earned
    share = min(Decimal(1), order.refunded_total / earned_total)
    return int((Decimal(earned) * share).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def settle_order(
    session: Session,
    program: ProgramSettings,
    order: Order,
    customer: Customer,
    now: datetime | None = None,
    entries: list[LedgerEntry] | None = None,
    tiers: dict[int, Tier] | None = None,
) -> list[LedgerEntry]:
    """Bring the order's entries in line with its state; returns the entries posted now.

    ``entries`` are the order's entries when the caller already holds them (batch application);
    entries posted here are appended to it, so a second settlement in the same batch sees them.
    ``tiers`` (by id) saves a look-up of the customer's tier when the caller has them.
    """
    now = now or utcnow()
    entries = order_entries(session, order) if entries is None else entries
    earn = next((e for e in entries if e.kind == EntryKind.EARN), None)
    posted: list[LedgerEntry] = []
    if earn is None:
        if order.status not in AWARD_STATES[program.award_on]:
            return posted
        earn = _earn(session, program, order, customer, now, tiers)
        posted.append(earn)
        entries.append(earn)
        set_fields(order, awarded_at=now)
    earned = earn.amount
    reversals = [e for e in entries if e.kind == EntryKind.REVERSE]
    requested = sum(-e.amount + e.shortfall for e in reversals)
    target = _reversal_target(order, earned, Decimal(earn.data["total"]))
    if target == requested:
        return posted
    step = len(reversals) + 1
    key = f"order:{order.connection_id}:{order.platform_id}:reverse:{step}"
    pending = earn.available_at > now
    if target > requested:
        wanted = target - requested
        taken = wanted if pending else min(wanted, max(0, available_points(session, customer, now)))
        reason = "order cancelled" if order.status == OrderStatus.CANCELLED else "order refunded"
        amount, shortfall = -taken, wanted - taken
    else:
        give_back = requested - target
        shortfall_total = sum(e.shortfall for e in reversals)
        reason = "order reinstated"
        amount, shortfall = max(0, give_back - shortfall_total), -min(give_back, shortfall_total)
    posted.append(
        post_entry(
            session,
            customer,
            amount=amount,
            kind=EntryKind.REVERSE,
            key=key,
            reason=reason,
            source=f"order:{order.platform_id}",
            order=order,
            shortfall=shortfall,
            data={"target": target, "earned": earned},
            available_at=earn.available_at if pending else now,
            now=now,
            known_new=True,
        )
    )
    entries.append(posted[-1])
    return posted


def _earn(
    session: Session,
    program: ProgramSettings,
    order: Order,
    customer: Customer,
    now: datetime,
    tiers: dict[int, Tier] | None,
) -> LedgerEntry:
    multiplier = Decimal(1)
    tier_name = ""
    if customer.tier_id is not None:
        tier = tiers.get(customer.tier_id) if tiers is not None else session.get(Tier, customer.tier_id)
        if tier is not None:
            multiplier, tier_name = tier.multiplier, tier.name
    base = eligible_base(order, program)
    points = program.earn.points_for(base, multiplier)
    available_at = order.placed_at + timedelta(days=program.return_window_days)
    return post_entry(
        session,
        customer,
        amount=points,
        kind=EntryKind.EARN,
        key=_earn_key(order),
        reason=f"order {order.number or order.platform_id}",
        source=f"order:{order.platform_id}",
        order=order,
        known_new=True,
        data={
            "base": str(base),
            "total": str(order.total),
            "currency": order.currency,
            "rule": program.earn.model_dump(mode="json"),
            "multiplier": str(multiplier),
            "tier": tier_name,
        },
        available_at=available_at,
        now=now,
    )

