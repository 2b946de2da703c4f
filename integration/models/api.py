"""Bearer tokens for the public JSON API, one set per account."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from integration.db import BigId, UTCDateTime, utcnow


class ApiToken(SQLModel, table=True):
    """Only a hash of the secret is stored; the token is shown once, when created.

    ``scopes`` is a comma-separated subset of ``read``, ``write`` (adjust points) and ``redeem``.
    """

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    account_id: int = Field(foreign_key="account.id", index=True, sa_type=BigId)
    name: str = Field(max_length=120)
    secret_hash: str = Field(max_length=64)
    scopes: str = Field(default="read", max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
