"""Shopify sync figures against the fake Shopify (run in its own process, over real HTTP).

1. Full sync of a large shop (default 100,000 customers / 500,000 orders) by bulk operations:
   a. the connector alone — bulk operation, JSONL streamed and joined, records normalized —
      with wall time split into the fake's export (bulk operation started → COMPLETED) and the
      download + parse + join + normalize after it, this process's CPU time and peak memory
      (goal: ≤ 60 s), and the fake's own CPU time and peak memory;
   b. the same records applied through the core (``integration.sync.sync_stream``, one
      transaction per page: customers, orders, ledger entries, tiers) into ``--core-database``
      (``sqlite`` or a PostgreSQL server, where a throw-away database is made) for a
      ``--core-customers``/``--core-orders`` shop, with the per-record cost and what that rate
      means for the large shop (``--core-full`` runs the large shop through the core instead).
2. A paged incremental sync on a Standard plan (bucket 2,000, restoring 100/s) for
   ``--budget-seconds``: the share of the restored points it used (goal ≥ 90%) and THROTTLED
   answers (goal 0).

    .venv/bin/python benchmarks/shopify_sync.py [--customers 100000 --orders 500000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.sdk import RetryPolicy  # noqa: E402
from connectors.shopify.connector import ShopifyConnector, ShopifySettings  # noqa: E402
from connectors.shopify.install import connect_shop  # noqa: E402
from integration.crypto import SecretBox  # noqa: E402
from integration.db import make_engine  # noqa: E402
from integration.migrate import upgrade  # noqa: E402
from integration.runtime import tune_gc  # noqa: E402
from integration.settings import generate_key  # noqa: E402
from integration.sync import sync_stream  # noqa: E402
from tests.databases import throwaway_database  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def fake_shopify(customers: int, orders: int, plan: str = "standard"):
    """The fake in a child process, so the sync's memory is measured alone."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "connectors.shopify.fake", "--customers", str(customers),
         "--orders", str(orders), "--plan", plan],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1],
    )
    try:
        info = json.loads(process.stdout.readline())
        info["startup"] = time.perf_counter() - started
        yield info
    finally:
        process.terminate()
        # wait4 rather than wait: the fake's CPU time and peak memory come with its exit status.
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        info["cpu"] = usage.ru_utime + usage.ru_stime
        info["peak_mb"] = usage.ru_maxrss / 1024


def settings_for(info: dict, **extra) -> ShopifySettings:
    return ShopifySettings(shop=info["shop"], access_token=info["token"],
                           api_secret=info["api_secret"], endpoint=info["url"],
                           bulk_poll_seconds=0.25, timeout=120, **extra)


class TimedConnector(ShopifyConnector):
    """Notes how long each bulk operation took from start to COMPLETED: the fake's export."""

    export_seconds: dict[str, float]

    def _finished_bulk(self, stream: str, resume_id: str | None) -> dict:
        started = time.perf_counter()
        try:
            return super()._finished_bulk(stream, resume_id)
        finally:
            self.export_seconds[stream] = time.perf_counter() - started


def connector_only(info: dict) -> None:
    connector = TimedConnector(settings_for(info), policy=RetryPolicy())
    connector.export_seconds = {}
    total_started = time.perf_counter()
    cpu_started = time.process_time()
    total = 0
    for stream in ShopifyConnector.streams:
        started = time.perf_counter()
        records = lines = 0
        for page in connector.pull(stream, None):
            records += len(page.records)
            if stream == "orders":
                lines += sum(len(r.lines) for r in page.records)
        elapsed = time.perf_counter() - started
        export = connector.export_seconds[stream]
        total += records
        extra = f", {lines:,} line items" if lines else ""
        print(f"  {stream:9} {records:>9,} records{extra} in {elapsed:6.1f} s "
              f"(bulk export by the fake: {export:5.1f} s; then download + parse + join + "
              f"normalize: {elapsed - export:5.1f} s = {records / max(elapsed - export, 1e-9):,.0f} rec/s)")
    elapsed = time.perf_counter() - total_started
    cpu = time.process_time() - cpu_started
    print(f"  total     {total:>9,} records in {elapsed:6.1f} s   "
          f"goal ≤ 60 s: {'met' if elapsed <= 60 else 'NOT met'}   peak memory {peak_mb():,.0f} MB")
    print(f"  CPU time of this (sync) process: {cpu:.1f} s; the export runs in the fake's process. "
          f"Load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def through_core(info: dict, label: str, url: str) -> float:
    engine = make_engine(url)
    upgrade(engine)
    box = SecretBox(generate_key())
    settings = settings_for(info)
    installed = connect_shop(engine, box, settings, public_url="http://127.0.0.1:9")
    connector = ShopifyConnector(settings, policy=RetryPolicy())
    total_started = time.perf_counter()
    total = 0
    for stream in ShopifyConnector.streams:
        started = time.perf_counter()
        result = sync_stream(engine, installed.connection_id, connector, stream, full=True)
        elapsed = time.perf_counter() - started
        total += result.records
        print(f"  {stream:9} {result.records:>9,} records, {result.entries:,} ledger entries, "
              f"{result.pages} pages in {elapsed:6.1f} s = {elapsed / max(result.records, 1) * 1000:.2f} ms/record")
    elapsed = time.perf_counter() - total_started
    print(f"  total     {total:>9,} records in {elapsed:6.1f} s ({label}); peak memory {peak_mb():,.0f} MB")
    engine.dispose()
    return elapsed / max(total, 1)


def paged_budget(customers: int, seconds: float) -> None:
    with fake_shopify(customers, 10) as info:
        connector = ShopifyConnector(settings_for(info), policy=RetryPolicy())
        # Everything changed in the shop's last two years: far more pages than the time allows.
        cursor = json.dumps({"since": "2024-07-01T00:00:00Z"})
        started = time.perf_counter()
        records = pages = 0
        for page in connector.pull("customers", cursor):
            records += len(page.records)
            pages += 1
            if time.perf_counter() - started >= seconds:
                break
        elapsed = time.perf_counter() - started
        costs, bucket = connector.client.costs, connector.client.bucket
        initial = bucket.maximum  # a fresh shop starts with a full bucket
        restored = elapsed * bucket.restore_rate
        used_restored = costs.actual - (initial - bucket.available)
        share = used_restored / restored
        print(f"  {pages} pages, {records:,} customers in {elapsed:.1f} s; requested {costs.requested:,}, "
              f"actual {costs.actual:,} points; waited {costs.waited_seconds:.1f} s for the bucket")
        print(f"  restored points used: {used_restored:,.0f} of {restored:,.0f} "
              f"({bucket.restore_rate:.0f}/s × {elapsed:.1f} s) = {share:.1%}   goal ≥ 90%: "
              f"{'met' if share >= 0.9 else 'NOT met'}")
        print(f"  THROTTLED answers: {costs.throttled} (retries {connector.stats.retries})   goal 0: "
              f"{'met' if costs.throttled == 0 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=500_000)
    parser.add_argument("--core-customers", type=int, default=500)
    parser.add_argument("--core-orders", type=int, default=2_500)
    parser.add_argument("--core-full", action="store_true",
                        help="apply the large shop through the core too (minutes)")
    parser.add_argument("--core-database", default="sqlite",
                        help="sqlite (default) or a PostgreSQL server URL for part 1b")
    parser.add_argument("--budget-seconds", type=float, default=60.0)
    parser.add_argument("--skip", choices=["full", "core", "paged"], action="append", default=[])
    args = parser.parse_args()
    tune_gc()  # as every ``sadakat`` process (the sync job's scheduler, the CLI) does
    backend = "SQLite" if args.core_database == "sqlite" else "PostgreSQL"

    if "full" not in args.skip:
        with fake_shopify(args.customers, args.orders) as info:
            print(f"1a. Full bulk sync, connector only: {args.customers:,} customers / "
                  f"{args.orders:,} orders (fake seeded and started in {info['startup']:.1f} s)")
            connector_only(info)
            if args.core_full:
                print(f"1b. The same shop through integration.sync into {backend}")
                with throwaway_database(args.core_database) as url:
                    through_core(info, "large shop", url)
        print(f"  the fake's process: CPU {info['cpu']:.1f} s (seeding, export, serving), "
              f"peak memory {info['peak_mb']:,.0f} MB")
    if "core" not in args.skip and not args.core_full:
        with fake_shopify(args.core_customers, args.core_orders) as info:
            print(f"1b. Full bulk sync through integration.sync into {backend}: "
                  f"{args.core_customers:,} customers / {args.core_orders:,} orders")
            with throwaway_database(args.core_database) as url:
                per_record = through_core(info, "smaller shop", url)
            large = (args.customers + args.orders) * per_record
            print(f"  at this rate {args.customers + args.orders:,} records take ≈ {large / 60:,.1f} min "
                  f"through the core (the connector part is 1a)")
    if "paged" not in args.skip:
        print(f"2. Paged incremental sync on a Standard plan for {args.budget_seconds:.0f} s")
        paged_budget(max(args.customers, 20_000), args.budget_seconds)


if __name__ == "__main__":
    main()
