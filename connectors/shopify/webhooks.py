"""Shopify webhooks: HMAC check and the REST-shaped payloads of every topic we subscribe to.

Webhook payloads are REST resources (``orders/*`` carry a REST order, ``customers/*`` a REST
customer), unlike the GraphQL shapes the connector pulls, so their mapping lives here.

- Signature: base64 HMAC-SHA256 of the raw body with the app's API secret, compared in constant
  time with ``X-Shopify-Hmac-Sha256``; during a secret rotation any of the secrets may match.
- Deduplication: ``X-Shopify-Event-Id`` is shared by every delivery of one merchant action
  (falls back to ``X-Shopify-Webhook-Id``, unique per delivery); the topic is part of the key
  because one action can fire several topics with the same event id.
- Staleness: a delivery triggered more than ``MAX_AGE`` ago is refused. Shopify's own retries
  end within a day or so; anything older is a replay, and refusing it keeps replays inside the
  inbox's deduplication window (at least 7 days).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.sdk import (
    ConnectionRemoved,
    Consent,
    CustomerDataRequested,
    CustomerRecord,
    CustomerRedactRequested,
    CustomerUpserted,
    Event,
    OrderLineRecord,
    OrderRecord,
    OrderStatus,
    OrderUpserted,
    RefundCreated,
    RefundRecord,
    WebhookDelivery,
    WebhookHandler,
    WebhookRejected,
)

MAX_AGE = timedelta(hours=48)

# email_marketing_consent.state → Consent. "not_subscribed" never opted in: not a subscriber.
CONSENT = {
    "subscribed": Consent.SUBSCRIBED,
    "unsubscribed": Consent.UNSUBSCRIBED,
    "not_subscribed": Consent.UNSUBSCRIBED,
    "pending": Consent.UNKNOWN,       # double opt-in not confirmed yet
    "invalid": Consent.CLEANED,
    "redacted": Consent.UNKNOWN,
}


def _time(value: str | None) -> datetime | None:
    """Shopify times carry an offset (``2024-01-01T10:00:00-05:00``) or ``Z`` with up to nine
    fractional digits; Python reads six."""
    if not value:
        return None
    value = re.sub(r"(\.\d{6})\d+", r"\1", value.replace("Z", "+00:00"))
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"time without offset: {value!r}")
    return parsed.astimezone(UTC)


def _money(value: Any) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None


def _shop_money(payload: Mapping[str, Any], name: str) -> Decimal:
    """``<name>_set.shop_money.amount``: in the shop's currency, like the order's totals."""
    money_set = payload.get(f"{name}_set") or {}
    return _money((money_set.get("shop_money") or {}).get("amount"))


def order_status(order: Mapping[str, Any]) -> OrderStatus:
    if order.get("cancelled_at"):
        return OrderStatus.CANCELLED
    financial = order.get("financial_status") or "pending"
    if financial == "refunded":
        return OrderStatus.REFUNDED
    if financial == "voided":
        return OrderStatus.CANCELLED
    if financial in ("paid", "partially_refunded"):  # partial refunds are carried as refunds
        fulfilled = order.get("fulfillment_status") == "fulfilled"
        return OrderStatus.FULFILLED if fulfilled else OrderStatus.PAID
    return OrderStatus.PENDING  # pending, authorized, partially_paid, expired


def refund_amount(refund: Mapping[str, Any]) -> Decimal:
    """Money given back: the successful refund transactions; without transactions (a refund
    recorded without payment movement) the refunded lines' subtotals and taxes."""
    transactions = [
        t for t in refund.get("transactions") or []
        if t.get("kind") == "refund" and t.get("status") in ("success", None)
    ]
    if transactions:
        return sum((_money(t.get("amount")) for t in transactions), Decimal(0))
    return sum(
        (
            _money(item.get("subtotal")) + _money(item.get("total_tax"))
            for item in refund.get("refund_line_items") or []
        ),
        Decimal(0),
    )


def map_refund(refund: Mapping[str, Any]) -> RefundRecord:
    return RefundRecord(
        platform_id=str(refund["id"]),
        amount=refund_amount(refund),
        created_at=_time(refund.get("processed_at") or refund["created_at"]),
    )


def map_customer(customer: Mapping[str, Any]) -> CustomerRecord:
    consent = customer.get("email_marketing_consent") or {}
    state = consent.get("state")
    if state is not None:
        marketing = CONSENT.get(state, Consent.UNKNOWN)
    elif "accepts_marketing" in customer:  # field of API versions before 2022-04
        marketing = Consent.SUBSCRIBED if customer["accepts_marketing"] else Consent.UNSUBSCRIBED
    else:
        marketing = None
    return CustomerRecord(
        platform_id=str(customer["id"]),
        email=customer.get("email"),
        first_name=customer.get("first_name") or "",
        last_name=customer.get("last_name") or "",
        phone=customer.get("phone") or "",
        consent=marketing,
        # "disabled": a record made by a guest checkout, no store account (yet).
        is_guest=customer.get("state") == "disabled",
        created_at=_time(customer.get("created_at")),
        updated_at=_time(customer.get("updated_at")),
    )


def map_order(order: Mapping[str, Any]) -> OrderRecord:
    shipping = _shop_money(order, "total_shipping_price")
    if not shipping:
        shipping = sum(
            (_money(line.get("price")) for line in order.get("shipping_lines") or []), Decimal(0)
        )
    customer = order.get("customer")
    return OrderRecord(
        platform_id=str(order["id"]),
        number=str(order.get("name") or order.get("order_number") or ""),
        customer=map_customer(customer) if customer and customer.get("id") else None,
        email=order.get("email") or order.get("contact_email"),
        currency=order["currency"],
        status=order_status(order),
        subtotal=_money(order.get("total_line_items_price")),  # before discounts
        shipping=shipping,
        tax=_money(order.get("total_tax")),
        discount_total=_money(order.get("total_discounts")),
        total=_money(order.get("total_price")),
        discount_codes=tuple(d["code"] for d in order.get("discount_codes") or [] if d.get("code")),
        placed_at=_time(order["created_at"]),
        updated_at=_time(order.get("updated_at")),
        cancelled_at=_time(order.get("cancelled_at")),
        lines=tuple(
            OrderLineRecord(
                product_id=str(line.get("product_id") or ""),
                sku=line.get("sku") or "",
                title=line.get("title") or line.get("name") or "",
                quantity=int(line.get("quantity") or 0),
                price=_money(line.get("price")),
            )
            for line in order.get("line_items") or []
        ),
        refunds=tuple(map_refund(r) for r in order.get("refunds") or []),
    )


def _refund_created(p: Mapping[str, Any]) -> list[Event]:
    currencies = [t.get("currency") for t in p.get("transactions") or [] if t.get("currency")]
    currency = currencies[0] if currencies else None
    if currency is None:  # no transaction: take it from a refunded line's shop money
        for item in p.get("refund_line_items") or []:
            money = (item.get("subtotal_set") or {}).get("shop_money") or {}
            currency = currency or money.get("currency_code")
    if currency is None:
        raise ValueError("refund carries no currency (no transactions, no refunded lines)")
    return [RefundCreated(order_platform_id=str(p["order_id"]), currency=currency, refund=map_refund(p))]


def _compliance_customer(p: Mapping[str, Any]) -> CustomerRecord:
    customer = p.get("customer") or {}
    return CustomerRecord(
        platform_id=str(customer["id"]) if customer.get("id") else None,
        email=customer.get("email"),
        phone=customer.get("phone") or "",
    )


TOPICS: dict[str, Callable[[Mapping[str, Any]], list[Event]]] = {
    "orders/create": lambda p: [OrderUpserted(order=map_order(p))],
    "orders/paid": lambda p: [OrderUpserted(order=map_order(p))],
    "orders/updated": lambda p: [OrderUpserted(order=map_order(p))],
    "orders/cancelled": lambda p: [OrderUpserted(order=map_order(p))],
    "refunds/create": _refund_created,
    "customers/create": lambda p: [CustomerUpserted(customer=map_customer(p))],
    "customers/update": lambda p: [CustomerUpserted(customer=map_customer(p))],
    "app/uninstalled": lambda p: [ConnectionRemoved(erase=False)],
    "shop/redact": lambda p: [ConnectionRemoved(erase=True)],
    "customers/redact": lambda p: [CustomerRedactRequested(customer=_compliance_customer(p))],
    "customers/data_request": lambda p: [
        CustomerDataRequested(
            request_id=str((p.get("data_request") or {}).get("id") or ""),
            customer=_compliance_customer(p),
        )
    ],
}


def sign(body: bytes, secret: str) -> str:
    """The ``X-Shopify-Hmac-Sha256`` value for ``body`` (also used by fakes and tests)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class ShopifyWebhooks(WebhookHandler):
    platform = "shopify"
    topics = tuple(TOPICS)

    def identify(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        topic = headers.get("X-Shopify-Topic")
        shop = headers.get("X-Shopify-Shop-Domain")
        key = headers.get("X-Shopify-Event-Id") or headers.get("X-Shopify-Webhook-Id")
        if not (topic and shop and key):
            raise WebhookRejected(
                "missing X-Shopify-Topic, X-Shopify-Shop-Domain or X-Shopify-Event-Id/Webhook-Id"
            )
        return WebhookDelivery(topic=topic, delivery_id=f"{topic}:{key}", external_id=shop.lower())

    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str]) -> bool:
        given = headers.get("X-Shopify-Hmac-Sha256")
        if not given:
            return False
        if not any(hmac.compare_digest(sign(body, s).encode(), given.encode()) for s in secrets):
            return False
        try:
            triggered = _time(headers.get("X-Shopify-Triggered-At"))
        except ValueError:
            raise WebhookRejected("unreadable X-Shopify-Triggered-At") from None
        if triggered is not None and datetime.now(UTC) - triggered > MAX_AGE:
            raise WebhookRejected(f"stale delivery, triggered at {triggered.isoformat()}")
        return True

    def parse(self, topic: str, body: bytes) -> list[Event]:
        mapper = TOPICS.get(topic)
        if mapper is None:
            return []  # a topic we never subscribed to: acknowledged, nothing to apply
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{topic}: body is not JSON: {exc}") from None
        if not isinstance(payload, dict):
            raise ValueError(f"{topic}: body is not a JSON object")
        try:
            return mapper(payload)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{topic}: missing or mistyped field {exc}") from None
