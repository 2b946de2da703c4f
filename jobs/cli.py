"""``sadakat scheduler`` and ``sadakat jobs list/runs/run``.

Commands get ``integration.cli.Context`` through ``click.pass_obj`` (importing it would be a
cycle: ``integration.cli`` registers these commands).
"""

from __future__ import annotations

import signal
import sys

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table
from sqlmodel import select

from integration.db import read_session
from integration.models import JobRun, RunStatus

console = Console()


@click.command()
@click.option("--poll", default=5.0, show_default=True,
              help="Seconds between attempts to take over as the active scheduler.")
@click.pass_obj
def scheduler(ctx, poll: float) -> None:
    """Run the scheduled jobs (one active scheduler per database; others stand by)."""
    from jobs.scheduler import SchedulerService

    service = SchedulerService(ctx.runtime, poll=poll)
    signal.signal(signal.SIGTERM, lambda *_: service.stopping.set())
    try:
        service.run()
    except KeyboardInterrupt:
        service.stopping.set()


@click.group()
def jobs() -> None:
    """Scheduled jobs and their runs."""


@jobs.command("list")
@click.pass_obj
def jobs_list(ctx) -> None:
    """The jobs, how often they run, and how their last run went."""
    from jobs.registry import all_jobs

    table = Table(Column("job", no_wrap=True), "every (min)", "per connection", "last run",
                  "status", "description")
    with read_session(ctx.runtime.engine) as session:
        for name, job in all_jobs().items():
            last = session.exec(select(JobRun).where(JobRun.job == name)
                                .order_by(JobRun.id.desc())).first()  # type: ignore[union-attr]
            table.add_row(
                name, str(job.interval(ctx.runtime.settings)), "yes" if job.per_connection else "",
                last.started_at.strftime("%Y-%m-%d %H:%M") if last else "", last.status if last else "",
                job.description,
            )
    console.print(table)


@jobs.command("runs")
@click.option("--job", "job_name", help="Only this job.")
@click.option("--status", type=click.Choice([s.value for s in RunStatus]))
@click.option("--limit", default=20, show_default=True)
@click.pass_obj
def jobs_runs(ctx, job_name: str | None, status: str | None, limit: int) -> None:
    """Recent runs, newest first."""
    query = select(JobRun).order_by(JobRun.id.desc()).limit(limit)  # type: ignore[union-attr]
    if job_name:
        query = query.where(JobRun.job == job_name)
    if status:
        query = query.where(JobRun.status == status)
    table = Table("id", Column("job", no_wrap=True), "conn", "trigger", "started", "took",
                  Column("status", no_wrap=True), "counts", "api calls", "error")
    with read_session(ctx.runtime.engine) as session:
        for run in session.exec(query):
            took = (f"{(run.finished_at - run.started_at).total_seconds():.1f}s"
                    if run.finished_at else "")
            table.add_row(
                str(run.id), run.job, str(run.connection_id or ""), run.trigger,
                run.started_at.strftime("%Y-%m-%d %H:%M:%S"), took, _styled(run.status),
                ", ".join(f"{k}={v}" for k, v in run.counts.items() if k != "through"),
                str(run.api_calls), run.error.splitlines()[0] if run.error else "",
            )
    console.print(table)


def _styled(status: str) -> str:
    return {"failed": "[red]failed", "skipped": "[yellow]skipped", "partial": "[yellow]partial",
            "succeeded": "[green]succeeded"}.get(status, status)


EXIT_FAILED, EXIT_PARTIAL = 1, 3  # what ``jobs run`` exits with, for cron and CI


@jobs.command("run")
@click.argument("name")
@click.pass_obj
def jobs_run(ctx, name: str) -> None:
    """Run job NAME now; per-connection jobs take NAME:CONNECTION_ID (e.g. sync:3).

    Exits 1 when the run failed and 3 when it was partial (part of its work not done: the
    counts say what and why), so a scheduler or script sees it."""
    from jobs.registry import UnknownJob
    from jobs.runs import run_job

    job_name, _, conn = name.partition(":")
    if conn and not conn.isdigit():
        raise click.BadParameter("the connection after ':' is a number", param_hint="NAME")
    connection_id = int(conn) if conn else None
    try:
        if console.is_terminal:
            with Progress(TextColumn(f"[bold]{name}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=console, transient=True) as bar:
                task = bar.add_task(name, total=None)

                def on_progress(advance: int, total: int | None) -> None:
                    if total is not None:
                        bar.reset(task, total=total)
                    bar.advance(task, advance)

                run = run_job(ctx.runtime, job_name, connection_id, trigger="manual",
                              on_progress=on_progress)
        else:
            run = run_job(ctx.runtime, job_name, connection_id, trigger="manual")
    except (UnknownJob, ValueError) as exc:
        raise click.ClickException(str(exc.args[0] if exc.args else exc)) from None
    counts = ", ".join(f"{k}={v}" for k, v in run.counts.items() if k != "through")
    console.print(f"run {run.id} {_styled(run.status)}" + (f": {counts}" if counts else ""))
    if run.status == RunStatus.FAILED:
        console.print(run.error)
        sys.exit(EXIT_FAILED)
    if run.status == RunStatus.PARTIAL:
        console.print(run.error)
        sys.exit(EXIT_PARTIAL)
    if run.status == RunStatus.SKIPPED:
        console.print(run.error)
