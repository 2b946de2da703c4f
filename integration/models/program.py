"""What an account offers: VIP tiers and the rewards catalogue, and what customers redeemed."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from integration.db import BigId, Money, UTCDateTime, utcnow


class Tier(SQLModel, table=True):
    """A VIP tier reached by spend or points (per the program's ``tier_basis``) over its window."""

    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    account_id: int = Field(foreign_key="account.id", index=True, sa_type=BigId)
    name: str = Field(max_length=80)
    threshold: Decimal = Field(default=Decimal(0), sa_type=Money)
    multiplier: Decimal = Field(default=Decimal(1), sa_type=Money)
    perks: str = Field(default="", max_length=500)


class RewardKind(StrEnum):
    FIXED_AMOUNT = "fixed_amount"
    PERCENT = "percent"
    FREE_SHIPPING = "free_shipping"
    FREE_PRODUCT = "free_product"


class Reward(SQLModel, table=True):
    """A catalogue item. ``value`` is money off (fixed), a percentage (percent) or unused."""

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    account_id: int = Field(foreign_key="account.id", index=True, sa_type=BigId)
    name: str = Field(max_length=120)
    kind: RewardKind = Field(sa_type=String(20))
    points_cost: int = Field(gt=0)
    value: Decimal = Field(default=Decimal(0), sa_type=Money)
    product_id: str = Field(default="", max_length=120)
    min_order: Decimal = Field(default=Decimal(0), sa_type=Money)
    valid_days: int = 30
    active: bool = True


class RedemptionStatus(StrEnum):
    PENDING_CODE = "pending_code"  # points debited, the store has not issued the code yet
    ISSUED = "issued"
    FAILED = "failed"              # the store refused; points were given back
    USED = "used"


class Redemption(SQLModel, table=True):
    """A reward bought with points. ``reward`` keeps the catalogue item as it was at redemption."""

    __table_args__ = (UniqueConstraint("account_id", "idempotency_key"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    account_id: int = Field(foreign_key="account.id", index=True, sa_type=BigId)
    customer_id: int = Field(foreign_key="customer.id", index=True, sa_type=BigId)
    reward_id: int = Field(foreign_key="reward.id", sa_type=BigId)
    connection_id: int | None = Field(default=None, foreign_key="connection.id", sa_type=BigId)
    points: int
    status: RedemptionStatus = Field(default=RedemptionStatus.PENDING_CODE, sa_type=String(20))
    code: str = Field(default="", max_length=64)
    error: str = Field(default="", max_length=500)
    attempts: int = 0
    idempotency_key: str = Field(max_length=255)
    reward: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    issued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
