"""Per-account CLV fit: customer histories summarized in SQL, models fitted with
``integration.analytics.clv``, predictions written to ``customer_insight``.

Transactions are order days (several orders on one day are one transaction, as in the
literature); time is in weeks; the monetary value is the mean net spend of the repeat days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import bindparam, literal_column, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from integration.analytics.clv import BGNBD, GammaGamma, fit_bgnbd, fit_gamma_gamma, lifetime_value
from integration.db import UTCDateTime
from integration.models import CustomerInsight
from integration.segments.rules import COUNTED_STATES
from integration.sqlfuncs import epoch_days

WEEK = 7.0


@dataclass(frozen=True)
class Histories:
    customer_ids: np.ndarray
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    m: np.ndarray


def histories(session: Session, account_id: int, through: datetime) -> Histories:
    """Each buyer's repeat count, recency and age in weeks, observed through the (UTC) day of
    ``through``: time is counted in whole days, like the transactions."""
    day_start = through.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    day = epoch_days(literal_column("d")).compile(dialect=session.get_bind().dialect)
    states = ", ".join(f"'{s}'" for s in COUNTED_STATES)
    rows = session.execute(text(f"""
        WITH days AS (
            SELECT customer_id, date(placed_at) AS d, SUM(total - refunded_total) AS v
            FROM orders
            WHERE account_id = :account_id AND customer_id IS NOT NULL
              AND status IN ({states}) AND placed_at < :until
            GROUP BY customer_id, date(placed_at)),
        firsts AS (SELECT customer_id, MIN(d) AS first_d FROM days GROUP BY customer_id)
        SELECT days.customer_id, COUNT(*) - 1, MIN({day}), MAX({day}),
               SUM(CASE WHEN days.d > firsts.first_d THEN days.v END)
        FROM days JOIN firsts ON firsts.customer_id = days.customer_id
        GROUP BY days.customer_id ORDER BY days.customer_id
    """).bindparams(bindparam("until", type_=UTCDateTime)),
        {"account_id": account_id, "until": day_start + timedelta(days=1)}).all()
    data = np.array([[float(c) for c in row[:4]] + [float(row[4] or 0)] for row in rows]
                    ).reshape(-1, 5)
    ids, x, first, last, repeat_spend = data.T
    now_days = day_start.timestamp() / 86400.0
    m = np.divide(repeat_spend, x, out=np.zeros_like(x), where=x > 0)
    return Histories(ids.astype(int), x, (last - first) / WEEK, (now_days - first) / WEEK, m)


@dataclass(frozen=True)
class AccountFit:
    bgnbd: BGNBD
    gamma_gamma: GammaGamma
    customers: int


def fit_account(session: Session, account_id: int, now: datetime, *, horizon_months: int,
                annual_discount: float) -> AccountFit:
    """Fit both models on the account's buyers and store ``predicted_clv``, ``p_alive`` and
    ``expected_orders_90d`` for each. Raises ``FitError`` when the data is too thin."""
    h = histories(session, account_id, now)
    bg = fit_bgnbd(h.x, h.t_x, h.T)
    gg = fit_gamma_gamma(h.x, h.m)
    p_alive = bg.p_alive(h.x, h.t_x, h.T)
    expected = bg.expected_transactions(90 / WEEK, h.x, h.t_x, h.T)
    clv = lifetime_value(bg, gg, h.x, h.t_x, h.T, h.m, horizon_months=horizon_months,
                         annual_discount=annual_discount)
    rows = [
        {"customer_id": int(cid), "account_id": account_id, "predicted_clv": round(float(v), 2),
         "p_alive": round(float(p), 4), "expected_orders_90d": round(float(e), 4),
         "updated_at": now, "points_expiring": 0, "orders": 0, "spend": 0.0,
         "discounted_orders": 0}
        for cid, v, p, e in zip(h.customer_ids, clv, p_alive, expected, strict=True)
    ]
    _upsert_predictions(session, rows)
    return AccountFit(bg, gg, len(rows))


def _upsert_predictions(session: Session, rows: list[dict]) -> None:
    if not rows:
        return
    dialect = {"sqlite": sqlite, "postgresql": postgresql}[session.get_bind().dialect.name]
    statement = dialect.insert(CustomerInsight.__table__)
    columns = ("predicted_clv", "p_alive", "expected_orders_90d", "updated_at")
    statement = statement.on_conflict_do_update(
        index_elements=["customer_id"],
        set_={c: statement.excluded[c] for c in columns},
    )
    for start in range(0, len(rows), 5000):
        session.execute(statement, rows[start:start + 5000])
