"""Rows per second for `sadakat import` and `sadakat export` on 1,000,000 ledger rows.

    .venv/bin/python benchmarks/import_export.py                      # SQLite and PostgreSQL
    .venv/bin/python benchmarks/import_export.py --rows 100000 --backends sqlite

Generates a generic-history CSV (one row per points transaction, spread over ``--customers``
customers), imports it into an empty account, proves the ledger with ``check_account``, then
exports the account. PostgreSQL runs in a throw-away database on ``--pg-url``'s server.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from integration.accounts import create_account  # noqa: E402
from integration.db import make_engine, write_session  # noqa: E402
from integration.ledger import check_account  # noqa: E402
from integration.migrate import upgrade  # noqa: E402
from integration.portability.exporter import export_account  # noqa: E402
from integration.portability.importer import import_file  # noqa: E402
from tests.databases import POSTGRES, throwaway_database  # noqa: E402


def make_file(path: Path, rows: int, customers: int) -> None:
    rng = random.Random(7)
    with open(path, "w", encoding="utf-8") as out:
        out.write("transaction_id,email,points,created_at,reason\n")
        for i in range(rows):
            day = 1 + i * 700 // rows
            out.write(f"t{i},customer{rng.randrange(customers)}@example.com,{rng.randint(1, 500)},"
                      f"2024-01-01T00:00:00Z,order {i}\n".replace("2024-01-01", _date(day)))


def _date(day: int) -> str:
    from datetime import date, timedelta
    return (date(2023, 1, 1) + timedelta(days=day)).isoformat()


def bench(label: str, url: str, csv_path: Path, rows: int, work: Path) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with write_session(engine) as session:
        account_id = create_account(session, "benchmark").id
    started, cpu = time.perf_counter(), time.process_time()
    report = import_file(engine, csv_path, "generic-history", account_id=account_id)
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert report.rejected == 0 and report.new == rows, report
    print(f"{label:10} import  {rows:>9,} rows  {took:7.1f} s  {rows / took:>9,.0f} rows/s "
          f"(this process's CPU {cpu:.1f} s; {report.customers_created:,} customers created)")
    started = time.perf_counter()
    with Session(engine) as session:
        check = check_account(session, account_id)
    print(f"{label:10} ledger check {'ok' if check.ok else check.problems} "
          f"({check.entries:,} entries, {time.perf_counter() - started:.1f} s)")
    for fmt in ("csv", "jsonl"):
        started, cpu = time.perf_counter(), time.process_time()
        counts = export_account(engine, account_id, work / f"{label}-{fmt}", fmt=fmt)
        took, cpu = time.perf_counter() - started, time.process_time() - cpu
        total = sum(counts.values())
        print(f"{label:10} export {fmt:5} {counts['ledger']:>9,} ledger rows ({total:,} rows in all)"
              f"  {took:7.1f} s  {total / took:>9,.0f} rows/s (CPU {cpu:.1f} s)")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=POSTGRES)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="sadakat-import-export-") as tmp:
        work = Path(tmp)
        csv_path = work / "history.csv"
        started = time.perf_counter()
        make_file(csv_path, args.rows, args.customers)
        print(f"generated {args.rows:,} rows ({csv_path.stat().st_size / 1e6:.0f} MB) "
              f"in {time.perf_counter() - started:.1f} s")
        for backend in args.backends.split(","):
            with throwaway_database("sqlite" if backend == "sqlite" else args.pg_url) as url:
                bench(backend, url, csv_path, args.rows, work)

if __name__ == "__main__":
    main()
