"""Cursor storage: where each stream of each connection stopped.

A connector never stores cursors itself. It yields ``Page(records, cursor)`` and the sync runner
(``integration.sync.sync_stream``) saves ``page.cursor`` here in the same transaction as the
page's records, so the stored cursor can never run ahead of the data. The next run passes the
stored value back to ``Connector.pull(stream, cursor)``. Tools and tests read it with
``CursorStore.get``.
"""

from __future__ import annotations

from sqlmodel import Session, select

from integration.db import utcnow
from integration.models import Connection, SyncCursor


class CursorStore:
    """Per connection and stream, where the last committed page ended."""

    @staticmethod
    def get(session: Session, connection: Connection, stream: str) -> str | None:
        row = session.exec(
            select(SyncCursor).where(
                SyncCursor.connection_id == connection.id, SyncCursor.stream == stream
            )
        ).first()
        return row.value if row and row.value else None

    @staticmethod
    def put(session: Session, connection: Connection, stream: str, value: str) -> None:
        row = session.exec(
            select(SyncCursor).where(
                SyncCursor.connection_id == connection.id, SyncCursor.stream == stream
            )
        ).first()
        row = row or SyncCursor(
            account_id=connection.account_id, connection_id=connection.id, stream=stream
        )
        row.value = value
        row.updated_at = utcnow()
        session.add(row)
