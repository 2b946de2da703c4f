"""Store and loyalty-program figures by period, each one GROUP BY in the database.

Orders count when paid, fulfilled or completed (as for segments); revenue is net of refunds.
A *member* is a customer with an account in the store (not a guest checkout); orders without a
customer are non-member orders. Periods are calendar months (``YYYY-MM``, UTC) or years.

- ``periods``: orders, buyers, revenue, average order value, purchase frequency (orders per
  buyer), repeat purchase rate (buyers who had ordered before the period or ordered twice in it),
  and member vs non-member orders, revenue and AOV.
- ``points``: issued (net of reversals), redeemed, expired, and redemption rate per period.
- ``tiers``: current tier distribution.
- ``cohorts``: for customers grouped by first-order month, the share ordering again N months on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Integer, and_, case, cast, distinct, func, literal, or_, select
from sqlmodel import Session

from integration.ledger.check import ISSUED, REDEEMED
from integration.models import Customer, EntryKind, LedgerEntry, Order, Tier
from integration.segments.rules import COUNTED_STATES
from integration.sqlfuncs import year_month

Period = Literal["month", "year"]


@dataclass
class Report:
    account_id: int
    period: Period
    periods: list[dict[str, Any]] = field(default_factory=list)
    points: list[dict[str, Any]] = field(default_factory=list)
    tiers: list[dict[str, Any]] = field(default_factory=list)
    cohorts: list[dict[str, Any]] = field(default_factory=list)

    SECTIONS = ("periods", "points", "tiers", "cohorts")

    def section(self, name: str) -> list[dict[str, Any]]:
        return getattr(self, name)


def _period(column, period: Period):
    ym = year_month(column)
    return ym if period == "month" else func.substr(ym, 1, 4)


def _ratio(numerator, denominator, places: int = 4) -> float | None:
    return round(float(numerator) / float(denominator), places) if denominator else None


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def _counted(account_id: int, since: datetime | None, until: datetime | None):
    conditions = [Order.account_id == account_id, Order.status.in_(COUNTED_STATES)]  # type: ignore[attr-defined]
    if since is not None:
        conditions.append(Order.placed_at >= since)
    if until is not None:
        conditions.append(Order.placed_at < until)
    return conditions


def _periods(session: Session, account_id: int, period: Period, since, until) -> list[dict]:
    first_order = (
        select(Order.customer_id, func.min(Order.placed_at).label("first_at"))
        .where(*_counted(account_id, None, None), Order.customer_id.is_not(None))  # type: ignore[union-attr]
        .group_by(Order.customer_id).subquery()
    )
    p = _period(Order.placed_at, period).label("period")
    net = Order.total - Order.refunded_total
    member = and_(Order.customer_id.is_not(None), Customer.is_guest.is_(False))  # type: ignore[union-attr]
    per_buyer = (
        select(p, Order.customer_id.label("customer_id"), func.count().label("orders"),
               func.sum(net).label("revenue"),
               func.min(Order.placed_at).label("first_in_period"),
               func.max(case((member, 1), else_=0)).label("member"))
        .select_from(Order)
        .outerjoin(Customer, Customer.id == Order.customer_id)
        .where(*_counted(account_id, since, until))
        .group_by(p, Order.customer_id)
        .subquery()
    )
    returning = or_(per_buyer.c.orders >= 2,
                    first_order.c.first_at < per_buyer.c.first_in_period)
    known = per_buyer.c.customer_id.is_not(None)
    is_member = per_buyer.c.member == 1
    rows = session.execute(
        select(
            per_buyer.c.period,
            func.sum(per_buyer.c.orders), func.sum(per_buyer.c.revenue),
            func.sum(case((known, 1), else_=0)),
            func.sum(case((and_(known, returning), 1), else_=0)),
            func.sum(case((known, per_buyer.c.orders), else_=0)),
            func.sum(case((is_member, per_buyer.c.orders), else_=0)),
            func.sum(case((is_member, per_buyer.c.revenue), else_=0)),
        )
        .outerjoin(first_order, first_order.c.customer_id == per_buyer.c.customer_id)
        .group_by(per_buyer.c.period).order_by(per_buyer.c.period)
    ).all()
    out = []
    for period_key, orders, revenue, buyers, repeat, buyer_orders, m_orders, m_revenue in rows:
        revenue, m_revenue = _money(revenue), _money(m_revenue)
        n_orders, n_revenue = int(orders) - int(m_orders), revenue - m_revenue
        out.append({
            "period": period_key, "orders": int(orders), "buyers": int(buyers),
            "revenue": revenue, "aov": _money(revenue / orders) if orders else None,
            "purchase_frequency": _ratio(buyer_orders, buyers, 2),
            "repeat_purchase_rate": _ratio(repeat, buyers),
            "member_orders": int(m_orders), "member_revenue": m_revenue,
            "member_aov": _money(m_revenue / m_orders) if m_orders else None,
            "non_member_orders": n_orders, "non_member_revenue": n_revenue,
            "non_member_aov": _money(n_revenue / n_orders) if n_orders else None,
        })
    return out


def _points(session: Session, account_id: int, period: Period, since, until) -> list[dict]:
    p = _period(LedgerEntry.created_at, period).label("period")

    def total(kinds: tuple[EntryKind, ...]):
        return func.coalesce(func.sum(case(
            (LedgerEntry.kind.in_(kinds), LedgerEntry.amount), else_=0)), 0)  # type: ignore[attr-defined]

    conditions = [LedgerEntry.account_id == account_id]
    if since is not None:
        conditions.append(LedgerEntry.created_at >= since)
    if until is not None:
        conditions.append(LedgerEntry.created_at < until)
    rows = session.execute(
        select(p, total(ISSUED), total(REDEEMED), total((EntryKind.EXPIRE,)))
        .where(*conditions).group_by(p).order_by(p)
    ).all()
    return [
        {"period": key, "issued": int(issued), "redeemed": -int(redeemed),
         "expired": -int(expired), "redemption_rate": _ratio(-int(redeemed), issued)}
        for key, issued, redeemed, expired in rows
    ]


def _tiers(session: Session, account_id: int) -> list[dict]:
    rows = session.execute(
        select(func.coalesce(Tier.name, literal("(none)")), func.count(Customer.id))
        .select_from(Customer).outerjoin(Tier, Tier.id == Customer.tier_id)
        .where(Customer.account_id == account_id, Customer.redacted_at.is_(None))  # type: ignore[union-attr]
        .group_by(Tier.name, Tier.threshold).order_by(func.coalesce(Tier.threshold, -1))
    ).all()
    total = sum(count for _, count in rows)
    return [{"tier": name, "customers": int(count), "share": _ratio(count, total)}
            for name, count in rows]


def _month_number(ym):
    return (cast(func.substr(ym, 1, 4), Integer) * 12 + cast(func.substr(ym, 6, 2), Integer))


def _cohorts(session: Session, account_id: int, since, until, months: int) -> list[dict]:
    ym = year_month(Order.placed_at)
    active = (
        select(Order.customer_id.label("customer_id"), ym.label("ym"))
        .where(*_counted(account_id, None, until), Order.customer_id.is_not(None))  # type: ignore[union-attr]
        .group_by(Order.customer_id, ym).subquery()
    )
    first = (select(active.c.customer_id, func.min(active.c.ym).label("cohort"))
             .group_by(active.c.customer_id).subquery())
    offset = (_month_number(active.c.ym) - _month_number(first.c.cohort)).label("offset")
    query = (
        select(first.c.cohort, offset, func.count(distinct(active.c.customer_id)))
        .join(first, first.c.customer_id == active.c.customer_id)
        .group_by(first.c.cohort, offset).order_by(first.c.cohort, offset)
    )
    if since is not None:
        query = query.where(first.c.cohort >= since.strftime("%Y-%m"))
    sizes: dict[str, int] = {}
    table: dict[str, dict[str, Any]] = {}
    for cohort, month, count in session.execute(query).all():
        if month == 0:
            sizes[cohort] = int(count)
            table[cohort] = {"cohort": cohort, "customers": int(count)}
        if 0 < month <= months and cohort in sizes:
            table[cohort][f"m{month}"] = _ratio(count, sizes[cohort])
    return list(table.values())


def build_report(session: Session, account_id: int, *, period: Period = "month",
                 since: datetime | None = None, until: datetime | None = None,
                 cohort_months: int = 6) -> Report:
    """Every section of the report for one account over [since, until)."""
    return Report(
        account_id=account_id, period=period,
        periods=_periods(session, account_id, period, since, until),
        points=_points(session, account_id, period, since, until),
        tiers=_tiers(session, account_id),
        cohorts=_cohorts(session, account_id, since, until, cohort_months),
    )
