"""Pushing loyalty attributes to Mailchimp at scale, through the core's delta push.

Against the fake Mailchimp over real HTTP, with ``integration.push.push_attributes``:

1. 100,000 changed profiles (half already in the audience with mixed statuses, half new);
2. the same push again with nothing changed (goal: zero API calls);
3. 1% of the customers changed (the daily case);
4. segment membership (``email_segments``): the customers in seven segments (tags), a first
   push and a 1 % delta, ``--rounds`` times.

Prints wall time (and the part spent in the connector: Mailchimp calls, batches, polling;
the rest is the core computing attributes and recording push state), HTTP calls the fake received (batch polls and result downloads included),
batches, operations run inside batches, and checks that no member's status changed.

    .venv/bin/python benchmarks/email_push_mailchimp.py [--customers 100000] [--rounds 3] [--database URL]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, update

import email_segments
from connectors.mailchimp.connector import MailchimpConnector
from connectors.mailchimp.fake import FakeMailchimp
from connectors.mailchimp.fake.store import STATUSES
from connectors.sdk import RetryPolicy
from integration.accounts import add_connection, create_account
from integration.crypto import SecretBox
from integration.db import make_engine, utcnow, write_session
from integration.migrate import upgrade
from integration.models import Customer
from integration.push import push_attributes
from integration.settings import generate_key


def _customers(engine, account_id: int, count: int, rng: random.Random) -> None:
    now = utcnow()
    rows = [
        {"account_id": account_id, "email": f"shopper{i}@example.com", "consent": "unknown",
         "is_guest": False, "points_balance": rng.randint(0, 5000),
         "last_activity_at": now - timedelta(days=rng.randint(0, 300)),
         "created_at": now, "updated_at": now}
        for i in range(count)
    ]
    with write_session(engine) as session:
        for start in range(0, count, 10_000):
            session.execute(insert(Customer), rows[start:start + 10_000])


class TimedConnector(MailchimpConnector):
    """Splits the push's time between the core (attributes, push state) and Mailchimp's side."""

    seconds = 0.0

    def push_attributes(self, updates):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return super().push_attributes(updates)
        finally:
            self.seconds += time.perf_counter() - started


def _run(label: str, engine, connection_id: int, connector: TimedConnector, fake: FakeMailchimp) -> None:
    fake.log.clear()
    connector.seconds = 0.0
    started = time.perf_counter()
    report = push_attributes(engine, connection_id, connector)
    elapsed = time.perf_counter() - started
    operations = len(fake.requests(in_batch=True))
    print(f"{label:<30} {elapsed:7.1f} s (connector {connector.seconds:6.1f} s)  "
          f"changed {report.changed:>7,}  sent {report.result.sent:>7,}  "
          f"failed {len(report.result.failed):>3}  API calls {fake.http_calls():>5,}  "
          f"batches {report.result.batches:>4}  batch ops {operations:>7,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--database", help="SQLAlchemy URL (default: a temporary SQLite file)")
    parser.add_argument("--rounds", type=int, default=3, help="segment rounds (0: none)")
    args = parser.parse_args()
    rng = random.Random(42)

    with tempfile.TemporaryDirectory() as folder, FakeMailchimp(seed=1) as fake:
        engine = make_engine(args.database or f"sqlite:///{Path(folder) / 'bench.db'}")
        upgrade(engine)
        box = SecretBox(generate_key())
        for i in range(0, args.customers, 2):  # half the customers are in the audience already
            fake.audience.add_member(f"shopper{i}@example.com", rng.choice(STATUSES))
        statuses = {m.id: m.status for m in fake.audience.members.values()}

        settings = MailchimpConnector.Settings(api_key=fake.api_key, list_id=fake.list_id,
                                               api_url=fake.url)
        plain, secrets = settings.split()
        with write_session(engine) as session:
            account = create_account(session, "Benchmark store")
            connection = add_connection(session, box, account, platform="mailchimp",
                                        external_id=fake.list_id, credentials=secrets, settings=plain)
            account_id, connection_id = account.id, connection.id
        started = time.perf_counter()
        _customers(engine, account_id, args.customers, rng)
        print(f"{args.customers:,} customers inserted in {time.perf_counter() - started:.1f} s "
              f"({engine.url.get_backend_name()}); {len(statuses):,} already in the audience\n")

        connector = TimedConnector(settings, policy=RetryPolicy())
        _run(f"push {args.customers:,} changed profiles", engine, connection_id, connector, fake)
        _run("push with nothing changed", engine, connection_id, connector, fake)
        with write_session(engine) as session:
            session.execute(update(Customer).where(Customer.id % 100 == 0)
                            .values(points_balance=Customer.points_balance + 10))
        _run("push with 1% changed", engine, connection_id, connector, fake)

        changed = sum(1 for key, status in statuses.items() if fake.audience.members[key].status != status)
        new = [m.status for key, m in fake.audience.members.items() if key not in statuses]
        print(f"\nmembers whose status changed: {changed}; new members: {len(new):,}, "
              f"all transactional: {set(new) == {'transactional'}}")
        print(f"most simultaneous requests at the fake: {fake.max_in_flight}")

        def forget_tags() -> None:
            with fake.audience.lock:
                fake.audience.tags.clear()
                for member in fake.audience.members.values():
                    member.tags.clear()

        if args.rounds:
            email_segments.run(engine, account_id, connection_id, email_segments.Platform(
                "mailchimp", lambda: MailchimpConnector(settings, policy=RetryPolicy()),
                fake.http_calls, forget_tags), rounds=args.rounds, rng=rng)


if __name__ == "__main__":
    main()
