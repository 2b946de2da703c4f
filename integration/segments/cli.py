"""``sadakat segments load/list``: segment definitions from a TOML or JSON file.

Commands get ``integration.cli.Context`` through ``click.pass_obj`` (importing it would be a
cycle: ``integration.cli`` registers these commands).
"""

from __future__ import annotations

import click
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlmodel import select

from integration.db import read_session, write_session
from integration.errors import RuleError
from integration.models import Account, Segment
from integration.segments.definitions import read_definitions, save_segment

console = Console()


@click.group()
def segments() -> None:
    """Customer segments (recomputed by the `segments` jobs)."""


@segments.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--account", "account_id", type=int, required=True)
@click.pass_obj
def segments_load(ctx, path: str, account_id: int) -> None:
    """Create or update the segments defined in PATH (TOML, or JSON if it ends in .json)."""
    try:
        definitions = read_definitions(path)
    except (RuleError, ValidationError) as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    with write_session(ctx.runtime.engine) as session:
        if session.get(Account, account_id) is None:
            raise click.ClickException(f"account {account_id} not found")
        for definition in definitions:
            save_segment(session, account_id, definition)
    click.echo(f"{len(definitions)} segment(s) saved; run `sadakat jobs run segments` to compute")


@segments.command("list")
@click.option("--account", "account_id", type=int, required=True)
@click.pass_obj
def segments_list(ctx, account_id: int) -> None:
    table = Table("id", "name", "kind", "members", "computed", "active")
    with read_session(ctx.runtime.engine) as session:
        for seg in session.exec(select(Segment).where(Segment.account_id == account_id)
                                .order_by(Segment.kind, Segment.name)):
            table.add_row(str(seg.id), seg.name, seg.kind, str(seg.member_count),
                          seg.computed_at.strftime("%Y-%m-%d %H:%M") if seg.computed_at else "",
                          "yes" if seg.active else "no")
    console.print(table)
