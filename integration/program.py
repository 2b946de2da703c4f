"""An account's loyalty program rules, validated; stored as JSON on ``Account.program``.

Earn rules are snapshotted onto every earn entry, so changing them never changes what an old
order earned or what its refund takes back.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from integration.models import Account

ROUNDING = {"down": ROUND_FLOOR, "nearest": ROUND_HALF_UP, "up": ROUND_CEILING}


class EarnRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points_per_unit: Decimal = Field(default=Decimal(1), ge=0, le=10_000)
    rounding: Literal["down", "nearest", "up"] = "down"
    include_shipping: bool = False
    include_tax: bool = False
    # Spend after discounts by default; discounts paid with points never count either way.
    count_discounts: bool = False

    def points_for(self, base: Decimal, multiplier: Decimal = Decimal(1)) -> int:
        raw = base * self.points_per_unit * multiplier
        return max(0, int(raw.quantize(Decimal(1), rounding=ROUNDING[self.rounding])))


class Bonuses(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signup: int = Field(default=0, ge=0)
    birthday: int = Field(default=0, ge=0)
    referral_referrer: int = Field(default=0, ge=0)
    referral_referee: int = Field(default=0, ge=0)
    review: int = Field(default=0, ge=0)


class Expiry(BaseModel):
    """``inactivity``: everything expires N months after the last earning or spending;
    ``fixed_age``: each credit expires N months after it was earned (oldest spent first)."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["none", "inactivity", "fixed_age"] = "none"
    months: int = Field(default=12, ge=1, le=120)


class TierRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    basis: Literal["spend", "points"] = "spend"
    window_months: int = Field(default=12, ge=1, le=60)
    # A tier once reached is kept at least this long, even if the window later falls short.
    retention_months: int = Field(default=12, ge=0, le=60)


class ProgramSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    earn: EarnRule = EarnRule()
    award_on: Literal["paid", "fulfilled", "completed"] = "paid"
    return_window_days: int = Field(default=0, ge=0, le=365)
    expiry: Expiry = Expiry()
    bonuses: Bonuses = Bonuses()
    tiers: TierRules = TierRules()


def program_of(account: Account) -> ProgramSettings:
    return ProgramSettings.model_validate(account.program or {})
