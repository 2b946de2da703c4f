"""The durable webhook inbox and the compliance exports it produces.

A verified delivery becomes one ``InboxDelivery`` row before it is acknowledged; everything else
(parsing, the ledger) happens later in the inbox worker, so a slow database query or a bug in a
parser never makes a platform give up on us. ``(connection_id, delivery_id)`` is unique: a
redelivery of the same event is a no-op insert.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from integration.db import BigId, UTCDateTime, utcnow


class InboxStatus(StrEnum):
    """A row is claimed by locking it for the length of its processing transaction, not by a
    status: a worker killed mid-row releases its lock and the row is simply still ``received``."""

    RECEIVED = "received"
    FAILED = "failed"  # kept with its error, retried at ``next_attempt_at``
    DONE = "done"
    DEAD = "dead"      # gave up after ``[inbox] max_attempts``; replay from the CLI


class InboxDelivery(SQLModel, table=True):
    __tablename__ = "webhook_inbox"
    __table_args__ = (
        UniqueConstraint("connection_id", "delivery_id"),
        Index("ix_webhook_inbox_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    account_id: int = Field(foreign_key="account.id", index=True, sa_type=BigId)
    connection_id: int = Field(foreign_key="connection.id", sa_type=BigId)
    platform: str = Field(max_length=40)
    topic: str = Field(max_length=120)
    delivery_id: str = Field(max_length=255)
    headers: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: InboxStatus = Field(default=InboxStatus.RECEIVED, sa_type=String(20))
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    note: str = Field(default="", max_length=500)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    processed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DataExport(SQLModel, table=True):
    """What a ``customers/data_request`` produced; the merchant fetches it (``sadakat inbox
    export``) and hands it to the shopper, as Shopify's compliance flow expects."""

    __tablename__ = "data_export"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    account_id: int = Field(foreign_key="account.id", index=True, sa_type=BigId)
    connection_id: int = Field(foreign_key="connection.id", sa_type=BigId)
    # The delivery that asked; no foreign key, since inbox rows are purged after retention.
    inbox_id: int | None = Field(default=None, sa_type=BigId)
    request_id: str = Field(default="", max_length=120)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
