"""``sadakat report``: the analytics report as terminal tables, CSV or JSON.

Commands get ``integration.cli.Context`` through ``click.pass_obj`` (importing it would be a
cycle: ``integration.cli`` registers these commands).
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, datetime

import click
from rich.console import Console
from rich.table import Table

from integration.db import read_session
from integration.analytics.report import Report, build_report

console = Console()


def _date(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).replace(tzinfo=UTC) if value else None


@click.command()
@click.option("--account", "account_id", type=int, required=True)
@click.option("--period", type=click.Choice(["month", "year"]), default="month", show_default=True)
@click.option("--since", help="First day included (YYYY-MM-DD).")
@click.option("--until", help="First day not included (YYYY-MM-DD).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.option("--section", type=click.Choice(Report.SECTIONS), multiple=True,
              help="Sections to print (default: all; CSV takes exactly one).")
@click.pass_obj
def report(ctx, account_id: int, period: str, since: str | None, until: str | None,
           fmt: str, section: tuple[str, ...]) -> None:
    """Repeat rate, AOV, frequency, members vs non-members, points, tiers and cohorts."""
    from integration.models import Account

    try:
        since_at, until_at = _date(since), _date(until)
    except ValueError as exc:
        raise click.BadParameter(f"dates are YYYY-MM-DD: {exc}") from None
    sections = section or Report.SECTIONS
    if fmt == "csv" and len(sections) != 1:
        raise click.UsageError("CSV output takes one --section")
    with read_session(ctx.runtime.engine) as session:
        if session.get(Account, account_id) is None:
            raise click.ClickException(f"account {account_id} not found")
        result = build_report(session, account_id, period=period, since=since_at, until=until_at)
    if fmt == "json":
        payload = {name: result.section(name) for name in sections}
        click.echo(json.dumps({"account_id": account_id, "period": period, **payload},
                              default=str, indent=2))
    elif fmt == "csv":
        rows = result.section(sections[0])
        columns = list(dict.fromkeys(k for row in rows for k in row))
        writer = csv.DictWriter(sys.stdout, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    else:
        for name in sections:
            rows = result.section(name)
            columns = list(dict.fromkeys(k for row in rows for k in row)) or ["(no data)"]
            table = Table(*columns, title=name)
            for row in rows:
                table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
            console.print(table)
