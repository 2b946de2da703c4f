"""Orders as the store last reported them, with their lines and refunds."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Optional

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import relationship
from sqlmodel import Field, Relationship, SQLModel

from integration.db import BigId, Money, UTCDateTime, utcnow
from integration.models.customers import Customer


class OrderStatus(StrEnum):
    """The platform-neutral lifecycle; connectors map their own statuses onto it."""

    PENDING = "pending"
    ON_HOLD = "on_hold"
    PAID = "paid"
    FULFILLED = "fulfilled"
    COMPLETED = "completed"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"
    FAILED = "failed"


class Order(SQLModel, table=True):
    """``awarded_at`` is set once, when the order first reaches the account's award state."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("connection_id", "platform_id"),
        Index("ix_orders_customer", "account_id", "customer_id", "placed_at"),
        Index("ix_orders_updated", "account_id", "updated_at"),  # incremental segment runs
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    account_id: int = Field(foreign_key="account.id", sa_type=BigId)
    connection_id: int = Field(foreign_key="connection.id", sa_type=BigId)
    platform_id: str = Field(max_length=120)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", sa_type=BigId)
    number: str = Field(default="", max_length=60)
    email: str | None = Field(default=None, max_length=320)
    currency: str = Field(max_length=3)
    status: OrderStatus = Field(sa_type=String(20))
    subtotal: Decimal = Field(default=Decimal(0), sa_type=Money)
    shipping: Decimal = Field(default=Decimal(0), sa_type=Money)
    tax: Decimal = Field(default=Decimal(0), sa_type=Money)
    discount_total: Decimal = Field(default=Decimal(0), sa_type=Money)
    points_discount: Decimal = Field(default=Decimal(0), sa_type=Money)
    total: Decimal = Field(default=Decimal(0), sa_type=Money)
    refunded_total: Decimal = Field(default=Decimal(0), sa_type=Money)
    discount_codes: str = Field(default="", max_length=500)
    placed_at: datetime = Field(sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    source_updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    awarded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    customer: Optional["Customer"] = Relationship(sa_relationship=relationship("Customer"))


class OrderLine(SQLModel, table=True):
    """What was bought, as far as segments need it (product tags and types)."""

    __tablename__ = "order_line"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    account_id: int = Field(foreign_key="account.id", index=True, sa_type=BigId)
    order_id: int = Field(foreign_key="orders.id", index=True, sa_type=BigId)
    product_id: str = Field(default="", max_length=120)
    sku: str = Field(default="", max_length=120)
    title: str = Field(default="", max_length=300)
    product_type: str = Field(default="", max_length=120)
    tags: str = Field(default="", max_length=1000)
    quantity: int = 1
    price: Decimal = Field(default=Decimal(0), sa_type=Money)
    order: Order = Relationship()


class Refund(SQLModel, table=True):
    """Refunds are kept one row each so a refund seen twice (webhook, then sync) counts once."""

    __table_args__ = (UniqueConstraint("order_id", "platform_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    account_id: int = Field(foreign_key="account.id", index=True, sa_type=BigId)
    order_id: int = Field(foreign_key="orders.id", sa_type=BigId)
    platform_id: str = Field(max_length=120)
    amount: Decimal = Field(sa_type=Money)
    created_at: datetime = Field(sa_type=UTCDateTime)
    order: Order = Relationship()
