"""Run records: overlap is skipped, crashes are marked failed, failures are recorded; the CLI."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import timedelta

from click.testing import CliRunner
from sqlmodel import Session, select

from integration.cli import main
from integration.db import utcnow, write_session
from integration.models import JobRun, RunStatus
from integration.runtime import Runtime
from jobs.registry import job
from jobs.runs import HOST, run_job

release = threading.Event()
started = threading.Event()


@job("test-wait", minutes=60)
def wait_for_release(ctx):
    """Test job: holds its run until the test releases it."""
    ctx.count("waited")
    started.set()
    assert release.wait(30)


@job("test-fail", minutes=60)
def always_fails(ctx):
    """Test job: fails."""
    ctx.count("tried")
    raise RuntimeError("the platform said no")


def running_rows(engine, name):
    with Session(engine) as s:
        return s.exec(select(JobRun).where(JobRun.job == name,
                                           JobRun.status == RunStatus.RUNNING)).all()


def test_overlapping_run_is_skipped_not_doubled(runtime):
    release.clear()
    started.clear()
    results = []
    first = threading.Thread(target=lambda: results.append(run_job(runtime, "test-wait")))
    first.start()
    assert started.wait(10)
    second = run_job(runtime, "test-wait", trigger="manual")
    assert second.status == RunStatus.SKIPPED
    assert "still going" in second.error
    assert len(running_rows(runtime.engine, "test-wait")) == 1
    release.set()
    first.join(10)
    assert results[0].status == RunStatus.SUCCEEDED and results[0].counts == {"waited": 1}
    assert run_job(runtime, "test-wait").status == RunStatus.SUCCEEDED  # free again


def _orphan(runtime, owner: str, heartbeat_age: timedelta) -> int:
    with write_session(runtime.engine) as s:
        run = JobRun(job="test-fail", owner=owner, heartbeat_at=utcnow() - heartbeat_age)
        s.add(run)
    return run.id


def test_run_of_a_dead_process_is_marked_failed(runtime, engine):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    orphan = _orphan(runtime, f"{HOST}:{dead}", timedelta(seconds=1))
    run = run_job(runtime, "test-fail")
    assert run.status == RunStatus.FAILED  # it ran (and failed on its own), not skipped
    with Session(engine) as s:
        crashed = s.get(JobRun, orphan)
    assert crashed.status == RunStatus.FAILED and crashed.error.startswith("crashed")
    assert crashed.finished_at is not None


def test_run_with_a_stale_heartbeat_is_marked_failed(runtime, engine):
    orphan = _orphan(runtime, "elsewhere:1", timedelta(hours=1))
    assert run_job(runtime, "test-fail").status == RunStatus.FAILED  # ran: orphan reaped
    with Session(engine) as s:
        assert s.get(JobRun, orphan).status == RunStatus.FAILED
    alive = _orphan(runtime, "elsewhere:2", timedelta(seconds=0))  # beating on another host
    assert run_job(runtime, "test-fail").status == RunStatus.SKIPPED
    with write_session(runtime.engine) as s:  # clean up for the other tests
        row = s.get(JobRun, alive)
        row.status = RunStatus.FAILED
        s.add(row)


def test_failure_is_recorded_with_its_error(runtime):
    run = run_job(runtime, "test-fail")
    assert run.status == RunStatus.FAILED
    assert "RuntimeError: the platform said no" in run.error
    assert run.counts == {"tried": 1} and run.finished_at is not None


def test_heartbeat_moves_while_running(settings, engine):
    quick = Runtime(settings.model_copy(update={"jobs": settings.jobs.model_copy(
        update={"stale_minutes": 0.02})}))
    try:
        release.clear()
        started.clear()
        t = threading.Thread(target=run_job, args=(quick, "test-wait"))
        t.start()
        assert started.wait(10)
        first = running_rows(quick.engine, "test-wait")[0].heartbeat_at
        time.sleep(1.0)  # one beat every stale_minutes * 20 s = 0.4 s
        assert running_rows(quick.engine, "test-wait")[0].heartbeat_at > first
    finally:
        release.set()
        t.join(10)
        quick.close()


def test_cli_run_list_and_runs(config_path):
    runner = CliRunner()
    ok = runner.invoke(main, ["--config", config_path, "jobs", "run", "test-wait"],
                       catch_exceptions=False)
    release.set()
    assert ok.exit_code == 0 and "succeeded" in ok.output
    failed = runner.invoke(main, ["--config", config_path, "jobs", "run", "test-fail"])
    assert failed.exit_code == 1 and "the platform said no" in failed.output
    unknown = runner.invoke(main, ["--config", config_path, "jobs", "run", "nope"])
    assert unknown.exit_code == 1 and "unknown job" in unknown.output
    listed = runner.invoke(main, ["--config", config_path, "jobs", "list"])
    assert "points-expiry" in listed.output and "segments" in listed.output
    runs = runner.invoke(main, ["--config", config_path, "jobs", "runs", "--job", "test-fail"])
    assert runs.exit_code == 0 and "failed" in runs.output
