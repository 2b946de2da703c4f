"""``sadakat export``: everything an account holds, as CSV or JSON Lines, streamed.

The tables are declared once, in ``EXPORT_TABLES``: a name, the columns in file order, and the
query. Adding a table to the export is adding one entry. Rows are read through a server-side
cursor (``stream_results`` + ``yield_per``) and written as they arrive, so memory stays flat for
an account of millions of entries. The customers, tiers and ledger files are exactly what
``sadakat import --source sadakat`` reads back (formats ``sadakat-*`` in ``formats.py``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Select, select
from sqlalchemy.engine import Engine

from integration.db import utcnow
from integration.models import Account, Customer, LedgerEntry, Redemption, Tier

Format = Literal["csv", "jsonl"]
FORMAT_VERSION = 1
BATCH = 5000

CUSTOMER = Customer.__table__
LEDGER = LedgerEntry.__table__
TIER = Tier.__table__
REDEMPTION = Redemption.__table__


@dataclass(frozen=True)
class ExportTable:
    name: str
    query: Callable[[int], Select]  # account id -> SELECT whose labels are the file's columns

    def columns(self) -> list[str]:
        return list(self.query(0).selected_columns.keys())


def _tiers(account_id: int) -> Select:
    return (select(TIER.c.id, TIER.c.name, TIER.c.threshold, TIER.c.multiplier, TIER.c.perks)
            .where(TIER.c.account_id == account_id).order_by(TIER.c.threshold, TIER.c.id))


def _customers(account_id: int) -> Select:
    c = CUSTOMER.c
    return (
        select(c.id, c.email, c.first_name, c.last_name, c.phone, c.birthday, c.consent,
               c.is_guest, c.points_balance, TIER.c.name.label("tier"), c.tier_achieved_at,
               c.tier_kept_until, c.referral_code, c.last_activity_at, c.created_at,
               c.redacted_at)
        .outerjoin(TIER, TIER.c.id == c.tier_id)
        .where(c.account_id == account_id).order_by(c.id)
    )


def _ledger(account_id: int) -> Select:
    e = LEDGER.c
    return (
        select(e.id, e.customer_id, CUSTOMER.c.email, e.amount, e.kind, e.reason, e.source,
               e.actor, e.idempotency_key, e.order_id, e.redemption_id, e.shortfall,
               e.created_at, e.available_at)
        .join(CUSTOMER, CUSTOMER.c.id == e.customer_id)
        .where(e.account_id == account_id).order_by(e.id)
    )


def _redemptions(account_id: int) -> Select:
    r = REDEMPTION.c
    return (select(r.id, r.customer_id, r.reward_id, r.points, r.status, r.code, r.error,
                   r.idempotency_key, r.reward, r.created_at, r.issued_at, r.expires_at)
            .where(r.account_id == account_id).order_by(r.id))


EXPORT_TABLES: tuple[ExportTable, ...] = (
    ExportTable("tiers", _tiers),
    ExportTable("customers", _customers),
    ExportTable("ledger", _ledger),
    ExportTable("redemptions", _redemptions),
)


def _plain(value: Any) -> Any:
    """JSON-ready: aware datetimes in ISO 8601, money as exact strings, enums as their value."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


def _csv_cell(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _stream(engine: Engine, query: Select) -> Iterator[tuple]:
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(query)
        for partition in result.partitions():
            yield from partition


def export_account(
    engine: Engine,
    account_id: int,
    folder: Path | str,
    *,
    fmt: Format = "csv",
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Write one file per table into ``folder`` plus ``manifest.json``; returns rows per table."""
    folder = Path(folder)
    with engine.connect() as conn:
        account = conn.execute(
            select(Account.__table__).where(Account.__table__.c.id == account_id)
        ).first()
    if account is None:
        raise LookupError(f"account {account_id} does not exist")
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for table in EXPORT_TABLES:
        path = folder / f"{table.name}.{fmt}"
        columns = table.columns()
        count = 0
        with open(path, "w", encoding="utf-8", newline="") as out:
            if fmt == "csv":
                writer = csv.writer(out)
                writer.writerow(columns)
                for row in _stream(engine, table.query(account_id)):
                    writer.writerow([_csv_cell(v) for v in row])
                    count += 1
                    if progress is not None and count % BATCH == 0:
                        progress(table.name, BATCH)
            else:
                for row in _stream(engine, table.query(account_id)):
                    record = {k: _plain(v) for k, v in zip(columns, row)}
                    out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
                    out.write("\n")
                    count += 1
                    if progress is not None and count % BATCH == 0:
                        progress(table.name, BATCH)
        if progress is not None:
            progress(table.name, count % BATCH)
        counts[table.name] = count
    manifest = {
        "format": "sadakat-export",
        "version": FORMAT_VERSION,
        "account": {"id": account.id, "name": account.name, "currency": account.currency},
        "exported_at": _plain(utcnow()),
        "files": {name: {"file": f"{name}.{fmt}", "rows": n} for name, n in counts.items()},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return counts
