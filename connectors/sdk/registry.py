"""Finding connectors: every connector, built-in or third-party, registers under the entry-point
group ``sadakat.connectors`` (``name = "package.module:ConnectorClass"``) in its package's
``pyproject.toml``::

    [project.entry-points."sadakat.connectors"]
    acme = "sadakat_acme.connector:AcmeConnector"

A connector that fails to import is logged and skipped; the app keeps running without it, and
``sadakat connectors list`` shows the error. Loading happens once per process; tests that install
a package at run time call ``installed.cache_clear()``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from connectors.sdk.base import Connector

GROUP = "sadakat.connectors"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Installed:
    """One entry point: the loaded class, or why it could not be loaded (``error``)."""

    name: str
    connector: type[Connector] | None
    distribution: str
    version: str
    error: str = ""

    @property
    def capabilities(self) -> list[str]:
        return sorted(self.connector.capabilities) if self.connector else []


def _load(point: EntryPoint) -> Installed:
    dist = point.dist.name if point.dist else "?"
    version = point.dist.version if point.dist else "?"
    try:
        cls = point.load()
        if not (isinstance(cls, type) and issubclass(cls, Connector)):
            raise TypeError(f"{point.value} is not a Connector subclass")
        if getattr(cls, "name", None) != point.name:
            raise TypeError(
                f"{point.value}.name is {getattr(cls, 'name', None)!r}, "
                f"but its entry point is named {point.name!r}"
            )
    except Exception as exc:  # a broken plugin must not take the app down
        log.warning(
            "connector %r from %s %s (%s) failed to load and is disabled: %s: %s",
            point.name, dist, version, point.value, type(exc).__name__, exc,
        )
        return Installed(point.name, None, dist, version, f"{type(exc).__name__}: {exc}")
    return Installed(point.name, cls, dist, version)


@cache
def installed() -> tuple[Installed, ...]:
    """Every registered connector, loaded once per process."""
    return tuple(sorted((_load(p) for p in entry_points(group=GROUP)), key=lambda i: i.name))


def connector_class(platform: str) -> type[Connector]:
    for item in installed():
        if item.name == platform and item.connector is not None:
            return item.connector
    raise LookupError(f"no connector installed for platform {platform!r}")
