"""Scheduled and on-demand jobs: what runs, when, under which lock, and the record of every run.

- ``jobs.registry``: the jobs and how often they run.
- ``jobs.runs``: ``run_job`` records a ``JobRun``, refuses overlapping runs, marks crashed ones.
- ``jobs.scheduler``: APScheduler behind a leadership lock (PostgreSQL advisory lock, or a file
  lock next to the SQLite database), so exactly one scheduler is active and others stand by.

In-process use (``sadakat serve`` on SQLite): ``jobs.scheduler.start_in_process(runtime)``
returns a started ``SchedulerService``; call ``.stop()`` on shutdown. ``jobs.init_app(app)`` does
that for a Flask app when ``[jobs] in_process`` says so.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Start the in-process scheduler for ``app``'s runtime if the settings ask for it."""
    from jobs.scheduler import start_in_process, wants_in_process

    runtime = app.extensions["sadakat"]
    if wants_in_process(runtime.settings):
        app.extensions["sadakat.scheduler"] = start_in_process(runtime)
