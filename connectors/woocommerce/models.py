"""Pending WooCommerce app-authorization requests.

``/wc-auth/v1/authorize`` makes the merchant's site POST a fresh consumer key and secret to our
callback. The callback must only accept keys for a request we started: its ``user_id`` carries
this row's random ``nonce``, which is single-use and expires.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from integration.db import BigId, UTCDateTime, utcnow


class WooAuthRequest(SQLModel, table=True):
    __tablename__ = "woocommerce_auth_request"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    account_id: int = Field(foreign_key="account.id", index=True, sa_type=BigId)
    nonce: str = Field(max_length=64, unique=True)
    site_url: str = Field(max_length=255)
    allow_insecure_http: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    connection_id: int | None = Field(default=None, foreign_key="connection.id", sa_type=BigId)
