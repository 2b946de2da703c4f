"""Pulling a connection's streams into the core, resumably.

Each page a connector yields is applied and its cursor saved **in one transaction**: after a crash
the next run resumes from the last committed page, and the at-most-one replayed page changes
nothing because events are idempotent. Records become the same events webhooks produce, so a
missed webhook is repaired by the next incremental sync.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine

from connectors.sdk.base import Connector, Page
from connectors.sdk.cursors import CursorStore  # re-exported: integration.sync.CursorStore still works
from integration.db import utcnow, write_session
from integration.events import apply_event
from integration.models import Account, Connection
from integration.records import (
    ContactRecord,
    ContactUpserted,
    CustomerRecord,
    CustomerUpserted,
    Event,
    OrderRecord,
    OrderUpserted,
    Record,
)

log = logging.getLogger(__name__)


def as_event(record: Record) -> Event:
    if isinstance(record, OrderRecord):
        return OrderUpserted(order=record)
    if isinstance(record, CustomerRecord):
        return CustomerUpserted(customer=record)
    if isinstance(record, ContactRecord):
        return ContactUpserted(contact=record)
    raise TypeError(f"cannot sync records of type {type(record).__name__}")


@dataclass
class StreamResult:
    stream: str
    pages: int = 0
    records: int = 0
    entries: int = 0
    customer_ids: set[int] = field(default_factory=set)


def sync_stream(
    engine: Engine,
    connection_id: int,
    connector: Connector,
    stream: str,
    *,
    full: bool = False,
    now: datetime | None = None,
    on_page: Callable[[Page], None] | None = None,
) -> StreamResult:
    """Pull one stream from its stored cursor (or from scratch with ``full``)."""
    result = StreamResult(stream)
    with write_session(engine) as session:
        connection = session.get(Connection, connection_id)
        cursor = None if full else CursorStore.get(session, connection, stream)
    for page in connector.pull(stream, cursor):
        with write_session(engine) as session:
            connection = session.get(Connection, connection_id)
            account = session.get(Account, connection.account_id)
            for record in page.records:
                outcome = apply_event(session, account, connection, as_event(record), now)
                result.entries += len(outcome.entries)
                result.customer_ids |= outcome.customer_ids
            CursorStore.put(session, connection, stream, page.cursor)
            connection.last_sync_at = utcnow()
            session.add(connection)
        result.pages += 1
        result.records += len(page.records)
        if on_page is not None:
            on_page(page)
    log.info("synced %s/%s: %d records in %d pages", connection_id, stream,
             result.records, result.pages)
    return result


def sync_connection(
    engine: Engine, connection_id: int, connector: Connector, *, full: bool = False,
    now: datetime | None = None,
) -> list[StreamResult]:
    return [
        sync_stream(engine, connection_id, connector, stream, full=full, now=now)
        for stream in connector.streams
    ]
