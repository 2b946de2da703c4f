"""The append-only points ledger."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Optional

from sqlalchemy import JSON, Column, Index, String, UniqueConstraint
from sqlalchemy.orm import relationship
from sqlmodel import Field, Relationship, SQLModel

from integration.db import BigId, UTCDateTime, utcnow
from integration.models.customers import Customer
from integration.models.orders import Order


class EntryKind(StrEnum):
    EARN = "earn"              # points for an order
    REVERSE = "reverse"        # an order's points taken back (refund, cancellation)
    BONUS = "bonus"            # signup, birthday, referral, review
    ADJUST = "adjust"          # manual correction by a person, with a reason
    IMPORT = "import"          # opening balance moved in from another loyalty app
    REDEEM = "redeem"          # points spent on a reward
    REDEEM_REFUND = "redeem_refund"  # a redemption that could not be fulfilled gives points back
    EXPIRE = "expire"          # points that left through expiry


class LedgerEntry(SQLModel, table=True):
    """One change of one customer's points. Rows are inserted, never updated or deleted.

    ``idempotency_key`` names the event that caused the entry; with ``fingerprint`` (a hash of what
    the entry says) it turns a replay into a no-op and a conflicting replay into an error.
    ``available_at`` later than ``created_at`` means the points are pending (return window).
    ``shortfall`` records points a reversal could not take because the balance was too low.
    """

    __tablename__ = "ledger_entry"
    __table_args__ = (
        UniqueConstraint("account_id", "idempotency_key"),
        Index("ix_ledger_customer", "customer_id", "available_at"),
        Index("ix_ledger_order", "order_id"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    account_id: int = Field(foreign_key="account.id", sa_type=BigId)
    customer_id: int = Field(foreign_key="customer.id", sa_type=BigId)
    amount: int
    kind: EntryKind = Field(sa_type=String(20))
    reason: str = Field(default="", max_length=300)
    source: str = Field(default="", max_length=200)
    actor: str = Field(default="", max_length=200)
    idempotency_key: str = Field(max_length=255)
    fingerprint: str = Field(max_length=64)
    order_id: int | None = Field(default=None, foreign_key="orders.id", sa_type=BigId)
    redemption_id: int | None = Field(default=None, foreign_key="redemption.id", sa_type=BigId)
    shortfall: int = 0
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    available_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    customer: Customer = Relationship()
    order: Optional["Order"] = Relationship(sa_relationship=relationship("Order"))
