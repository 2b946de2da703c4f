"""People who sign in to an account's admin pages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from integration.db import BigId, UTCDateTime, utcnow


class AdminUser(SQLModel, table=True):
    """``password_hash`` is werkzeug's salted scrypt hash; the password itself is never stored."""

    __tablename__ = "admin_user"
    __table_args__ = (UniqueConstraint("email"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    account_id: int = Field(foreign_key="account.id", index=True, sa_type=BigId)
    email: str = Field(max_length=320)
    password_hash: str = Field(max_length=255)
    locale: str = Field(default="en", max_length=8)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
