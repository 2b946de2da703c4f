"""Customer order statistics and RFM scoring: recency, frequency and monetary value in
quintiles, and the named groups.

One aggregation over the counted orders per recompute gives each buyer's order count, net spend,
first and last order and discounted orders (``customer_insight``); the scores and the all-time
segment rules read those.

Scores are 1..5 with 5 the best (most recent, most orders, most spend). A score is
``ceil(5 * k / n)`` where ``k`` counts the customers whose value is lower or equal and ``n`` the
customers with orders: ties always get the same score, so with many one-order customers the
frequency scores 1 and 2 may stay empty rather than split equal customers arbitrarily.

Groups, on recency R and FM = round((F + M) / 2), first match wins:

=====================  ===============================
Champions              R >= 4 and FM >= 4
Loyal                  R >= 3 and FM >= 3
Potential loyalist     R >= 3
Can't lose             R = 1 and FM >= 4
At risk                R <= 2 and FM >= 3
Hibernating            R = 2
Lost                   R = 1
=====================  ===============================

A full run scores every customer with orders and stores, per score, the highest value that got
it (``rfm_bounds``); an incremental run scores only the changed customers against those bounds,
which gives each exactly the score a full run would have given it had the others not moved.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, literal_column, text
from sqlmodel import Session, delete

from integration.db import UTCDateTime
from integration.models import RfmBounds
from integration.segments.rules import COUNTED_STATES
from integration.segments.worktables import STATS, analyze
from integration.sqlfuncs import epoch_days

GROUPS = ("Champions", "Loyal", "Potential loyalist", "Can't lose", "At risk", "Hibernating", "Lost")
DIMENSIONS = {"r": "last_order_days", "f": "orders", "m": "spend"}

_GROUP_CASE = """CASE
    WHEN r >= 4 AND (f + m + 1) / 2 >= 4 THEN 'Champions'
    WHEN r >= 3 AND (f + m + 1) / 2 >= 3 THEN 'Loyal'
    WHEN r >= 3 THEN 'Potential loyalist'
    WHEN r = 1 AND (f + m + 1) / 2 >= 4 THEN 'Can''t lose'
    WHEN (f + m + 1) / 2 >= 3 THEN 'At risk'
    WHEN r = 2 THEN 'Hibernating'
    ELSE 'Lost' END"""


def group_of(r: int, f: int, m: int) -> str:
    """The named group of one score triple (the Python twin of the SQL CASE, for tests and docs)."""
    fm = (f + m + 1) // 2
    if r >= 4 and fm >= 4:
        return "Champions"
    if r >= 3 and fm >= 3:
        return "Loyal"
    if r >= 3:
        return "Potential loyalist"
    if r == 1 and fm >= 4:
        return "Can't lose"
    if fm >= 3:
        return "At risk"
    return "Hibernating" if r == 2 else "Lost"


def collect_stats(session: Session, account_id: int, changed_only: bool) -> None:
    """Fill ``segment_stats`` with the counted-order figures of every buyer, or of the changed
    customers alone (their orders found through the customer index, not a scan of all orders).

    First and last order are aggregated as timestamps and turned into days once per customer:
    per order, PostgreSQL's EXTRACT gives a numeric whose MIN/MAX state costs far more memory
    and time over five million orders."""
    dialect = session.get_bind().dialect
    last, first = (epoch_days(literal_column(f"{agg}(o.placed_at)")).compile(dialect=dialect)
                   for agg in ("MAX", "MIN"))
    states = ", ".join(f"'{s}'" for s in COUNTED_STATES)
    source = ("segment_changed c JOIN orders o ON o.customer_id = c.customer_id" if changed_only
              else "orders o")
    # Spend is rounded to the money scale: SQLite sums money as floats, and two buyers whose
    # exact spend ties could otherwise differ in the last bit there and not on PostgreSQL, which
    # moved a customer between RFM groups on one backend only (1 in 1,000,000).
    session.execute(text(f"""
        INSERT INTO segment_stats (customer_id, orders, spend, last_order_days, first_order_days,
                                   discounted_orders)
        SELECT o.customer_id, COUNT(*), ROUND(SUM(o.total - o.refunded_total), 4), {last}, {first},
               SUM(CASE WHEN o.discount_total > 0 THEN 1 ELSE 0 END)
        FROM {source}
        WHERE o.account_id = :account_id AND o.customer_id IS NOT NULL
          AND o.status IN ({states})
        GROUP BY o.customer_id
    """), {"account_id": account_id})
    analyze(session, STATS)


def _upsert(session: Session, account_id: int, scored: str, now: datetime) -> int:
    # The WITH goes inside the INSERT: SQLite reports no row count for a statement led by WITH.
    # Unchanged rows are not rewritten (the WHERE of DO UPDATE): a steady run stays cheap.
    statement = text(f"""
        INSERT INTO customer_insight (customer_id, account_id, points_expiring, orders, spend,
                                      last_order_days, first_order_days, discounted_orders,
                                      rfm_r, rfm_f, rfm_m, rfm_group, updated_at)
        WITH {scored},
        grouped AS (SELECT scored.*, {_GROUP_CASE} AS rfm_group FROM scored)
        SELECT customer_id, :account_id, 0, orders, spend, last_order_days, first_order_days,
               discounted_orders, r, f, m, rfm_group, :now
        FROM grouped WHERE true
        ON CONFLICT (customer_id) DO UPDATE SET
            orders = excluded.orders, spend = excluded.spend,
            last_order_days = excluded.last_order_days,
            first_order_days = excluded.first_order_days,
            discounted_orders = excluded.discounted_orders, rfm_r = excluded.rfm_r,
            rfm_f = excluded.rfm_f, rfm_m = excluded.rfm_m, rfm_group = excluded.rfm_group
        WHERE customer_insight.orders <> excluded.orders
           OR customer_insight.spend <> excluded.spend
           OR customer_insight.discounted_orders <> excluded.discounted_orders
           OR COALESCE(customer_insight.last_order_days, -1) <> excluded.last_order_days
           OR COALESCE(customer_insight.first_order_days, -1) <> excluded.first_order_days
           OR COALESCE(customer_insight.rfm_r, 0) <> excluded.rfm_r
           OR COALESCE(customer_insight.rfm_f, 0) <> excluded.rfm_f
           OR COALESCE(customer_insight.rfm_m, 0) <> excluded.rfm_m
    """).bindparams(bindparam("now", type_=UTCDateTime))
    return session.execute(statement, {"now": now, "account_id": account_id},
                           execution_options={"preserve_rowcount": True}).rowcount


def _clear_without_orders(session: Session, account_id: int, changed_only: bool) -> None:
    """Customers scored before but without counted orders now (all refunded or cancelled) lose
    their figures: those looked at with no ``segment_stats`` row."""
    restrict = (" AND customer_id IN (SELECT customer_id FROM segment_changed)" if changed_only
                else "")
    session.execute(text(f"""
        UPDATE customer_insight SET orders = 0, spend = 0, last_order_days = NULL,
            first_order_days = NULL, discounted_orders = 0, rfm_r = NULL, rfm_f = NULL,
            rfm_m = NULL, rfm_group = NULL
        WHERE account_id = :account_id AND rfm_group IS NOT NULL{restrict}
          AND NOT EXISTS (SELECT 1 FROM segment_stats s
                          WHERE s.customer_id = customer_insight.customer_id)
    """), {"account_id": account_id})


def score_all(session: Session, account_id: int, now: datetime) -> int:
    """Score every customer with orders; store the bounds for incremental runs."""
    collect_stats(session, account_id, changed_only=False)
    _clear_without_orders(session, account_id, changed_only=False)
    scored = """scored AS (
            SELECT customer_id, orders, spend, last_order_days, first_order_days, discounted_orders,
              (5 * COUNT(*) OVER (ORDER BY last_order_days) + n - 1) / n AS r,
              (5 * COUNT(*) OVER (ORDER BY orders) + n - 1) / n AS f,
              (5 * COUNT(*) OVER (ORDER BY spend) + n - 1) / n AS m
            FROM segment_stats CROSS JOIN (SELECT COUNT(*) AS n FROM segment_stats) total)"""
    count = _upsert(session, account_id, scored, now)
    # Every segment rule of this run joins these rows: plan those joins on today's numbers.
    analyze(session, "customer_insight")
    bounds: dict[str, dict[str, float]] = {}
    for dim, column in DIMENSIONS.items():
        rows = session.execute(text(f"""
            SELECT rfm_{dim}, MAX({column}) FROM customer_insight
            WHERE account_id = :account_id AND rfm_{dim} IS NOT NULL GROUP BY rfm_{dim}
        """), {"account_id": account_id}).all()
        bounds[dim] = {str(score): float(value) for score, value in rows}
    session.execute(delete(RfmBounds).where(RfmBounds.account_id == account_id))
    session.add(RfmBounds(account_id=account_id, bounds=bounds, computed_at=now))
    session.flush()
    return count


def _score_case(column: str, limits: dict[str, float]) -> str:
    ordered = sorted((int(score), value) for score, value in limits.items())
    if not ordered:
        return "3"
    whens = " ".join(f"WHEN {column} <= {value!r} THEN {score}" for score, value in ordered)
    return f"CASE {whens} ELSE {ordered[-1][0]} END"


def score_changed(session: Session, account_id: int, now: datetime) -> int:
    """Score the customers in ``segment_changed`` against the last full run's bounds.

    Without bounds (no full run yet) this is a full run.
    """
    stored = session.get(RfmBounds, account_id)
    if stored is None:
        return score_all(session, account_id, now)
    collect_stats(session, account_id, changed_only=True)
    _clear_without_orders(session, account_id, changed_only=True)
    b = stored.bounds
    scored = f"""scored AS (
            SELECT customer_id, orders, spend, last_order_days, first_order_days, discounted_orders,
              {_score_case('last_order_days', b.get('r', {}))} AS r,
              {_score_case('orders', b.get('f', {}))} AS f,
              {_score_case('spend', b.get('m', {}))} AS m
            FROM segment_stats)"""
    return _upsert(session, account_id, scored, now)
