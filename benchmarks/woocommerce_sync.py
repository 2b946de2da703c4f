"""WooCommerce sync figures: a full sync of a large store from the fake, then a no-change
incremental sync, both through the real connector, SDK, HTTP and the core's event application.

    python benchmarks/woocommerce_sync.py                      # 50,000 customers / 200,000 orders
    python benchmarks/woocommerce_sync.py --customers 5000 --orders 20000
    python benchmarks/woocommerce_sync.py --database postgresql+psycopg://postgres@127.0.0.1:5432/test

Printed first: the connector's pulls alone (HTTP + SDK + mapping, no database), full and then
incremental from the full pull's cursors, which separates the connector's cost from the core's.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.sdk import RetryPolicy  # noqa: E402
from connectors.woocommerce.connector import WooCommerceConnector, WooCommerceSettings  # noqa: E402
from connectors.woocommerce.fake import FakeWooCommerce  # noqa: E402
from connectors.woocommerce.setup import save_connection  # noqa: E402
from integration.accounts import create_account  # noqa: E402
from integration.crypto import SecretBox  # noqa: E402
from integration.db import make_engine, write_session  # noqa: E402
from integration.migrate import upgrade  # noqa: E402
from integration.settings import generate_key  # noqa: E402
from integration.sync import sync_stream  # noqa: E402
from tests.databases import throwaway_database  # noqa: E402


def timed_sync(engine, connection_id: int, fake: FakeWooCommerce, connector, *, full: bool,
               label: str) -> None:
    start_requests, start = len(fake.requests), time.perf_counter()
    total = 0
    for stream in connector.streams:
        t0 = time.perf_counter()
        pages = {"n": 0}

        def progress(page, stream=stream, t0=t0, pages=pages) -> None:
            pages["n"] += 1
            if pages["n"] % 200 == 0:
                print(f"    {stream}: {pages['n']} pages, {time.perf_counter() - t0:.0f}s", flush=True)

        result = sync_stream(engine, connection_id, connector, stream, full=full, on_page=progress)
        total += result.records
        print(f"  {label} {stream}: {result.records} records, {result.pages} pages, "
              f"{result.entries} ledger entries, {time.perf_counter() - t0:.1f}s", flush=True)
    elapsed = time.perf_counter() - start
    print(f"{label}: {total} records in {elapsed:.1f}s ({total / max(elapsed, 1e-9):.0f}/s), "
          f"{len(fake.requests) - start_requests} requests", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--database", default="sqlite",
                        help="sqlite (default) or a PostgreSQL server URL (a throw-away database is made)")
    parser.add_argument("--pull-only", action="store_true", help="skip the database part")
    args = parser.parse_args()

    t0 = time.perf_counter()
    with FakeWooCommerce(seed=2026, customers=args.customers, orders=args.orders) as fake:
        print(f"fake store: {args.customers} customers, {args.orders} orders, "
              f"generated in {time.perf_counter() - t0:.1f}s", flush=True)
        settings = WooCommerceSettings(
            url=fake.url, consumer_key=fake.default_key.consumer_key,
            consumer_secret=fake.default_key.consumer_secret, allow_insecure_http=True,
        )
        connector = WooCommerceConnector(settings, policy=RetryPolicy())

        cursors: dict[str, str | None] = dict.fromkeys(connector.streams)
        for label in ("full", "no-change incremental"):
            start, before, records = time.perf_counter(), len(fake.requests), 0
            for stream in connector.streams:
                for page in connector.pull(stream, cursors[stream]):
                    records += len(page.records)
                    cursors[stream] = page.cursor
            elapsed = time.perf_counter() - start
            print(f"{label} pull only (HTTP + SDK + mapping, no database): {records} records in "
                  f"{elapsed:.1f}s ({records / elapsed:.0f}/s), {len(fake.requests) - before} "
                  "requests", flush=True)
        if args.pull_only:
            return

        with throwaway_database(args.database) as url:
            engine = make_engine(url)
            try:
                upgrade(engine)
                box = SecretBox(generate_key())
                with write_session(engine) as session:
                    account = create_account(session, "Benchmark store", currency="EUR")
                    connection = save_connection(session, box, account, settings)
                print(f"database: {engine.dialect.name}", flush=True)
                timed_sync(engine, connection.id, fake, connector, full=True, label="full sync")
                timed_sync(engine, connection.id, fake, connector, full=False,
                           label="no-change incremental sync")
            finally:
                engine.dispose()

if __name__ == "__main__":
    main()
