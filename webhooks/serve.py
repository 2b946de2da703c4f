"""``sadakat serve``: the Flask app under gunicorn, plus the background services on SQLite.

With PostgreSQL the web workers only receive; ``sadakat worker`` processes (as many as you like)
work the inbox and the jobs branch's scheduler runs on its own. With SQLite one command is enough
on a laptop: exactly one web worker also runs the *embedded services* in threads. Which worker
does is decided by an exclusive ``flock`` on a file beside the database; if that worker dies the
lock is freed and another worker takes over within seconds.

An embedded service is a callable ``start(runtime, stop_event)`` named in ``EMBEDDED_SERVICES``
("module:function"); it starts its own daemon thread(s) and returns. The scheduler joins with one
more line here.
"""

from __future__ import annotations

import fcntl
import importlib
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from integration.runtime import Runtime
from integration.settings import Settings

log = logging.getLogger(__name__)

EMBEDDED_SERVICES: list[str] = [
    "webhooks.worker:start_embedded",
]
LEADER_RETRY_SECONDS = 5.0


def _load(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def start_embedded_services(runtime: Runtime, stop: threading.Event) -> None:
    for path in EMBEDDED_SERVICES:
        _load(path)(runtime, stop)
        log.info("embedded service %s started in pid %s", path, os.getpid())


def _lock_path(settings: Settings) -> Path:
    database = settings.database.url.removeprefix("sqlite:///") or "sadakat.db"
    return Path(f"{database}.services.lock")


def run_when_leader(runtime: Runtime, stop: threading.Event) -> threading.Thread:
    """Start the embedded services once this process holds the leader lock."""

    def wait_for_lock() -> None:
        handle = open(_lock_path(runtime.settings), "a")  # kept open: the lock lives with it
        while not stop.is_set():
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                stop.wait(LEADER_RETRY_SECONDS)
                continue
            start_embedded_services(runtime, stop)
            return

    thread = threading.Thread(target=wait_for_lock, name="sadakat-leader", daemon=True)
    thread.start()
    return thread


class Server(BaseApplication):
    """gunicorn configured from ``[server]``; each worker builds its own app (no preload), so no
    database connection is shared across a fork."""

    def __init__(self, settings: Settings, options: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self.options = {
            "bind": f"{settings.server.host}:{settings.server.port}",
            "workers": settings.server.workers,
            "worker_class": "sync",
            "timeout": 30,
            "graceful_timeout": 10,
            "control_socket_disable": True,  # unused; two servers on one machine would clash
            "post_worker_init": self._post_worker_init,
            "worker_exit": self._worker_exit,
            "child_exit": self._child_exit,
            **(options or {}),
        }
        self._stop = threading.Event()
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from integration.app import create_app

        return create_app(self.settings)

    def _post_worker_init(self, worker) -> None:
        from connectors.sdk.registry import installed

        installed()  # load the connectors now, not in the first webhook request
        if self.settings.database.url.startswith("sqlite"):
            run_when_leader(worker.wsgi.extensions["sadakat"], self._stop)

    def _worker_exit(self, server, worker) -> None:
        self._stop.set()

    @staticmethod
    def _child_exit(server, worker) -> None:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(worker.pid)


def serve(settings: Settings, options: dict[str, Any] | None = None) -> None:
    """Run until stopped. Counters of all workers are summed through a fresh
    ``PROMETHEUS_MULTIPROC_DIR`` (set before any worker imports ``prometheus_client``)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # the operator's own directory
        Server(settings, options).run()
        return
    metrics_dir = tempfile.mkdtemp(prefix="sadakat-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        Server(settings, options).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
