"""WooCommerce REST v3 JSON → the core's records. One mapping for pulls and webhooks alike.

A webhook's payload is the resource as ``GET /orders/{id}`` or ``GET /customers/{id}`` returns it,
so an order delivered by ``order.updated`` and the same order read by a sync become the very same
``OrderRecord``: a missed webhook is repaired by the next sync.

WooCommerce specifics handled here:

- Dates come in pairs (site-local and ``*_gmt``, both without an offset); only ``*_gmt`` is used.
- Money is strings. ``subtotal`` is the sum of the lines' ``subtotal`` (before coupons).
- Guests have ``customer_id`` 0 and exist only through the order's billing e-mail.
- The order's ``refunds`` list gives each refund's id and (negative) total but no date; the
  order's ``date_modified_gmt`` stands in for it (refunds always modify their order).
- Coupon codes are stored lower-cased by WooCommerce; the codes Sadakat issues start with
  ``REWARD_PREFIX`` and their discount counts as ``points_discount`` (never earns points).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.sdk import (
    CustomerRecord,
    OrderLineRecord,
    OrderRecord,
    OrderStatus,
    RefundRecord,
)

log = logging.getLogger(__name__)

REWARD_PREFIX = "sadakat-"

STATUS = {
    "pending": OrderStatus.PENDING,
    "checkout-draft": OrderStatus.PENDING,
    "on-hold": OrderStatus.ON_HOLD,
    "processing": OrderStatus.PAID,
    "completed": OrderStatus.COMPLETED,
    "refunded": OrderStatus.REFUNDED,
    "cancelled": OrderStatus.CANCELLED,
    "trash": OrderStatus.CANCELLED,
    "failed": OrderStatus.FAILED,
}

# Meta keys some birthday plugins use; the first valid ISO date wins.
BIRTHDAY_KEYS = ("birthday", "billing_birth_date", "date_of_birth")


def gmt(value: str | None) -> datetime | None:
    """``2026-03-01T10:00:00`` (a ``*_gmt`` field, no offset) as an aware UTC datetime."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def money(value: Any) -> Decimal:
    if value in (None, ""):
        return Decimal(0)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None


def status(value: str) -> OrderStatus:
    """Custom statuses added by plugins (``shipped``, ...) earn nothing until a known one."""
    mapped = STATUS.get(value)
    if mapped is None:
        log.warning("unknown WooCommerce order status %r treated as pending", value)
        return OrderStatus.PENDING
    return mapped


def _meta(data: Mapping[str, Any]) -> dict[str, Any]:
    return {m.get("key"): m.get("value") for m in data.get("meta_data") or () if isinstance(m, dict)}


def _birthday(meta: Mapping[str, Any]) -> date | None:
    for key in BIRTHDAY_KEYS:
        value = meta.get(key)
        if isinstance(value, str) and value:
            try:
                return date.fromisoformat(value[:10])
            except ValueError:
                continue
    return None


def customer_record(data: Mapping[str, Any]) -> CustomerRecord:
    """A registered customer (``GET /customers``, ``customer.*`` webhooks)."""
    if not data.get("id"):
        raise ValueError("customer payload without an id")
    billing = data.get("billing") or {}
    return CustomerRecord(
        platform_id=str(data["id"]),
        email=data.get("email") or billing.get("email") or None,
        first_name=data.get("first_name") or billing.get("first_name") or "",
        last_name=data.get("last_name") or billing.get("last_name") or "",
        phone=(billing.get("phone") or "")[:40],
        birthday=_birthday(_meta(data)),
        is_guest=False,
        created_at=gmt(data.get("date_created_gmt")),
        updated_at=gmt(data.get("date_modified_gmt")),
    )


def _buyer(data: Mapping[str, Any]) -> CustomerRecord | None:
    billing = data.get("billing") or {}
    email = billing.get("email") or None
    customer_id = int(data.get("customer_id") or 0)
    if not customer_id and not email:
        return None
    return CustomerRecord(
        platform_id=str(customer_id) if customer_id else None,
        email=email,
        first_name=billing.get("first_name") or "",
        last_name=billing.get("last_name") or "",
        phone=(billing.get("phone") or "")[:40],
        is_guest=not customer_id,
    )


def _line(item: Mapping[str, Any]) -> OrderLineRecord:
    quantity = int(item.get("quantity") or 0)
    subtotal = money(item.get("subtotal"))
    product = item.get("variation_id") or item.get("product_id") or ""
    return OrderLineRecord(
        product_id=str(product) if product else "",
        sku=(item.get("sku") or "")[:120],
        title=item.get("name") or "",
        quantity=quantity,
        price=(subtotal / quantity).quantize(Decimal("0.0001")) if quantity else subtotal,
    )


def order_record(data: Mapping[str, Any]) -> OrderRecord:
    """An order (``GET /orders``, ``order.created``/``order.updated`` webhooks)."""
    if not data.get("id"):
        raise ValueError("order payload without an id")
    placed = gmt(data.get("date_created_gmt"))
    if placed is None:
        raise ValueError(f"order {data['id']} has no date_created_gmt")
    updated = gmt(data.get("date_modified_gmt"))
    mapped = status(data.get("status") or "pending")
    lines = tuple(_line(item) for item in data.get("line_items") or ())
    coupons = data.get("coupon_lines") or ()
    codes = tuple(str(c.get("code") or "") for c in coupons if c.get("code"))
    points_discount = sum(
        (money(c.get("discount")) for c in coupons
         if str(c.get("code") or "").lower().startswith(REWARD_PREFIX)),
        Decimal(0),
    )
    refunds = tuple(
        RefundRecord(
            platform_id=str(r["id"]),
            amount=abs(money(r.get("total"))),
            created_at=updated or placed,
        )
        for r in data.get("refunds") or ()
        if r.get("id")
    )
    buyer = _buyer(data)
    return OrderRecord(
        platform_id=str(data["id"]),
        number=str(data.get("number") or data["id"]),
        customer=buyer,
        email=buyer.email if buyer else None,
        currency=(data.get("currency") or "").upper(),
        status=mapped,
        subtotal=sum((money(i.get("subtotal")) for i in data.get("line_items") or ()), Decimal(0)),
        shipping=money(data.get("shipping_total")),
        tax=money(data.get("total_tax")),
        discount_total=money(data.get("discount_total")),
        points_discount=points_discount,
        total=money(data.get("total")),
        discount_codes=codes,
        placed_at=placed,
        updated_at=updated,
        cancelled_at=(updated or placed) if mapped == OrderStatus.CANCELLED else None,
        lines=lines,
        refunds=refunds,
    )
