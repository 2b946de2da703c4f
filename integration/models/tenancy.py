"""Tenants and their connections to outside platforms."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from integration.db import BigId, UTCDateTime, utcnow


class Account(SQLModel, table=True):
    """One loyalty program, one tenant. ``program`` holds the validated ProgramSettings."""

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    name: str = Field(max_length=200)
    currency: str = Field(default="USD", max_length=3)
    timezone: str = Field(default="UTC", max_length=64)
    program: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="active", max_length=20)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ConnectionStatus(StrEnum):
    ACTIVE = "active"
    NEEDS_ATTENTION = "needs_attention"
    DISABLED = "disabled"


class Connection(SQLModel, table=True):
    """A Shopify shop, WooCommerce site, Mailchimp audience or Klaviyo account of one account.

    ``external_id`` is how the platform names itself to us (shop domain, site URL, list id); it is
    unique per platform because inbound webhooks are routed by it.
    """

    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    account_id: int = Field(foreign_key="account.id", index=True, sa_type=BigId)
    platform: str = Field(max_length=40)
    external_id: str = Field(max_length=255)
    name: str = Field(default="", max_length=200)
    credentials: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: ConnectionStatus = Field(default=ConnectionStatus.ACTIVE, sa_type=String(20))
    status_message: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_sync_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_push_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SyncCursor(SQLModel, table=True):
    """Where a stream of one connection stopped; advanced only after its records are committed."""

    __tablename__ = "sync_cursor"
    __table_args__ = (UniqueConstraint("connection_id", "stream"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    account_id: int = Field(foreign_key="account.id", index=True, sa_type=BigId)
    connection_id: int = Field(foreign_key="connection.id", sa_type=BigId)
    stream: str = Field(max_length=80)
    value: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
