"""Segment recompute at scale: RFM + 10 rule segments over 1,000,000 customers / 5,000,000 orders.

Prints, for each database: the bulk load time (COPY on PostgreSQL, executemany on SQLite: not the
ORM), a first full recompute (every membership is new), a steady full recompute (the nightly
run), and an incremental recompute after 1% of the customers changed (new orders or points).
Goals on PostgreSQL: full <= 30 s, incremental <= 3 s.

    python benchmarks/segments.py [--customers 1000000] [--orders 5000000]
                                  [--database postgresql|sqlite|both] [--postgres URL]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
from sqlalchemy import func, select, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from integration.accounts import add_connection, create_account  # noqa: E402
from integration.crypto import SecretBox  # noqa: E402
from integration.db import make_engine, write_session  # noqa: E402
from integration.migrate import upgrade  # noqa: E402
from integration.models import Customer, Order, Segment, Tier  # noqa: E402
from integration.segments import SegmentDefinition, recompute_account, save_segment  # noqa: E402
from integration.settings import generate_key  # noqa: E402
from tests.databases import POSTGRES, throwaway_database  # noqa: E402

NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)
LINE_SHARE = 0.2  # one product line for 20% of orders: enough for the "bought" rules

RULES = {
    "Big spenders (365 d)": {"metric": "spend", "window_days": 365, "op": ">=", "value": 500},
    "Frequent buyers": {"metric": "order_count", "op": ">=", "value": 8},
    "Lapsed 180 d": {"metric": "days_since_last_order", "op": ">", "value": 180},
    "High AOV": {"metric": "aov", "op": ">=", "value": 150},
    "Sale hunters": {"all": [{"metric": "order_count", "op": ">=", "value": 3},
                             {"metric": "discount_share", "op": ">=", "value": 0.5}]},
    "Bought sale items (90 d)": {"metric": "bought", "tag": "sale", "window_days": 90},
    "Gold": {"metric": "tier", "in": ["Gold"]},
    "Points rich": {"metric": "points", "op": ">=", "value": 1000},
    "June birthdays, subscribed": {"all": [{"metric": "birthday_month", "in": [6]},
                                           {"metric": "consent", "in": ["subscribed"]}]},
    "New, not on sale": {"all": [{"metric": "new_customer", "days": 30},
                                 {"not": {"metric": "discount_share", "op": ">", "value": 0}}]},
}


def ts(seconds: np.ndarray) -> list[str]:
    base = datetime(2024, 6, 15, tzinfo=UTC).timestamp()
    return [datetime.fromtimestamp(base + s, UTC).strftime("%Y-%m-%d %H:%M:%S.000000")
            for s in seconds.tolist()]


def generate(customers: int, orders: int, seed: int = 42):
    rng = np.random.default_rng(seed)
    span = (NOW - datetime(2024, 6, 15, tzinfo=UTC)).total_seconds()
    weights = rng.pareto(1.5, customers) + 1.0
    owner = rng.choice(customers, size=orders, p=weights / weights.sum())
    placed = np.sort(rng.uniform(0, span, orders))
    total = np.round(rng.lognormal(4.0, 0.7, orders), 2)
    discount = np.where(rng.random(orders) < 0.3, np.round(total * 0.15, 2), 0.0)
    status = rng.choice(np.array(["paid", "fulfilled", "completed", "cancelled", "refunded"]),
                        size=orders, p=[0.3, 0.3, 0.3, 0.05, 0.05])
    customer_cols = {
        "points": rng.integers(0, 3000, customers),
        "tier": rng.integers(0, 4, customers),
        "consent": rng.choice(np.array(["subscribed", "unsubscribed", "unknown"]), customers),
        "birth_month": rng.integers(1, 13, customers),
        "birth_day": rng.integers(1, 29, customers),
    }
    return customer_cols, (owner, ts(placed), total, discount, status)


def copy_rows(raw, sql: str, rows) -> None:
    """PostgreSQL COPY ... FROM STDIN in text format, fed in chunks."""
    with raw.cursor() as cur, cur.copy(sql) as copy:
        buffer = io.StringIO()
        for n, row in enumerate(rows, 1):
            buffer.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
            if n % 200_000 == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())


def load(engine, account_id: int, connection_id: int, tiers: list[int], customers: int,
         orders: int) -> None:
    cust, (owner, placed, total, discount, status) = generate(customers, orders)
    created = "2024-06-15 00:00:00.000000"
    old = "2026-06-01 00:00:00.000000"
    customer_rows = (
        (account_id, f"c{i}@bench.example", "", "", "", cust["consent"][i], 0,
         int(cust["points"][i]), tiers[cust["tier"][i]] if cust["tier"][i] else None,
         f"1990-{cust['birth_month'][i]:02d}-{cust['birth_day'][i]:02d}", created, old)
        for i in range(customers)
    )
    customer_columns = ("account_id, email, first_name, last_name, phone, consent, is_guest, "
                        "points_balance, tier_id, birthday, created_at, updated_at")
    raw = engine.raw_connection()
    try:
        postgres = engine.dialect.name == "postgresql"
        if postgres:  # generated rows are consistent: skip per-row foreign-key triggers
            raw.execute("SET session_replication_role = replica")
            customer_rows = ((*r[:6], "f", *r[7:]) for r in customer_rows)
            copy_rows(raw, f"COPY customer ({customer_columns}) FROM STDIN", customer_rows)
        else:
            raw.execute("BEGIN")
            raw.executemany(f"INSERT INTO customer ({customer_columns}) VALUES "
                            f"({', '.join('?' * 12)})", customer_rows)
        cur = raw.cursor()
        cur.execute(f"SELECT id FROM customer WHERE account_id = {account_id} ORDER BY id")
        ids = np.array([r[0] for r in cur.fetchall()])
        cid = ids[owner]
        order_columns = ("account_id, connection_id, platform_id, customer_id, number, currency, "
                         "status, subtotal, shipping, tax, discount_total, points_discount, total, "
                         "refunded_total, discount_codes, placed_at, created_at, updated_at")
        order_rows = (
            (account_id, connection_id, str(i), int(cid[i]), "", "USD", status[i],
             float(total[i]), 0, 0, float(discount[i]), 0, float(total[i]),
             float(total[i]) if status[i] == "refunded" else 0, "", placed[i], placed[i], old)
            for i in range(orders)
        )
        if postgres:
            copy_rows(raw, f"COPY orders ({order_columns}) FROM STDIN", order_rows)
        else:
            raw.executemany(f"INSERT INTO orders ({order_columns}) VALUES "
                            f"({', '.join('?' * 18)})", order_rows)
        cur.execute(f"SELECT min(id) FROM orders WHERE account_id = {account_id}")
        first_order = cur.fetchone()[0]
        step = int(1 / LINE_SHARE)
        line_rows = (
            (account_id, first_order + i, "p1", "", "Tee", "Shirts",
             "sale, summer" if i % 3 == 0 else "new", 1, float(total[i]))
            for i in range(0, orders, step)
        )
        line_columns = "account_id, order_id, product_id, sku, title, product_type, tags, quantity, price"
        if postgres:
            copy_rows(raw, f"COPY order_line ({line_columns}) FROM STDIN", line_rows)
        else:
            raw.executemany(f"INSERT INTO order_line ({line_columns}) VALUES "
                            f"({', '.join('?' * 9)})", line_rows)
        raw.commit()
        cur = raw.cursor()
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def change_one_percent(engine, account_id: int, connection_id: int, at: datetime) -> int:
    """1% of customers change: half place a new order, half have their points moved."""
    with write_session(engine) as session:
        ids = session.execute(
            select(Customer.id).where(Customer.account_id == account_id)
            .order_by(Customer.id)).scalars().all()
        chosen = ids[::100]
        buyers, movers = chosen[::2], chosen[1::2]
        session.execute(Order.__table__.insert(), [
            {"account_id": account_id, "connection_id": connection_id,
             "platform_id": f"inc-{cid}", "customer_id": cid, "number": "", "currency": "USD",
             "status": "paid", "subtotal": Decimal(700), "shipping": 0, "tax": 0,
             "discount_total": 0, "points_discount": 0, "total": Decimal(700),
             "refunded_total": 0, "discount_codes": "", "placed_at": at, "created_at": at,
             "updated_at": at}
            for cid in buyers])
        session.execute(update(Customer).where(Customer.id.in_(movers))
                        .values(points_balance=Customer.points_balance + 1500, updated_at=at))
    return len(chosen)


def timed(label: str, fn):
    start = time.perf_counter()
    result = fn()
    took = time.perf_counter() - start
    print(f"  {label:<34} {took:8.1f} s   {result}", flush=True)
    return took, result


def run(url: str, customers: int, orders: int) -> dict[str, float]:
    engine = make_engine(url)
    upgrade(engine)
    with write_session(engine) as session:
        account = create_account(session, "bench")
        connection = add_connection(session, SecretBox(generate_key()), account, platform="shopify",
                                    external_id=f"{uuid.uuid4().hex}.myshopify.com", credentials={})
        tiers = [Tier(account_id=account.id, name=n, threshold=Decimal(t))
                 for n, t in (("Silver", 200), ("Gold", 800), ("Platinum", 2000))]
        session.add_all(tiers)
        session.flush()
        tier_ids = [0, *(t.id for t in tiers)]
        for name, rule in RULES.items():
            save_segment(session, account.id, SegmentDefinition(name=name, rule=rule),
                         now=NOW - timedelta(days=1))
        account_id, connection_id = account.id, connection.id
    figures = {}
    figures["load"], _ = timed(f"bulk load {customers:,} / {orders:,}",
                               lambda: load(engine, account_id, connection_id, tier_ids,
                                            customers, orders))

    def full():
        with write_session(engine) as session:
            r = recompute_account(session, account_id, NOW)
        return f"segments={r.segments} added={r.added:,} removed={r.removed:,} scored={r.scored:,}"

    figures["full_first"], _ = timed("full recompute (first)", full)
    figures["full"], _ = timed("full recompute (steady)", full)
    later = NOW + timedelta(minutes=15)
    _, changed = timed("change 1% of customers", lambda: change_one_percent(
        engine, account_id, connection_id, later))

    def incremental():
        with write_session(engine) as session:
            r = recompute_account(session, account_id, later + timedelta(seconds=1),
                                  changed_since=NOW)
        return (f"changed={r.changed_customers:,} added={r.added:,} removed={r.removed:,} "
                f"scored={r.scored:,}")

    figures["incremental"], _ = timed("incremental recompute (1%)", incremental)
    with engine.connect() as conn:
        sizes = conn.execute(select(Segment.name, Segment.member_count)
                             .where(Segment.account_id == account_id)
                             .order_by(Segment.id)).all()
        print("  members: " + ", ".join(f"{n}={c:,}" for n, c in sizes))
        print(f"  customers={conn.execute(select(func.count()).select_from(Customer)).scalar():,}"
              f" orders={conn.execute(select(func.count()).select_from(Order)).scalar():,}")
    engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=5_000_000)
    parser.add_argument("--database", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--postgres", default=POSTGRES,
                        help="A server URL; a throw-away database is created on it.")
    args = parser.parse_args()
    if args.database in ("postgresql", "both"):
        print("PostgreSQL", flush=True)
        with throwaway_database(args.postgres) as url:
            figures = run(url, args.customers, args.orders)
        verdict = "met" if figures["full"] <= 30 and figures["incremental"] <= 3 else "NOT met"
        print(f"  goals (full <= 30 s, incremental <= 3 s): {verdict}")
    if args.database in ("sqlite", "both"):
        print("SQLite", flush=True)
        with throwaway_database("sqlite") as url:
            run(url, args.customers, args.orders)

if __name__ == "__main__":
    main()
