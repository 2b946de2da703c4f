"""Pushing to Klaviyo: 100,000 changed profiles, a small delta, no change; then segments.

Runs the real path — ``integration.push.push_attributes`` → ``KlaviyoConnector`` → the official
SDK over HTTP → the fake Klaviyo (spec-checked bodies, spec rate limits, asynchronous bulk-import
jobs) — on a fresh SQLite database (or ``--database``), and prints wall time, API calls, bulk
jobs and throttling for each phase. Goal for the no-change push: zero calls. Then segment
membership as lists (``email_segments``): seven segments, a first push and a 1 % delta,
``--rounds`` times, at the spec's rate limits (list relationships: 10/s, 150/min).

    .venv/bin/python benchmarks/email_push_klaviyo.py [--customers 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select
from sqlmodel import Session

import email_segments
from connectors.klaviyo.connector import KlaviyoConnector
from connectors.klaviyo.fake import FakeKlaviyo
from integration.accounts import add_connection, create_account
from integration.connections import connector_for
from integration.crypto import SecretBox
from integration.db import make_engine
from integration.ledger import adjust
from integration.migrate import upgrade
from integration.models import Customer, LedgerEntry
from integration.models.ledger import EntryKind
from integration.push import push_attributes
from integration.settings import generate_key

API_KEY = "pk_bench_sadakat"


def seed_customers(engine, account_id: int, emails: list[str], rng: random.Random) -> list[int]:
    """Customers with an opening balance each, inserted in bulk (the ledger stays consistent:
    one IMPORT entry per customer equal to its cached balance)."""
    now = datetime.now(UTC)
    points = {email: rng.randint(0, 5000) for email in emails}
    with Session(engine) as session:
        for start in range(0, len(emails), 5000):
            session.execute(insert(Customer), [
                {"account_id": account_id, "email": email, "is_guest": False,
                 "points_balance": points[email],
                 "last_activity_at": now - timedelta(days=rng.randint(0, 300))}
                for email in emails[start:start + 5000]
            ])
        rows = session.execute(
            select(Customer.id, Customer.email).where(Customer.account_id == account_id)
        ).all()
        entries = [{"account_id": account_id, "customer_id": cid, "amount": points[email],
                    "kind": EntryKind.IMPORT, "reason": "opening balance", "source": "bench",
                    "idempotency_key": f"bench:import:{cid}", "fingerprint": "0" * 64,
                    "data": {}, "created_at": now, "available_at": now} for cid, email in rows]
        for start in range(0, len(entries), 5000):
            session.execute(insert(LedgerEntry), entries[start:start + 5000])
        session.commit()
    return [cid for cid, _ in rows]


class Timed:
    """Time spent inside ``connector.push_attributes`` (SDK, HTTP, the fake, job polling),
    to tell it apart from the core's attribute computation and push-state writes."""

    def __init__(self, connector: KlaviyoConnector) -> None:
        self.seconds = 0.0
        self.push = connector.push_attributes
        connector.push_attributes = self  # type: ignore[method-assign]

    def __call__(self, updates):
        started = time.perf_counter()
        try:
            return self.push(updates)
        finally:
            self.seconds += time.perf_counter() - started


def phase(name: str, fake: FakeKlaviyo, connector: KlaviyoConnector, timed: Timed, run) -> None:
    calls_before = len(fake.calls())
    in_connector = timed.seconds
    stats_before = (connector.stats.calls, connector.stats.throttled, connector.stats.waited_seconds)
    started = time.perf_counter()
    report = run()
    elapsed = time.perf_counter() - started
    made = Counter(e.operation for e in fake.calls()[calls_before:])
    print(f"{name}:")
    print(f"  time               {elapsed:8.2f} s   in the connector {timed.seconds - in_connector:.2f} s")
    print(f"  customers changed  {report.changed:8d} (of {report.considered})")
    print(f"  profiles sent      {report.result.sent:8d}   failed {len(report.result.failed)}")
    print(f"  bulk import jobs   {report.result.batches:8d}")
    print(f"  API calls          {connector.stats.calls - stats_before[0]:8d}   "
          f"by operation: {dict(made) or '{}'}")
    print(f"  throttled (429)    {connector.stats.throttled - stats_before[1]:8d}   "
          f"waited {connector.stats.waited_seconds - stats_before[2]:.1f} s")
    if report.result.sent:
        print(f"  throughput         {report.result.sent / elapsed:8.0f} profiles/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--delta", type=int, default=1_000, help="customers changed before the delta push")
    parser.add_argument("--database", help="SQLAlchemy URL (default: a temporary SQLite file)")
    parser.add_argument("--poll-interval", type=float, default=0.25)
    parser.add_argument("--rounds", type=int, default=3, help="segment rounds (0: none)")
    args = parser.parse_args()

    rng = random.Random(42)
    url = args.database or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    engine = make_engine(url)
    upgrade(engine)
    box = SecretBox(generate_key())

    with FakeKlaviyo(seed=42, profiles=args.customers, api_key=API_KEY,
                     account_id=f"Bench{rng.randrange(10**6)}") as fake:
        with Session(engine, expire_on_commit=False) as session:
            account = create_account(session, "Benchmark store")
            session.commit()
        started = time.perf_counter()
        ids = seed_customers(engine, account.id, [fake.email(i) for i in range(args.customers)], rng)
        print(f"seeded {len(ids)} customers in {time.perf_counter() - started:.1f} s ({url.split(':')[0]})")

        settings = KlaviyoConnector.Settings(api_key=API_KEY, base_url=fake.url,
                                             poll_interval=args.poll_interval)
        plain, secrets = settings.split()
        with Session(engine, expire_on_commit=False) as session:
            connection = add_connection(session, box, account, platform="klaviyo",
                                        external_id=fake.account_id, credentials=secrets, settings=plain)
            session.commit()
        connector = connector_for(connection, box)
        assert isinstance(connector, KlaviyoConnector)
        batch = connector.push_batch_size
        timed = Timed(connector)

        phase(f"push {args.customers} changed profiles (batch {batch})", fake, connector, timed,
              lambda: push_attributes(engine, connection.id, connector, batch=batch))

        with Session(engine, expire_on_commit=False) as session:
            for customer_id in rng.sample(ids, args.delta):
                adjust(session, account.id, customer_id, amount=25, reason="bench", actor="bench")
            session.commit()
        phase(f"delta push ({args.delta} changed)", fake, connector, timed,
              lambda: push_attributes(engine, connection.id, connector, batch=batch))

        phase("no-change push", fake, connector, timed,
              lambda: push_attributes(engine, connection.id, connector, batch=batch))

        def forget_lists() -> None:
            with fake.store.lock:
                fake.store.lists.clear()
                fake.store.list_members.clear()

        if args.rounds:
            email_segments.run(engine, account.id, connection.id, email_segments.Platform(
                "klaviyo", lambda: connector_for(connection, box), lambda: len(fake.calls()),
                forget_lists), rounds=args.rounds, rng=rng)


if __name__ == "__main__":
    main()
