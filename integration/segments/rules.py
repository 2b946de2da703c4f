"""Declarative segment rules and their compilation to one set-based SQL predicate.

A rule is JSON (or TOML) such as::

    {"all": [
        {"metric": "spend", "window_days": 365, "op": ">=", "value": 500},
        {"not": {"metric": "discount_share", "op": ">", "value": 0.5}}
    ]}

Combinators: ``all`` (and), ``any`` (or), ``not``. Conditions (``metric``):

- ``spend``, ``order_count``, ``aov``, ``discount_share`` (0..1, orders with any discount),
  each over ``window_days`` (optional, default all time), compared with ``op``/``value``;
- ``days_since_last_order`` (``op``/``value``);
- ``bought``: a product ``tag`` or ``product_type`` bought, optionally within ``window_days``;
- ``tier`` (``in``: tier names, ``"none"`` for no tier), ``points`` (``op``/``value``),
  ``birthday_month`` (``in``: 1..12), ``consent`` (``in``: states);
- ``abandoned_checkout``: a checkout abandoned within ``window_days`` and not recovered
  (only where a platform reports them);
- ``new_customer``: first order within ``days``;
- ``rfm_group`` (``in``: group names, see ``integration.segments.rfm``).

Orders count when paid, fulfilled or completed; spend is net of refunds and so is the average
order value. A customer without orders has spend 0 and order count 0 (so ``order_count < 1``
finds them) but no average order value, discount share or last order, so those conditions never
match them.

All-time order figures, recency, first order and RFM group are read from ``customer_insight``,
which the recompute fills in one pass over the orders just before (``rfm.score_all``); a rule
with ``window_days`` aggregates the window's orders in a subquery (``customer.id IN (...)``, or
``NOT IN`` when the condition holds at zero). Either way a segment is one SELECT.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator
from sqlalchemy import Float, Table, and_, case, cast, func, literal, not_, or_
from sqlalchemy.sql import ColumnElement
from sqlmodel import select

from integration.ledger.orders import AWARD_STATES
from integration.models import (
    AbandonedCheckout,
    Customer,
    CustomerInsight,
    Order,
    OrderLine,
    Tier,
)
from integration.sqlfuncs import month_of

COUNTED_STATES = sorted(str(s) for s in AWARD_STATES["paid"])
Op = Literal[">", ">=", "<", "<=", "=", "!=", "between"]
_OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
        "=": operator.eq, "!=": operator.ne}


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Compare(_Rule):
    op: Op
    value: float | tuple[float, float]

    @model_validator(mode="after")
    def _value_fits_op(self):
        if (self.op == "between") != isinstance(self.value, tuple):
            raise ValueError("'between' takes [low, high]; other operators take one number")
        return self

    def apply(self, expr):
        if self.op == "between":
            low, high = self.value  # type: ignore[misc]
            return expr.between(low, high)
        return _OPS[self.op](expr, self.value)

    def holds_at(self, number: float) -> bool:
        if self.op == "between":
            low, high = self.value  # type: ignore[misc]
            return low <= number <= high
        return bool(_OPS[self.op](number, self.value))


class OrderMetric(_Compare):
    metric: Literal["spend", "order_count", "aov", "discount_share"]
    window_days: int | None = Field(default=None, ge=1)


class DaysSinceLastOrder(_Compare):
    metric: Literal["days_since_last_order"]


class Bought(_Rule):
    metric: Literal["bought"]
    tag: str | None = None
    product_type: str | None = None
    window_days: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_target(self):
        if (self.tag is None) == (self.product_type is None):
            raise ValueError("'bought' takes exactly one of tag or product_type")
        return self


class TierIn(_Rule):
    metric: Literal["tier"]
    in_: list[str] = Field(alias="in", min_length=1)


class Points(_Compare):
    metric: Literal["points"]


class BirthdayMonth(_Rule):
    metric: Literal["birthday_month"]
    in_: list[Annotated[int, Field(ge=1, le=12)]] = Field(alias="in", min_length=1)


class ConsentIn(_Rule):
    metric: Literal["consent"]
    in_: list[str] = Field(alias="in", min_length=1)


class AbandonedCheckoutRule(_Rule):
    metric: Literal["abandoned_checkout"]
    window_days: int = Field(default=7, ge=1)


class NewCustomer(_Rule):
    metric: Literal["new_customer"]
    days: int = Field(ge=1)


class RfmGroupIn(_Rule):
    metric: Literal["rfm_group"]
    in_: list[str] = Field(alias="in", min_length=1)


Condition = Annotated[
    Union[OrderMetric, DaysSinceLastOrder, Bought, TierIn, Points, BirthdayMonth, ConsentIn,
          AbandonedCheckoutRule, NewCustomer, RfmGroupIn],
    Field(discriminator="metric"),
]


class All(_Rule):
    all: list[Rule] = Field(min_length=1)


class Any_(_Rule):
    any: list[Rule] = Field(min_length=1)


class Not(_Rule):
    not_: Rule = Field(alias="not")


Rule = Union[All, Any_, Not, Condition]
for _model in (All, Any_, Not):
    _model.model_rebuild()
RULE = TypeAdapter(Rule)


def parse_rule(data: dict[str, Any]) -> Rule:
    """Validate a rule; raises pydantic's ValidationError naming the bad part."""
    return RULE.validate_python(data)


@dataclass(frozen=True)
class Scope:
    """What a compilation is for: the account, the clock, and optionally the only customers to
    look at (an incremental run): a table with a ``customer_id`` column, which then drives every
    lookup, so the work follows the number of those customers rather than of all customers."""

    account_id: int
    now: datetime
    only: Table | None = None


def compile_rule(rule: Rule, scope: Scope) -> ColumnElement[bool]:
    """The rule as a predicate on ``customer`` rows."""
    if isinstance(rule, All):
        return and_(*(compile_rule(r, scope) for r in rule.all))
    if isinstance(rule, Any_):
        return or_(*(compile_rule(r, scope) for r in rule.any))
    if isinstance(rule, Not):
        return not_(compile_rule(rule.not_, scope))
    return _CONDITIONS[type(rule)](rule, scope)


def _orders(scope: Scope, window_days: int | None = None):
    conditions = [
        Order.account_id == scope.account_id,
        Order.customer_id.is_not(None),  # type: ignore[union-attr]
        Order.status.in_(COUNTED_STATES),  # type: ignore[attr-defined]
    ]
    if window_days is not None:
        conditions.append(Order.placed_at >= scope.now - timedelta(days=window_days))
    if scope.only is not None:
        conditions.append(Order.customer_id.in_(select(scope.only.c.customer_id)))  # type: ignore[union-attr]
    return conditions


def _order_metric(rule: OrderMetric, scope: Scope):
    if rule.window_days is None:
        return _all_time_metric(rule)
    net = Order.total - Order.refunded_total
    aggregate = {
        "spend": func.sum(net),
        "order_count": func.count(Order.id),
        "aov": func.avg(net),
        "discount_share": func.avg(case((Order.discount_total > 0, 1.0), else_=0.0)),
    }[rule.metric]
    grouped = select(Order.customer_id).where(*_orders(scope, rule.window_days)).group_by(
        Order.customer_id)
    if rule.metric in ("spend", "order_count") and rule.holds_at(0):
        failing = grouped.having(not_(rule.apply(aggregate)))
        return Customer.id.not_in(failing)  # type: ignore[union-attr]
    return Customer.id.in_(grouped.having(rule.apply(aggregate)))  # type: ignore[union-attr]


def _all_time_metric(rule: OrderMetric):
    """All-time figures come from the statistics the recompute just stored (one pass over the
    orders for every rule); the customer row is outer-joined, so no stats means no orders."""
    orders = func.coalesce(CustomerInsight.orders, 0)
    if rule.metric == "order_count":
        return rule.apply(orders)
    if rule.metric == "spend":
        return rule.apply(func.coalesce(CustomerInsight.spend, 0))
    share = CustomerInsight.spend if rule.metric == "aov" else CustomerInsight.discounted_orders
    return and_(orders > 0, rule.apply(cast(share, Float) / orders))


def _days_since_last_order(rule: DaysSinceLastOrder, scope: Scope):
    now_days = scope.now.timestamp() / 86400.0
    return and_(CustomerInsight.last_order_days.is_not(None),  # type: ignore[union-attr]
                rule.apply(literal(now_days) - CustomerInsight.last_order_days))


def _bought(rule: Bought, scope: Scope):
    if rule.tag is not None:
        padded = literal(",") + func.replace(func.lower(OrderLine.tags), ", ", ",") + literal(",")
        matches = padded.like(f"%,{rule.tag.strip().lower()},%")
    else:
        matches = func.lower(OrderLine.product_type) == rule.product_type.strip().lower()  # type: ignore[union-attr]
    bought = (
        select(Order.customer_id)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(*_orders(scope, rule.window_days), matches)
    )
    return Customer.id.in_(bought)  # type: ignore[union-attr]


def _tier(rule: TierIn, scope: Scope):
    names = [n for n in rule.in_ if n != "none"]
    named = Customer.tier_id.in_(  # type: ignore[union-attr]
        select(Tier.id).where(Tier.account_id == scope.account_id, Tier.name.in_(names)))  # type: ignore[attr-defined]
    return or_(named, Customer.tier_id.is_(None)) if "none" in rule.in_ else named  # type: ignore[union-attr]


def _points(rule: Points, scope: Scope):
    return rule.apply(Customer.points_balance)


def _birthday_month(rule: BirthdayMonth, scope: Scope):
    return and_(Customer.birthday.is_not(None), month_of(Customer.birthday).in_(rule.in_))  # type: ignore[union-attr]


def _consent(rule: ConsentIn, scope: Scope):
    return Customer.consent.in_(rule.in_)  # type: ignore[attr-defined]


def _abandoned(rule: AbandonedCheckoutRule, scope: Scope):
    return Customer.id.in_(  # type: ignore[union-attr]
        select(AbandonedCheckout.customer_id).where(
            AbandonedCheckout.account_id == scope.account_id,
            AbandonedCheckout.customer_id.is_not(None),  # type: ignore[union-attr]
            AbandonedCheckout.recovered.is_(False),  # type: ignore[attr-defined]
            AbandonedCheckout.abandoned_at >= scope.now - timedelta(days=rule.window_days),
        )
    )


def _new_customer(rule: NewCustomer, scope: Scope):
    since_days = (scope.now - timedelta(days=rule.days)).timestamp() / 86400.0
    return and_(CustomerInsight.first_order_days.is_not(None),  # type: ignore[union-attr]
                CustomerInsight.first_order_days >= since_days)


def _rfm_group(rule: RfmGroupIn, scope: Scope):
    return CustomerInsight.rfm_group.in_(rule.in_)  # type: ignore[union-attr]


_CONDITIONS = {
    OrderMetric: _order_metric,
    DaysSinceLastOrder: _days_since_last_order,
    Bought: _bought,
    TierIn: _tier,
    Points: _points,
    BirthdayMonth: _birthday_month,
    ConsentIn: _consent,
    AbandonedCheckoutRule: _abandoned,
    NewCustomer: _new_customer,
    RfmGroupIn: _rfm_group,
}


def members_query(rule: Rule, scope: Scope):
    """SELECT of the ids of the account's customers matching ``rule`` (erased ones never do)."""
    customers = Customer.__table__
    if scope.only is not None:
        customers = scope.only.join(customers, customers.c.id == scope.only.c.customer_id)
    return (select(Customer.id)
            .select_from(customers)
            .outerjoin(CustomerInsight, CustomerInsight.customer_id == Customer.id)
            .where(Customer.account_id == scope.account_id,
                   Customer.redacted_at.is_(None),  # type: ignore[union-attr]
                   compile_rule(rule, scope)))
