"""Taking turns at SQLite's single write lock without starving anyone.

SQLite lets one writer in at a time; the others wait in its busy handler, which sleeps on a
timer (1, 2, 5 ... 100 ms) and retries. A worker that commits and immediately begins again wins
nearly every race against a receiver asleep in that handler, so webhook requests would stall
behind a busy worker. The receiver and the worker therefore queue for the write lock on an
exclusive ``flock`` beside the database file first: a waiter blocks in the kernel and wakes the
moment the holder lets go. (Threads of one process queue on a mutex first, since ``flock`` is
per open file.) On PostgreSQL this is a no-op: rows are locked individually there.
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
from collections.abc import Iterator
from typing import IO

from sqlalchemy.engine import Engine

_files: dict[str, IO[str]] = {}
_mutexes: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def _lock_for(path: str) -> tuple[IO[str], threading.Lock]:
    with _guard:
        if path not in _files:
            _files[path] = open(path, "a")  # noqa: SIM115  (held for the process's life)
            _mutexes[path] = threading.Lock()
        return _files[path], _mutexes[path]


@contextlib.contextmanager
def write_turn(engine: Engine) -> Iterator[None]:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    handle, mutex = _lock_for(f"{database}.write.lock")
    with mutex:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
