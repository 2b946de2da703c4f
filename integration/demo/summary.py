"""The demo's closing summary. Points and members come from the admin dashboard's own function
(``integration.analytics.dashboard``), so the summary and the admin page show the same figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import select

from integration import ledger
from integration.analytics.dashboard import dashboard
from integration.db import read_session
from integration.models import Customer, JobRun, Order, Segment
from webhooks.models import InboxDelivery, InboxStatus


@dataclass
class ConnectionFigures:
    platform: str
    records_synced: int = 0
    webhooks: int = 0
    pushed: int = 0
    api_calls: int = 0


@dataclass
class Summary:
    customers: int
    orders: int
    kpis: dict[str, Any]
    balances: int
    ledger_ok: bool
    tiers: dict[str, int]
    segments: dict[str, int]
    connections: list[ConnectionFigures] = field(default_factory=list)
    codes: dict[str, str] = field(default_factory=dict)


def summarize(engine: Engine, account_id: int, connections: dict[str, int],
              codes: dict[str, str]) -> Summary:
    with read_session(engine) as session:
        figures = dashboard(session, account_id)
        check = ledger.check_account(session, account_id)
        summary = Summary(
            customers=session.exec(select(func.count()).select_from(Customer).where(
                Customer.account_id == account_id)).one(),
            orders=session.exec(select(func.count()).select_from(Order).where(
                Order.account_id == account_id)).one(),
            kpis=figures.kpis, balances=check.balances, ledger_ok=check.ok,
            tiers={row["tier"] or "(none)": row["customers"] for row in figures.report.tiers},
            segments=dict(session.exec(
                select(Segment.name, Segment.member_count).where(Segment.account_id == account_id)
                .order_by(Segment.kind, Segment.name)).all()),
            codes=codes,
        )
        for platform, connection_id in connections.items():
            summary.connections.append(_connection_figures(session, platform, connection_id))
    return summary


def _connection_figures(session, platform: str, connection_id: int) -> ConnectionFigures:
    """From the recorded job runs (what the admin's jobs page lists) and the webhook inbox."""
    figures = ConnectionFigures(platform)
    for run in session.exec(select(JobRun).where(JobRun.connection_id == connection_id)):
        figures.api_calls += run.api_calls
        counts = run.counts or {}
        figures.records_synced += sum(v for k, v in counts.items() if k.endswith("_records"))
        figures.pushed += counts.get("attributes_sent", 0) + counts.get("segment_sent", 0)
    figures.webhooks = session.exec(select(func.count()).select_from(InboxDelivery).where(
        InboxDelivery.connection_id == connection_id, InboxDelivery.status == InboxStatus.DONE)).one()
    return figures


def print_summary(summary: Summary, console: Console, folder: Path) -> None:
    kpis = summary.kpis
    table = Table(title="Sadakat demo", show_header=False)
    table.add_row("customers", f"{summary.customers} ({kpis['members']} members, the rest guests)")
    table.add_row("orders", str(summary.orders))
    table.add_row("points issued", str(kpis["issued"]))
    table.add_row("points redeemed", str(kpis["redeemed"]))
    table.add_row("points expired", str(kpis["expired"]))
    table.add_row("points outstanding", f"{summary.balances} (ledger check "
                  f"{'ok' if summary.ledger_ok else 'FAILED'})")
    table.add_row("tiers", ", ".join(f"{name}: {count}" for name, count in summary.tiers.items()))
    table.add_row("segments", ", ".join(f"{name}: {count}" for name, count in summary.segments.items()))
    for platform, code in summary.codes.items():
        table.add_row(f"{platform} code", code)
    table.add_row("database", str(folder / "demo.db"))
    console.print(table)
    per_connection = Table("connection", "records synced", "webhooks", "pushed", "API calls",
                           title="Per connection")
    for c in summary.connections:
        per_connection.add_row(c.platform, str(c.records_synced), str(c.webhooks), str(c.pushed),
                               str(c.api_calls))
    console.print(per_connection)
