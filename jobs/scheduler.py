"""The scheduler: APScheduler running the registered jobs, behind a leadership lock.

Exactly one scheduler is active per database. On PostgreSQL the leader holds a session-level
advisory lock on a dedicated connection; on SQLite, an exclusive file lock beside the database
file (the database is on one machine anyway). Every other scheduler (a second
``sadakat scheduler``, or each gunicorn worker of ``sadakat serve`` on SQLite) waits as a hot
standby, retrying every ``poll`` seconds, and takes over when the leader's lock goes away: the
process ended, or its database connection broke. A leader that loses its lock stops its jobs.

Jobs themselves are still guarded by ``JobRun`` (one running row per job and scope), so even a
misconfigured second leader cannot double a run.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from datetime import timedelta
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text
from sqlalchemy.engine import Connection as DbConnection
from sqlalchemy.engine import Engine, make_url
from sqlmodel import select

from integration.db import read_session, utcnow, write_session
from integration.models import Connection, ConnectionStatus
from integration.runtime import Runtime
from integration.settings import Settings
from jobs.registry import Job, all_jobs
from jobs.runs import reap_crashed, run_job

log = logging.getLogger(__name__)

ADVISORY_LOCK_KEY = 0x5ADA_CA7  # "sadakat": one scheduler per database
REFRESH_MINUTES = 1  # how soon a new or removed connection gets or loses its sync/push jobs


class PostgresLeadership:
    """A session advisory lock held on its own connection for as long as this process leads."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.conn: DbConnection | None = None

    def try_acquire(self) -> bool:
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        if conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY}).scalar():
            self.conn = conn
            return True
        conn.close()
        return False

    def still_held(self) -> bool:
        if self.conn is None:
            return False
        try:  # a session lock lives exactly as long as its session: a live connection holds it
            self.conn.execute(text("SELECT 1"))
            return True
        except Exception:
            log.exception("scheduler lock connection lost")
            return False

    def release(self) -> None:
        if self.conn is not None:
            try:
                self.conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
            except Exception:
                log.warning("could not unlock the scheduler lock; closing its connection")
            self.conn.invalidate()
            self.conn.close()
            self.conn = None


class FileLeadership:
    """An exclusive ``flock`` on ``<database>.scheduler.lock``; the kernel frees it if we die."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def try_acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def still_held(self) -> bool:
        return self.fd is not None

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def leadership_for(engine: Engine):
    if engine.dialect.name == "postgresql":
        return PostgresLeadership(engine)
    database = make_url(engine.url).database or "sadakat.db"
    return FileLeadership(Path(f"{database}.scheduler.lock"))


class SchedulerService:
    """Waits for leadership, then runs the jobs on APScheduler until stopped or the lock is lost."""

    def __init__(self, runtime: Runtime, poll: float = 5.0, jobs: dict[str, Job] | None = None,
                 run_at_start: bool = False) -> None:
        self.runtime = runtime
        self.poll = poll
        self.jobs = jobs if jobs is not None else all_jobs()
        self.run_at_start = run_at_start
        self.leadership = leadership_for(runtime.engine)
        self.scheduler: BackgroundScheduler | None = None
        self.stopping = threading.Event()
        self.became_active = threading.Event()
        self.thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self.scheduler is not None

    def run(self) -> None:
        """Block until ``stop()``: stand by, lead, and stand by again if the lock is lost."""
        log.info("scheduler started; waiting for the scheduler lock")
        while not self.stopping.is_set():
            if self.scheduler is None:
                if self.leadership.try_acquire():
                    self._lead()
            elif not self.leadership.still_held():
                log.error("scheduler lock lost; stopping jobs and standing by")
                self._step_down()
            self.stopping.wait(self.poll)
        self._step_down()

    def start(self) -> SchedulerService:
        """Run in a daemon thread (in-process use)."""
        self.thread = threading.Thread(target=self.run, name="sadakat-scheduler", daemon=True)
        self.thread.start()
        return self

    def stop(self, timeout: float | None = 30) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout)

    def _lead(self) -> None:
        log.info("scheduler lock acquired: this scheduler is active")
        with write_session(self.runtime.engine) as session:
            reap_crashed(session, timedelta(minutes=self.runtime.settings.jobs.stale_minutes))
        scheduler = BackgroundScheduler(timezone="UTC")
        for job in self.jobs.values():
            if not job.per_connection:
                self._add(scheduler, job, None, job.interval(self.runtime.settings))
        scheduler.add_job(self._refresh_connections, IntervalTrigger(minutes=REFRESH_MINUTES),
                          args=[scheduler], id="refresh-connections", max_instances=1,
                          coalesce=True)
        scheduler.start()
        self.scheduler = scheduler
        self._refresh_connections(scheduler)
        self.became_active.set()

    def _step_down(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
        self.leadership.release()
        self.became_active.clear()

    def _add(self, scheduler: BackgroundScheduler, job: Job, connection_id: int | None,
             minutes: int) -> None:
        scheduler.add_job(
            run_job, IntervalTrigger(minutes=minutes),
            args=[self.runtime, job.name, connection_id],
            id=f"{job.name}:{connection_id}" if connection_id else job.name,
            max_instances=1, coalesce=True, replace_existing=True, misfire_grace_time=None,
            **({"next_run_time": utcnow()} if self.run_at_start else {}),
        )

    def _refresh_connections(self, scheduler: BackgroundScheduler) -> None:
        """Give every active connection its per-connection jobs; drop those of removed ones."""
        per_connection = [j for j in self.jobs.values() if j.per_connection]
        if not per_connection:
            return
        with read_session(self.runtime.engine) as session:
            connections = session.exec(
                select(Connection).where(Connection.status == ConnectionStatus.ACTIVE)).all()
        wanted = {}
        for connection in connections:
            for job in per_connection:
                if job.applies_to is None or job.applies_to(connection):
                    wanted[f"{job.name}:{connection.id}"] = (job, connection)
        existing = {j.id for j in scheduler.get_jobs() if ":" in j.id}
        for job_id in existing - wanted.keys():
            scheduler.remove_job(job_id)
        for job_id in wanted.keys() - existing:
            job, connection = wanted[job_id]
            self._add(scheduler, job, connection.id, job.interval(self.runtime.settings, connection))


def wants_in_process(settings: Settings) -> bool:
    mode = settings.jobs.in_process
    return mode == "yes" or (mode == "auto" and settings.database.url.startswith("sqlite"))


def start_in_process(runtime: Runtime) -> SchedulerService:
    """Start the scheduler in a background thread of this process (``sadakat serve`` on SQLite).

    Safe to call in every worker process: one takes the lock, the rest stand by.
    Call ``.stop()`` on the returned service at shutdown.
    """
    return SchedulerService(runtime).start()
