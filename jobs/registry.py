"""The jobs Sadakat runs and their default intervals; ``[jobs] intervals`` overrides them.

A job is a function of a ``JobContext``. Per-connection jobs (sync, push) run once per active
connection whose platform they apply to; the scheduler adds and drops them as connections come
and go.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from integration.models import Connection
from integration.settings import Settings

JOB_MODULES = ("jobs.ledger_jobs", "jobs.insight_jobs", "jobs.connection_jobs")


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable
    minutes: int
    description: str
    per_connection: bool = False
    applies_to: Callable[[Connection], bool] | None = None

    def interval(self, settings: Settings, connection: Connection | None = None) -> int:
        """Minutes between runs under these settings."""
        jobs = settings.jobs
        if connection is not None and self.name == "sync":
            return jobs.sync_minutes.get(connection.platform, self.minutes)
        if connection is not None and self.name == "push":
            return jobs.push_minutes
        return jobs.intervals.get(self.name, self.minutes)


_JOBS: dict[str, Job] = {}


def job(name: str, *, minutes: int, per_connection: bool = False,
        applies_to: Callable[[Connection], bool] | None = None):
    """Register the decorated function as job ``name``; its docstring's first line describes it."""

    def register(func: Callable) -> Callable:
        description = (func.__doc__ or "").strip().splitlines()[0] if func.__doc__ else ""
        _JOBS[name] = Job(name, func, minutes, description, per_connection, applies_to)
        return func

    return register


def all_jobs() -> dict[str, Job]:
    for module in JOB_MODULES:
        importlib.import_module(module)
    return dict(sorted(_JOBS.items()))


class UnknownJob(KeyError):
    pass


def get_job(name: str) -> Job:
    jobs = all_jobs()
    if name not in jobs:
        raise UnknownJob(f"unknown job {name!r}; known: {', '.join(jobs)}")
    return jobs[name]
