"""Commands: ``sadakat serve``, ``sadakat worker`` and ``sadakat inbox ...``."""

from __future__ import annotations

import json
import signal
import threading

from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table
from sqlmodel import func, select

if TYPE_CHECKING:  # integration.cli imports this module to register the commands
    from integration.cli import Context

console = Console()
pass_context = click.pass_obj  # the group's ``integration.cli.Context``


@click.command()
@click.option("--workers", type=int, help="gunicorn workers (default: [server] workers).")
@click.option("--bind", help="host:port (default: [server] host and port).")
@pass_context
def serve(ctx: Context, workers: int | None, bind: str | None) -> None:
    """Run the web app under gunicorn; on SQLite also the inbox worker (one command on a laptop)."""
    from webhooks.serve import serve as run_server

    options = {}
    if workers:
        options["workers"] = workers
    if bind:
        options["bind"] = bind
    settings = ctx.runtime.settings
    ctx.runtime.close()  # the workers open their own connections after the fork
    run_server(settings, options)


@click.command()
@pass_context
def worker(ctx: Context) -> None:
    """Process the webhook inbox until SIGTERM/SIGINT. Run several on PostgreSQL."""
    from webhooks.worker import run

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run(ctx.runtime, stop)


@click.group()
def inbox() -> None:
    """Received webhooks: failed and dead deliveries, replays, data-request exports."""


@inbox.command("list")
@click.option("--status", type=click.Choice(["received", "failed", "dead", "done"]),
              help="Only rows in this status (default: failed and dead).")
@click.option("--limit", default=50, show_default=True)
@pass_context
def inbox_list(ctx: Context, status: str | None, limit: int) -> None:
    from integration.db import read_session
    from webhooks.models import InboxDelivery, InboxStatus

    statuses = [status] if status else [InboxStatus.FAILED, InboxStatus.DEAD]
    with read_session(ctx.runtime.engine) as session:
        counts = dict(session.exec(
            select(InboxDelivery.status, func.count()).group_by(InboxDelivery.status)).all())
        rows = session.exec(
            select(InboxDelivery).where(InboxDelivery.status.in_(statuses))  # type: ignore[attr-defined]
            .order_by(InboxDelivery.id.desc()).limit(limit)  # type: ignore[union-attr]
        ).all()
    console.print(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "inbox empty")
    table = Table("id", "connection", "topic", "status", "attempts", "received", "error")
    for row in rows:
        table.add_row(
            str(row.id), str(row.connection_id), row.topic, row.status, str(row.attempts),
            row.received_at.strftime("%Y-%m-%d %H:%M:%S"), row.error[:80],
        )
    console.print(table)


@inbox.command("replay")
@click.argument("row_ids", nargs=-1, type=int)
@click.option("--all-dead", is_flag=True, help="Replay every dead row.")
@pass_context
def inbox_replay(ctx: Context, row_ids: tuple[int, ...], all_dead: bool) -> None:
    """Put dead rows back in line (processed by the next worker pass)."""
    from webhooks.worker import replay

    if not row_ids and not all_dead:
        raise click.UsageError("name the rows to replay, or pass --all-dead")
    count = replay(ctx.runtime, list(row_ids) or None)
    click.echo(f"{count} dead deliveries queued again")


@inbox.command("exports")
@click.option("--account", "account_id", type=int, help="Only this account's exports.")
@pass_context
def inbox_exports(ctx: Context, account_id: int | None) -> None:
    """Data-request exports waiting for the merchant."""
    from integration.db import read_session
    from webhooks.models import DataExport

    query = select(DataExport.id, DataExport.account_id, DataExport.connection_id,
                   DataExport.request_id, DataExport.created_at).order_by(DataExport.id)
    if account_id:
        query = query.where(DataExport.account_id == account_id)
    table = Table("id", "account", "connection", "request", "created")
    with read_session(ctx.runtime.engine) as session:
        for row in session.exec(query):
            table.add_row(str(row.id), str(row.account_id), str(row.connection_id),
                          row.request_id, row.created_at.strftime("%Y-%m-%d %H:%M:%S"))
    console.print(table)


@inbox.command("export")
@click.argument("export_id", type=int)
@pass_context
def inbox_export(ctx: Context, export_id: int) -> None:
    """Print one export as JSON (hand it to the shopper who asked)."""
    from integration.db import read_session
    from webhooks.models import DataExport

    with read_session(ctx.runtime.engine) as session:
        export = session.get(DataExport, export_id)
    if export is None:
        raise click.ClickException(f"no export {export_id}")
    click.echo(json.dumps(export.data, indent=2, sort_keys=True))
