"""What was last pushed to each connection, so pushes send only changes; what it refused for
good, so those contacts are not sent again for nothing; segment changes still to be sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from integration.db import BigId, UTCDateTime, utcnow


class PushState(SQLModel, table=True):
    """The loyalty attributes a connection last accepted for a customer, and their digest."""

    __tablename__ = "push_state"
    __table_args__ = (UniqueConstraint("connection_id", "customer_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    account_id: int = Field(foreign_key="account.id", index=True, sa_type=BigId)
    connection_id: int = Field(foreign_key="connection.id", sa_type=BigId)
    customer_id: int = Field(foreign_key="customer.id", sa_type=BigId)
    digest: str = Field(max_length=64)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    pushed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PushRefusal(SQLModel, table=True):
    """A contact the connection refuses for good (a ``RefusalReason``), kept out of pushes.

    ``email`` is the address refused (lower-cased) and ``consent_seen_at`` the customer's
    ``consent_updated_at`` then: a new address, or consent given again since, would change the
    platform's answer, so either makes the refusal stale and the contact is sent once more.
    Rows go with the customer's redaction.
    """

    __tablename__ = "push_refusal"
    __table_args__ = (
        UniqueConstraint("connection_id", "customer_id"),
        Index("ix_push_refusal_reason", "connection_id", "reason"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    account_id: int = Field(foreign_key="account.id", index=True, sa_type=BigId)
    connection_id: int = Field(foreign_key="connection.id", sa_type=BigId)
    customer_id: int = Field(foreign_key="customer.id", sa_type=BigId)
    email: str | None = Field(default=None, max_length=320)
    reason: str = Field(max_length=40)
    detail: str = Field(default="", max_length=500)
    refused_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    consent_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SegmentPushRetry(SQLModel, table=True):
    """A segment membership still to be sent to a connection: it failed for now, or the contact
    was not on the platform yet, or a lifted refusal needs it caught up. The push sends what
    the membership is *then* (member: add; not: remove), so a row never sends stale news."""

    __tablename__ = "segment_push_retry"

    connection_id: int = Field(foreign_key="connection.id", primary_key=True, sa_type=BigId)
    segment_id: int = Field(primary_key=True, sa_type=BigId)
    customer_id: int = Field(primary_key=True, sa_type=BigId)
    account_id: int = Field(foreign_key="account.id", sa_type=BigId)
    reason: str = Field(default="", max_length=500)
    since: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
