"""Paid-order events applied per second, on SQLite and PostgreSQL.

Wall-clock rate and the rate per CPU-second of this process are both printed: on a busy machine
the second says what the code costs, the first what the machine gave it.

Each event is a full ``OrderUpserted`` (customer resolution, order upsert with lines, earn entry,
cached balance, tier evaluation) through ``integration.events.apply_events``, committed in batches
as the sync runner and the inbox worker do.

    python benchmarks/ledger.py [--events 20000] [--batch 500] [--postgres URL]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from integration.accounts import add_connection, create_account  # noqa: E402
from integration.crypto import SecretBox  # noqa: E402
from integration.db import make_engine, write_session  # noqa: E402
from integration.events import apply_events  # noqa: E402
from integration.ledger import check_account  # noqa: E402
from integration.migrate import upgrade  # noqa: E402
from integration.models import OrderStatus, Tier  # noqa: E402
from integration.records import CustomerRecord, OrderLineRecord, OrderRecord, OrderUpserted  # noqa: E402
from integration.runtime import tune_gc  # noqa: E402
from integration.settings import generate_key  # noqa: E402
from tests.databases import POSTGRES, throwaway_database  # noqa: E402


def events(n: int, seed: int = 1) -> list[OrderUpserted]:
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        c = rng.randint(0, n // 3)
        subtotal = Decimal(rng.randint(1000, 30000)) / 100
        out.append(OrderUpserted(order=OrderRecord(
            platform_id=f"o{i}", number=f"#{i}", currency="USD", status=OrderStatus.PAID,
            customer=CustomerRecord(platform_id=f"c{c}", email=f"c{c}@example.com"),
            subtotal=subtotal, total=subtotal, placed_at=start + timedelta(minutes=i),
            lines=(OrderLineRecord(product_id="p1", title="Tea", price=subtotal),),
        )))
    return out


def run(url: str, n: int, batch: int) -> float:
    engine = make_engine(url)
    upgrade(engine)
    with write_session(engine) as session:
        account = create_account(session, "bench")
        connection = add_connection(session, SecretBox(generate_key()), account, platform="shopify",
                                    external_id=f"{uuid.uuid4().hex}.myshopify.com", credentials={})
        session.add_all([Tier(account_id=account.id, name="Silver", threshold=Decimal(500)),
                         Tier(account_id=account.id, name="Gold", threshold=Decimal(2000))])
    work = events(n)
    began, cpu = time.perf_counter(), time.process_time()
    for i in range(0, n, batch):
        with write_session(engine) as session:
            apply_events(session, account, connection, work[i:i + batch])
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    with write_session(engine) as session:
        assert check_account(session, account.id).ok
    engine.dispose()
    return n / elapsed, n / cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--postgres", default=POSTGRES, help="the server for the PostgreSQL run")
    args = parser.parse_args()
    tune_gc()  # as every ``sadakat`` process (worker, scheduler, sync) does
    for label, server in (("sqlite", "sqlite"), ("postgresql", args.postgres)):
        with throwaway_database(server) as url:
            rate, per_cpu = run(url, args.events, args.batch)
        print(f"{label + ':':11} {rate:8.0f} paid-order events/s wall, {per_cpu:8.0f} per CPU-second"
              f" of this process ({args.events} events, batch {args.batch})")


if __name__ == "__main__":
    main()
