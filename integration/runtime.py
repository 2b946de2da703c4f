"""What a running Sadakat process holds: its settings, its database engine, its secret box."""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy.engine import Engine

from integration.crypto import SecretBox
from integration.db import make_engine
from integration.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: Engine = field(init=False)
    box: SecretBox = field(init=False)

    def __post_init__(self) -> None:
        self.engine = make_engine(self.settings.database.url, echo=self.settings.database.echo)
        self.box = SecretBox(self.settings.security.encryption_key)

    @cached_property
    def receiver_engine(self) -> Engine:
        """The webhook receiver's pool (``make_engine(receiver=True)``); SQLite has one writer
        and one engine."""
        if self.engine.dialect.name == "sqlite":
            return self.engine
        return make_engine(self.settings.database.url, echo=self.settings.database.echo,
                           receiver=True)

    def close(self) -> None:
        self.engine.dispose()
        if "receiver_engine" in self.__dict__:
            self.receiver_engine.dispose()


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def tune_gc() -> None:
    """Let the cycle collector run far less often in a Sadakat process (every command does this).

    Applying a page of orders allocates tens of thousands of short-lived objects. At CPython's
    default threshold (a collection every 700 net allocations) the collector ran hundreds of times
    per page, each time walking the rows the session holds: about a third of the CPU of a sync or
    an inbox batch. ``gc.freeze`` also takes what start-up loaded out of every later collection.
    ``benchmarks/ledger.py`` on PostgreSQL: 2,079 -> 2,704 paid-order events/s.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 10)
