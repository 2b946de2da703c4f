"""The WooCommerce webhook handler on payloads shaped like WooCommerce's own (from the fake's
REST representation, which is what WooCommerce sends) and signed the way WooCommerce signs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from decimal import Decimal

import pytest

from connectors.sdk import (
    CustomerUpserted,
    OrderDeleted,
    OrderStatus,
    OrderUpserted,
    WebhookRejected,
)
from connectors.woocommerce.fake.store import Store
from connectors.woocommerce.webhooks import WooCommerceWebhooks

SECRET = "s3cret-of-one-webhook"
handler = WooCommerceWebhooks()
store = Store(seed=5, customers=30, orders=200, currency="EUR")


def signed(topic: str, payload: dict | bytes, secret: str = SECRET) -> tuple[dict[str, str], bytes]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    resource, _, event = topic.partition(".")
    return {
        "X-WC-Webhook-Source": "https://shop.example/", "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource, "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": signature, "X-WC-Webhook-ID": "7",
        "X-WC-Webhook-Delivery-ID": "1234",
    }, body


def order_with(status: str) -> dict:
    oid = next(i for i in store.order_ids() if store.order(i)["status"] == status)
    return store.order(oid)


def test_signature_verifies_with_any_current_secret():
    headers, body = signed("order.updated", order_with("completed"))
    assert handler.verify(headers, body, ["other", SECRET])
    assert not handler.verify(headers, body, ["other"])


def test_forgeries_are_refused():
    headers, body = signed("order.updated", order_with("completed"))
    assert not handler.verify(headers, body + b" ", [SECRET])  # body changed after signing
    forged, _ = signed("order.updated", order_with("completed"), secret="guessed")
    assert not handler.verify(forged, body, [SECRET])
    unsigned = {k: v for k, v in headers.items() if k != "X-WC-Webhook-Signature"}
    assert not handler.verify(unsigned, body, [SECRET])
    with pytest.raises(WebhookRejected):
        handler.identify(unsigned, body)
    with pytest.raises(WebhookRejected):
        handler.identify({"X-WC-Webhook-Signature": "x"}, body)  # no topic


def test_headers_are_case_insensitive():
    headers, body = signed("order.updated", order_with("completed"))
    lowered = {k.lower(): v for k, v in headers.items()}
    assert handler.verify(lowered, body, [SECRET])
    assert handler.identify(lowered, body).topic == "order.updated"


def test_delivery_id_is_the_resource_state_not_the_send():
    order = order_with("processing")
    first, body = signed("order.updated", order)
    again = {**first, "X-WC-Webhook-Delivery-ID": "9999"}  # WooCommerce re-sent it
    assert handler.identify(first, body).delivery_id == handler.identify(again, body).delivery_id \
        == f"order:{order['id']}:{order['date_modified_gmt']}"
    changed = {**order, "date_modified_gmt": "2030-01-01T00:00:00"}
    assert handler.identify(*signed("order.updated", changed)).delivery_id != \
        handler.identify(first, body).delivery_id


def test_ping_is_recognised_and_changes_nothing():
    body = b"webhook_id=42"
    delivery = handler.identify({"User-Agent": "WooCommerce/9 Hookshot"}, body)
    assert (delivery.topic, delivery.delivery_id) == ("ping", "ping:42")
    assert handler.verify({}, body, [SECRET])
    assert handler.parse("ping", body) == []
    assert handler.verify({}, b"webhook_id=42&x=1", [SECRET]) is False  # not a ping


@pytest.mark.parametrize("status, expected", [
    ("pending", OrderStatus.PENDING), ("processing", OrderStatus.PAID),
    ("on-hold", OrderStatus.ON_HOLD), ("completed", OrderStatus.COMPLETED),
    ("cancelled", OrderStatus.CANCELLED), ("refunded", OrderStatus.REFUNDED),
    ("failed", OrderStatus.FAILED),
])
def test_order_topics_map_status(status, expected):
    for topic in ("order.created", "order.updated"):
        payload = order_with(status)
        [event] = handler.parse(topic, json.dumps(payload).encode())
        assert isinstance(event, OrderUpserted)
        assert event.order.status == expected
        assert event.order.platform_id == str(payload["id"])
        assert event.order.currency == "EUR"
        if expected == OrderStatus.CANCELLED:
            assert event.order.cancelled_at is not None


def test_order_payload_maps_lines_coupons_refunds_and_guests():
    guest_order = next(store.order(i) for i in store.order_ids()
                       if store.order(i)["customer_id"] == 0 and store.order(i)["coupon_lines"])
    [event] = handler.parse("order.updated", json.dumps(guest_order).encode())
    order = event.order
    assert order.customer.is_guest and order.customer.platform_id is None
    assert order.email == guest_order["billing"]["email"]
    assert order.discount_codes == ("welcome10",)
    assert order.discount_total == Decimal(guest_order["discount_total"]) > 0
    assert order.points_discount == 0
    assert order.subtotal == sum(Decimal(i["subtotal"]) for i in guest_order["line_items"])
    assert [line.quantity for line in order.lines] == [i["quantity"] for i in guest_order["line_items"]]
    assert order.total == Decimal(guest_order["total"])

    partial = next(store.order(i) for i in store.order_ids()
                   if store.order(i)["status"] == "completed" and store.order(i)["refunds"])
    [event] = handler.parse("order.updated", json.dumps(partial).encode())
    [refund] = event.order.refunds
    assert refund.amount == -Decimal(partial["refunds"][0]["total"]) > 0
    assert refund.platform_id == str(partial["refunds"][0]["id"])

    member = {**partial, "customer_id": 3,
              "coupon_lines": [{"id": 1, "code": "sadakat-17-abcd", "discount": "5.00"}]}
    [event] = handler.parse("order.updated", json.dumps(member).encode())
    assert event.order.customer.platform_id == "3" and not event.order.customer.is_guest
    assert event.order.points_discount == Decimal("5.00")  # our reward codes never earn


def test_order_deleted_carries_only_the_id():
    headers, body = signed("order.deleted", {"id": 77})
    assert handler.identify(headers, body).delivery_id == "order:77:deleted"
    assert handler.parse("order.deleted", body) == [OrderDeleted(order_platform_id="77")]


def test_customer_topics():
    customer = store.customer(4)
    customer["meta_data"].append({"id": 1, "key": "birthday", "value": "1990-05-17"})
    for topic in ("customer.created", "customer.updated"):
        [event] = handler.parse(topic, json.dumps(customer).encode())
        assert isinstance(event, CustomerUpserted)
        record = event.customer
        assert (record.platform_id, record.email) == ("4", customer["email"])
        assert record.birthday.isoformat() == "1990-05-17" and not record.is_guest


def test_unknown_topics_are_ignored_and_bad_payloads_fail_clearly():
    assert handler.parse("product.updated", b'{"id": 1}') == []
    with pytest.raises(ValueError, match="not JSON"):
        handler.parse("order.updated", b"{not json")
    with pytest.raises(ValueError, match="without an id"):
        handler.parse("order.updated", b"{}")
    headers, body = signed("order.updated", b"{not json")
    assert handler.identify(headers, body).delivery_id.startswith("order:unreadable:")
