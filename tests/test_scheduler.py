"""One active scheduler per database, the others on hot standby; the leader runs the jobs."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session, select

from integration.models import JobRun, RunStatus
from integration.runtime import Runtime
from jobs.registry import get_job, job
from jobs.scheduler import PostgresLeadership, SchedulerService, wants_in_process


@job("test-tick", minutes=60)
def tick(ctx):
    """Test job: counts one tick."""
    ctx.count("ticks")


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def services(settings, engine):
    made = []

    def make(**kwargs):
        service = SchedulerService(Runtime(settings), poll=0.1, jobs={}, **kwargs)
        made.append(service)
        return service.start()

    yield make
    for service in made:
        service.stop()
        service.runtime.close()


def test_one_leads_the_other_stands_by_and_takes_over(services):
    first, second = services(), services()
    assert wait_for(lambda: first.active or second.active)
    time.sleep(0.5)  # several polls: the standby must not also become active
    assert [first.active, second.active].count(True) == 1
    leader, standby = (first, second) if first.active else (second, first)
    leader.stop()
    assert not leader.active
    assert wait_for(lambda: standby.active, timeout=5)


def test_leader_runs_its_jobs(services, settings, engine):
    service = SchedulerService(Runtime(settings), poll=0.1, jobs={"test-tick": get_job("test-tick")},
                               run_at_start=True)
    service.start()
    try:
        def ran():
            with Session(engine) as s:
                return s.exec(select(JobRun).where(JobRun.job == "test-tick",
                                                   JobRun.status == RunStatus.SUCCEEDED)).first()
        assert wait_for(ran)
        assert ran().counts == {"ticks": 1}
    finally:
        service.stop()
        service.runtime.close()


def test_leader_that_loses_its_database_session_steps_down(services, is_postgres, settings):
    if not is_postgres:
        pytest.skip("advisory locks and killable sessions are PostgreSQL's; SQLite uses a file "
                    "lock the kernel only frees when the process ends")
    first, second = services(), services()
    assert wait_for(lambda: first.active or second.active)
    leader, standby = (first, second) if first.active else (second, first)
    assert isinstance(leader.leadership, PostgresLeadership)
    pid = leader.leadership.conn.execute(text("SELECT pg_backend_pid()")).scalar()
    admin = create_engine(settings.database.url)
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()
    assert wait_for(lambda: standby.active, timeout=5)
    assert wait_for(lambda: not leader.active or not standby.active, timeout=5)
    time.sleep(0.5)
    assert [first.active, second.active].count(True) == 1


def test_in_process_default_is_for_sqlite_only(settings):
    sqlite = settings.model_copy(update={"database": settings.database.model_copy(
        update={"url": "sqlite:///x.db"})})
    pg = settings.model_copy(update={"database": settings.database.model_copy(
        update={"url": "postgresql+psycopg://h/db"})})
    assert wants_in_process(sqlite) and not wants_in_process(pg)
    forced = pg.model_copy(update={"jobs": pg.jobs.model_copy(update={"in_process": "yes"})})
    assert wants_in_process(forced)
