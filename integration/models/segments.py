"""Segments, their members and the log of membership changes that pushes read as deltas.

The derived tables (``segment_member``, ``segment_change``, ``customer_insight``) carry no
foreign keys: they are written a million rows at a time by INSERT ... SELECT from rows that exist, and a foreign-key trigger would re-check each row one by
one (on PostgreSQL also locking the parent rows, the segments updated in the same transaction).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from integration.db import BigId, UTCDateTime, utcnow


class Segment(SQLModel, table=True):
    """A named rule (see ``integration.segments.rules``) of one account.

    ``kind`` is ``rule`` for merchant-defined segments and ``rfm`` for the built-in RFM groups.
    """

    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    account_id: int = Field(foreign_key="account.id", index=True, sa_type=BigId)
    name: str = Field(max_length=120)
    kind: str = Field(default="rule", sa_type=String(20))
    rule: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    computed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    member_count: int = 0


class SegmentMember(SQLModel, table=True):
    __tablename__ = "segment_member"
    __table_args__ = (Index("ix_segment_member_customer", "customer_id"),)

    segment_id: int = Field(primary_key=True, sa_type=BigId)
    customer_id: int = Field(primary_key=True, sa_type=BigId)
    account_id: int = Field(sa_type=BigId)
    added_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SegmentChange(SQLModel, table=True):
    """Append-only: a customer ``added`` to or ``removed`` from a segment by a recompute.

    Pushes remember the last change id they sent and ask for the net changes after it.
    """

    __tablename__ = "segment_change"
    __table_args__ = (Index("ix_segment_change_account", "account_id", "id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    account_id: int = Field(sa_type=BigId)
    segment_id: int = Field(sa_type=BigId)
    customer_id: int = Field(sa_type=BigId)
    change: str = Field(sa_type=String(10))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AbandonedCheckout(SQLModel, table=True):
    """A checkout a platform reported as abandoned (Shopify's ``abandonedCheckouts``, WooCommerce
    plugins). Filled by connectors that report it; read by the ``abandoned_checkout`` rule."""

    __tablename__ = "abandoned_checkout"
    __table_args__ = (
        UniqueConstraint("connection_id", "platform_id"),
        Index("ix_abandoned_checkout_customer", "account_id", "customer_id", "abandoned_at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    account_id: int = Field(foreign_key="account.id", sa_type=BigId)
    connection_id: int = Field(foreign_key="connection.id", sa_type=BigId)
    platform_id: str = Field(max_length=120)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", sa_type=BigId)
    abandoned_at: datetime = Field(sa_type=UTCDateTime)
    recovered: bool = False


class CustomerInsight(SQLModel, table=True):
    """Per-customer figures computed by jobs: expiry warning, order statistics with RFM scores
    (one pass over the orders per recompute, which the all-time segment rules then read instead
    of aggregating the orders again), and predicted value. One row per customer, set-based."""

    __tablename__ = "customer_insight"
    __table_args__ = (Index("ix_customer_insight_account", "account_id", "rfm_group"),)

    customer_id: int = Field(primary_key=True, sa_type=BigId)
    account_id: int = Field(sa_type=BigId)
    points_expiring: int = 0
    points_expiring_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    orders: int = 0
    spend: float = 0.0
    last_order_days: float | None = None   # epoch days of the last counted order
    first_order_days: float | None = None  # epoch days of the first counted order
    discounted_orders: int = 0
    rfm_r: int | None = None
    rfm_f: int | None = None
    rfm_m: int | None = None
    rfm_group: str | None = Field(default=None, max_length=40)
    predicted_clv: float | None = None
    p_alive: float | None = None
    expected_orders_90d: float | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RfmBounds(SQLModel, table=True):
    """The highest value of each score 1..5 per dimension from the last full RFM run, so an
    incremental run scores changed customers exactly as the full run would have."""

    __tablename__ = "rfm_bounds"

    account_id: int = Field(foreign_key="account.id", primary_key=True, sa_type=BigId)
    bounds: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    computed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SegmentPushState(SQLModel, table=True):
    """How far each connection has taken the segment change log (``segment_change.id``)."""

    __tablename__ = "segment_push_state"

    connection_id: int = Field(foreign_key="connection.id", primary_key=True, sa_type=BigId)
    account_id: int = Field(foreign_key="account.id", sa_type=BigId)
    last_change_id: int = Field(default=0, sa_type=BigId)
    pushed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
