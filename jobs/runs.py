"""Running one job once, with its ``JobRun`` record.

Outcome: ``succeeded``; ``partial`` when the job finished but reported work it could not do
(``JobContext.incomplete``: contacts a platform refused, changes that failed and wait for the
next run), with the counts saying how much and why; ``failed`` when it raised.

Overlap: the partial unique index on running rows lets one run per (job, scope) exist in the
whole deployment; a second start is recorded as ``skipped``. Crash: a heartbeat thread refreshes
``heartbeat_at`` while the run works; a running row whose heartbeat is stale, or whose owning
process on this host is gone, is marked ``failed`` before the next run starts.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from integration.db import read_session, utcnow, write_session
from integration.models import Connection, JobRun, RunStatus
from integration.runtime import Runtime

log = logging.getLogger(__name__)

HOST = socket.gethostname()
Progress = Callable[[int, int | None], None]  # (advance, total or None)


def owner_name() -> str:
    return f"{HOST}:{os.getpid()}"


@dataclass
class JobContext:
    """What a job function gets: the runtime, its run, the connection (per-connection jobs), and
    ways to report counts, work left undone, API calls and progress."""

    runtime: Runtime
    run_id: int
    now: datetime
    connection: Connection | None = None
    counts: Counter[str] = field(default_factory=Counter)
    undone: Counter[str] = field(default_factory=Counter)
    api_calls: int = 0
    on_progress: Progress | None = None

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] += n

    def incomplete(self, key: str, n: int = 1) -> None:
        """Count ``n`` pieces of work this run could not do, under a key saying why; any makes
        the run ``partial`` instead of ``succeeded``."""
        self.counts[key] += n
        if n:
            self.undone[key] += n

    def progress(self, advance: int = 1, total: int | None = None) -> None:
        if self.on_progress is not None:
            self.on_progress(advance, total)


def _process_gone(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != HOST or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def reap_crashed(session: Session, stale_after: timedelta, now: datetime | None = None,
                 job: str | None = None) -> int:
    """Mark running rows whose process died as failed; returns how many."""
    now = now or utcnow()
    query = select(JobRun).where(JobRun.status == RunStatus.RUNNING)
    if job is not None:
        query = query.where(JobRun.job == job)
    reaped = 0
    for run in session.exec(query):
        if run.heartbeat_at < now - stale_after or _process_gone(run.owner):
            run.status, run.finished_at = RunStatus.FAILED, now
            run.error = f"crashed: no heartbeat since {run.heartbeat_at.isoformat()} ({run.owner})"
            session.add(run)
            reaped += 1
    if reaped:
        log.warning("marked %d crashed job run(s) failed", reaped)
    return reaped


def _start(runtime: Runtime, job: str, scope: str, connection: Connection | None,
           trigger: str) -> JobRun:
    stale = timedelta(minutes=runtime.settings.jobs.stale_minutes)
    with write_session(runtime.engine) as session:
        reap_crashed(session, stale, job=job)
    run = JobRun(
        job=job, scope=scope, trigger=trigger, owner=owner_name(),
        account_id=connection.account_id if connection else None,
        connection_id=connection.id if connection else None,
    )
    try:
        with write_session(runtime.engine) as session:
            session.add(run)
    except IntegrityError:
        with write_session(runtime.engine) as session:
            running = session.exec(
                select(JobRun.id).where(JobRun.job == job, JobRun.scope == scope,
                                        JobRun.status == RunStatus.RUNNING)
            ).first()
            run = JobRun(
                job=job, scope=scope, trigger=trigger, owner=owner_name(),
                account_id=run.account_id, connection_id=run.connection_id,
                status=RunStatus.SKIPPED, finished_at=utcnow(),
                error=f"skipped: run {running} of {job} is still going",
            )
            session.add(run)
        log.info("job %s %s skipped: previous run %s still going", job, scope, running)
    return run


class _Heartbeat(threading.Thread):
    def __init__(self, runtime: Runtime, run_id: int, every: float) -> None:
        super().__init__(name=f"heartbeat-{run_id}", daemon=True)
        self.runtime, self.run_id, self.every = runtime, run_id, every
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                with write_session(self.runtime.engine) as session:
                    session.execute(
                        update(JobRun).where(JobRun.id == self.run_id).values(heartbeat_at=utcnow())
                    )
            except Exception:  # a missed beat is not fatal; a stale one is reaped later
                log.exception("heartbeat of job run %s failed", self.run_id)


def run_job(
    runtime: Runtime,
    name: str,
    connection_id: int | None = None,
    *,
    trigger: str = "schedule",
    on_progress: Progress | None = None,
    now: datetime | None = None,
) -> JobRun:
    """Run job ``name`` once now (for one connection if it is a per-connection job).

    Never raises for a job's own failure: the error is recorded on the returned ``JobRun``.
    """
    from jobs.registry import get_job

    job = get_job(name)
    connection = None
    if job.per_connection:
        if connection_id is None:
            raise ValueError(f"job {name} runs per connection: give a connection id")
        with read_session(runtime.engine) as session:
            connection = session.get(Connection, connection_id)
        if connection is None:
            raise ValueError(f"connection {connection_id} not found")
    scope = f"connection:{connection_id}" if connection is not None else ""
    run = _start(runtime, name, scope, connection, trigger)
    if run.status == RunStatus.SKIPPED:
        return run
    ctx = JobContext(runtime=runtime, run_id=run.id, now=now or utcnow(), connection=connection,
                     on_progress=on_progress)
    # three beats per stale period, so one slow beat never makes a live run look crashed
    beat = _Heartbeat(runtime, run.id, every=min(30.0, runtime.settings.jobs.stale_minutes * 20.0))
    beat.start()
    status, error = RunStatus.SUCCEEDED, ""
    try:
        job.func(ctx)
        if ctx.undone:
            status = RunStatus.PARTIAL
            error = "not done: " + ", ".join(f"{key}={n}" for key, n in sorted(ctx.undone.items()))
    except Exception as exc:
        status = RunStatus.FAILED
        error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"
        log.exception("job %s %s failed", name, scope)
    finally:
        beat.stopped.set()
        beat.join()
    with write_session(runtime.engine) as session:
        run = session.get(JobRun, run.id)
        run.status, run.error, run.finished_at = status, error, utcnow()
        run.counts, run.api_calls = dict(ctx.counts), ctx.api_calls
        session.add(run)
    return run


def last_success(session: Session, job: str, scope: str = "") -> JobRun | None:
    """The latest succeeded run of ``job``: jobs that work on "what changed since" start there."""
    return session.exec(
        select(JobRun)
        .where(JobRun.job == job, JobRun.scope == scope, JobRun.status == RunStatus.SUCCEEDED)
        .order_by(JobRun.started_at.desc(), JobRun.id.desc())  # type: ignore[attr-defined]
    ).first()
