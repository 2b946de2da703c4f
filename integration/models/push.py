"""What was last pushed to each connection, so pushes send only changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
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
