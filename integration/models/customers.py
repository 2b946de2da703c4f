"""Shoppers, unified per account across connections."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, Relationship, SQLModel

from integration.db import BigId, UTCDateTime, utcnow


class Customer(SQLModel, table=True):
    """One shopper of one account, matched across connections by normalized e-mail.

    ``points_balance`` is a cache of the sum of the customer's ledger entries, written in the same
    transaction as every entry; ``sadakat ledger check`` proves it.
    """

    __table_args__ = (
        UniqueConstraint("account_id", "email"),
        UniqueConstraint("account_id", "referral_code"),
        Index("ix_customer_updated", "account_id", "updated_at"),  # incremental segment runs
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    account_id: int = Field(foreign_key="account.id", index=True, sa_type=BigId)
    email: str | None = Field(default=None, max_length=320)
    first_name: str = Field(default="", max_length=200)
    last_name: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=40)
    birthday: date | None = None
    consent: str = Field(default="unknown", max_length=20)
    consent_updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    is_guest: bool = True
    points_balance: int = 0
    tier_id: int | None = Field(default=None, foreign_key="tier.id", sa_type=BigId)
    tier_achieved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    tier_kept_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    referral_code: str | None = Field(default=None, max_length=32)
    last_activity_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    redacted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CustomerIdentity(SQLModel, table=True):
    """The id a connection knows a customer by (Shopify gid, WooCommerce customer id, ...)."""

    __tablename__ = "customer_identity"
    __table_args__ = (UniqueConstraint("connection_id", "platform_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    account_id: int = Field(foreign_key="account.id", index=True, sa_type=BigId)
    customer_id: int = Field(foreign_key="customer.id", index=True, sa_type=BigId)
    connection_id: int = Field(foreign_key="connection.id", sa_type=BigId)
    platform_id: str = Field(max_length=120)
    customer: Customer = Relationship()


class Referral(SQLModel, table=True):
    """A friend invited by a customer; both earn once the friend's first order is paid."""

    __table_args__ = (
        UniqueConstraint("account_id", "referee_email"),
        Index("ix_referral_referrer", "account_id", "referrer_id"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    account_id: int = Field(foreign_key="account.id", sa_type=BigId)
    referrer_id: int = Field(foreign_key="customer.id", sa_type=BigId)
    referee_email: str = Field(max_length=320)
    referee_id: int | None = Field(default=None, foreign_key="customer.id", sa_type=BigId)
    status: str = Field(default="pending", max_length=20)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
