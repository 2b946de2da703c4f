"""``sadakat import`` and ``sadakat export``."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from integration.portability.formats import SOURCES
from integration.portability.reader import PARSERS

console = Console(stderr=True)
REJECTED_ROWS = 3  # exit status when some rows were rejected (2 is click's usage error)


def _parse_columns(pairs: tuple[str, ...]) -> dict[str, str]:
    overrides = {}
    for pair in pairs:
        name, sep, header = pair.partition("=")
        if not sep or not name.strip() or not header.strip():
            raise click.BadParameter(f"{pair!r}: expected FIELD=HEADER, e.g. points='Points balance'",
                                     param_hint="--column")
        if name.strip() not in PARSERS:
            raise click.BadParameter(f"{name.strip()!r} is not a field; fields: "
                                     + ", ".join(sorted(PARSERS)), param_hint="--column")
        overrides[name.strip()] = header.strip()
    return overrides


def _print_report(report) -> None:
    table = Table(title=f"{report.file} ({report.source})" + (" - DRY RUN, nothing written"
                                                              if report.dry_run else ""))
    for name in ("rows", "matched", "new", "already_imported", "duplicates", "rejected",
                 "customers_created", "tiers_set", "points"):
        table.add_column(name.replace("_", " "), justify="right")
    table.add_row(*(str(getattr(report, name)) for name in (
        "rows", "matched", "new", "already_imported", "duplicates", "rejected",
        "customers_created", "tiers_set", "points")))
    console.print(table)
    for rejection in report.rejections[:20]:
        console.print(f"  [red]rejected[/red] {rejection}")
    if report.rejected > 20:
        console.print(f"  ... and {report.rejected - 20} more rejected rows (see --rejects FILE)")


@click.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--account", "account_id", type=int, required=True, help="Account to import into.")
@click.option("--source", required=True,
              type=click.Choice(sorted(["sadakat", *[n for n in SOURCES if not n.startswith("sadakat-")]])),
              help="Which app the file comes from (sadakat: a folder written by `sadakat export`).")
@click.option("--column", "columns", multiple=True, metavar="FIELD=HEADER",
              help="Read FIELD (email, ref, points, tier, created_at, reason, id...) from HEADER.")
@click.option("--dry-run", is_flag=True, help="Report what would happen; write nothing.")
@click.option("--unknown", type=click.Choice(["create", "reject"]), default="create",
              show_default=True, help="Rows for customers this account does not have yet.")
@click.option("--chunk-size", default=5000, show_default=True, help="Rows per committed chunk.")
@click.option("--rejects", "rejects_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write every rejected row (line, reason) to this CSV file.")
@click.pass_obj
def import_command(ctx, path: Path, account_id: int, source: str, columns: tuple[str, ...],
                   dry_run: bool, unknown: str, chunk_size: int, rejects_path: Path | None) -> None:
    """Import points balances or history from another loyalty app's CSV (see docs/import-export.md).

    Chunks commit as they go; if a run stops, run the same command again to finish it.
    """
    from integration.portability.importer import import_file, import_folder
    from integration.portability.reader import ImportFileError

    rejects_file = open(rejects_path, "w", newline="", encoding="utf-8") if rejects_path else None  # noqa: SIM115
    rejects_writer = csv.writer(rejects_file) if rejects_file else None
    if rejects_writer:
        rejects_writer.writerow(["file", "line", "reason"])
    engine = ctx.runtime.engine
    columns_progress = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                        TextColumn("{task.fields[rows]} rows"), TimeElapsedColumn(),
                        TimeRemainingColumn())
    try:
        with Progress(*columns_progress, console=console, transient=True) as bar:
            current = {"file": str(path)}

            def on_reject(rejection) -> None:
                if rejects_writer:
                    rejects_writer.writerow([current["file"], rejection.line, str(rejection)])

            if source == "sadakat":
                if columns:
                    raise click.UsageError("--column does not apply to --source sadakat")
                task = bar.add_task(f"importing {path}", total=None, rows=0)
                reports = import_folder(
                    engine, path, account_id=account_id, dry_run=dry_run, unknown=unknown,
                    chunk_size=chunk_size, on_reject=on_reject,
                    progress=lambda _pos, rows: bar.update(task, rows=rows),
                )
            else:
                fmt = SOURCES[source].with_overrides(_parse_columns(columns))
                task = bar.add_task(f"importing {path.name}", total=path.stat().st_size, rows=0)
                reports = [import_file(
                    engine, path, fmt, account_id=account_id, dry_run=dry_run, unknown=unknown,
                    chunk_size=chunk_size, on_reject=on_reject,
                    progress=lambda pos, rows: bar.update(task, completed=pos, rows=rows),
                )]
    except ImportFileError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if rejects_file:
            rejects_file.close()
    for report in reports:
        _print_report(report)
    if not dry_run:
        console.print("check the result with: sadakat ledger check --account "
                      f"{account_id}")
    if any(r.rejected for r in reports):
        sys.exit(REJECTED_ROWS)


@click.command("export")
@click.option("--account", "account_id", type=int, required=True)
@click.option("--out", "folder", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write (one file per table and manifest.json).")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv",
              show_default=True)
@click.pass_obj
def export_command(ctx, account_id: int, folder: Path, fmt: str) -> None:
    """Export an account: tiers, customers, ledger, redemptions (imports back with --source sadakat)."""
    from integration.portability.exporter import EXPORT_TABLES, export_account

    with Progress(TextColumn("{task.description}"), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        tasks = {t.name: bar.add_task(f"exporting {t.name}", total=None) for t in EXPORT_TABLES}
        try:
            counts = export_account(engine=ctx.runtime.engine, account_id=account_id,
                                    folder=folder, fmt=fmt,  # type: ignore[arg-type]
                                    progress=lambda name, n: bar.advance(tasks[name], n))
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
    for name, count in counts.items():
        click.echo(f"{name}: {count} rows -> {folder / f'{name}.{fmt}'}")
