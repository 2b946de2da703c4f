"""What a running Sadakat process holds: its settings, its database engine, its secret box."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

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

    def close(self) -> None:
        self.engine.dispose()


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
