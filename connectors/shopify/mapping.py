"""Admin GraphQL JSON (paged or bulk) → the core's normalized records.

Paged and bulk results share the selections in ``queries``, so one mapping serves both; bulk
results only differ in that an order's line items arrive as separate JSONL lines, which
``bulk.join_children`` hands over as the ``lines`` argument.

Platform ids are the numeric part of Shopify's GIDs (``gid://shopify/Customer/42`` → ``"42"``),
the same ids Shopify's REST-shaped webhook payloads carry, so a webhook and a sync of the same
customer land on the same identity.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from connectors.sdk import (
    Consent,
    CustomerRecord,
    OrderRecord,
    OrderStatus,
)

log = logging.getLogger(__name__)

# CustomerEmailAddressMarketingState → consent. PENDING (double opt-in not confirmed yet) says
# nothing new; INVALID means the address cannot receive mail, like a cleaned address.
CONSENT = {
    "SUBSCRIBED": Consent.SUBSCRIBED,
    "NOT_SUBSCRIBED": Consent.UNSUBSCRIBED,
    "UNSUBSCRIBED": Consent.UNSUBSCRIBED,
    "PENDING": Consent.UNKNOWN,
    "INVALID": Consent.CLEANED,
}


def numeric_id(gid: str) -> str:
    return gid.rsplit("/", 1)[-1]


def gid(kind: str, platform_id: str) -> str:
    return platform_id if platform_id.startswith("gid://") else f"gid://shopify/{kind}/{platform_id}"


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _money(bag: Mapping[str, Any] | None) -> Decimal:
    if not bag:
        return Decimal(0)
    return Decimal(str(bag["shopMoney"]["amount"]))


def _birthday(node: Mapping[str, Any]) -> date | None:
    value = ((node.get("birthday") or {}).get("value") or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        log.info("customer %s: birthday metafield %r is not a date; ignored", node.get("id"), value)
        return None


def customer(node: Mapping[str, Any]) -> CustomerRecord:
    email = node.get("defaultEmailAddress") or {}
    phone = node.get("defaultPhoneNumber") or {}
    state = email.get("marketingState")
    return CustomerRecord(
        platform_id=numeric_id(node["id"]),
        email=email.get("emailAddress"),
        first_name=node.get("firstName") or "",
        last_name=node.get("lastName") or "",
        phone=phone.get("phoneNumber") or "",
        birthday=_birthday(node),
        consent=CONSENT.get(state) if state else None,
        created_at=_time(node.get("createdAt")),
        updated_at=_time(node.get("updatedAt")),
    )


def _order_customer(node: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not node:
        return None
    return {
        "platform_id": numeric_id(node["id"]),
        "email": (node.get("defaultEmailAddress") or {}).get("emailAddress"),
        "first_name": node.get("firstName") or "",
        "last_name": node.get("lastName") or "",
    }


def status(node: Mapping[str, Any]) -> OrderStatus:
    if node.get("cancelledAt"):
        return OrderStatus.CANCELLED
    financial = node.get("displayFinancialStatus")
    if financial == "REFUNDED":
        return OrderStatus.REFUNDED
    if financial == "VOIDED":
        return OrderStatus.CANCELLED
    if financial == "EXPIRED":
        return OrderStatus.FAILED
    if financial in ("PAID", "PARTIALLY_REFUNDED"):
        fulfilled = node.get("displayFulfillmentStatus") == "FULFILLED"
        return OrderStatus.FULFILLED if fulfilled else OrderStatus.PAID
    return OrderStatus.PENDING


def line(node: Mapping[str, Any]) -> dict[str, Any]:
    """An ``OrderLineRecord``'s fields (validated with the order they belong to)."""
    product = node.get("product") or {}
    return {
        "product_id": numeric_id(product["id"]) if product.get("id") else "",
        "sku": node.get("sku") or "",
        "title": node.get("title") or "",
        "product_type": product.get("productType") or "",
        "tags": product.get("tags") or (),
        "quantity": int(node.get("quantity") or 0),
        "price": _money(node.get("originalUnitPriceSet")),
    }


def order(
    node: Mapping[str, Any], lines: Iterable[Mapping[str, Any]], *, code_prefix: str
) -> OrderRecord:
    """``code_prefix`` marks Sadakat's reward codes: their discount never earns points.

    Shopify reports discounts per order, not per code, so an order that used one of our codes
    counts its whole discount as ``points_discount`` (our codes cannot be combined with others).

    The order, its customer, lines and refunds are validated in one ``model_validate`` call:
    building each nested record on its own cost a third more per order in a bulk sync.
    """
    discount = _money(node.get("totalDiscountsSet"))
    codes = tuple(node.get("discountCodes") or ())
    ours = any(code.upper().startswith(code_prefix) for code in codes)
    return OrderRecord.model_validate({
        "platform_id": numeric_id(node["id"]),
        "number": node.get("name") or "",
        "customer": _order_customer(node.get("customer")),
        "email": node.get("email"),
        "currency": node["totalPriceSet"]["shopMoney"]["currencyCode"],
        "status": status(node),
        "subtotal": _money(node.get("subtotalPriceSet")) + discount,
        "shipping": _money(node.get("totalShippingPriceSet")),
        "tax": _money(node.get("totalTaxSet")),
        "discount_total": discount,
        "points_discount": discount if ours else Decimal(0),
        "total": _money(node.get("totalPriceSet")),
        "discount_codes": codes,
        "placed_at": _time(node.get("processedAt") or node["createdAt"]),
        "updated_at": _time(node.get("updatedAt")),
        "cancelled_at": _time(node.get("cancelledAt")),
        "lines": [line(item) for item in lines],
        "refunds": [
            {
                "platform_id": numeric_id(refund["id"]),
                "amount": _money(refund.get("totalRefundedSet")),
                "created_at": _time(refund.get("createdAt") or node["createdAt"]),
            }
            for refund in node.get("refunds") or ()
        ],
    })
