"""Shopify deliveries through the real receiver and the real inbox worker, every topic."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from integration.db import read_session
from integration.models import Connection, ConnectionStatus, Customer, Order, OrderStatus
from tests.webhook_inbox import shopify_payloads as sp
from tests.webhook_inbox.conftest import post_shopify
from webhooks.models import DataExport, InboxDelivery, InboxStatus
from webhooks.worker import drain


def _customer(engine, shop, platform_email: str) -> Customer | None:
    with read_session(engine) as session:
        return session.exec(
            select(Customer).where(Customer.account_id == shop.account_id, Customer.email == platform_email)
        ).first()


def _order(engine, shop, order_id: int) -> Order:
    with read_session(engine) as session:
        return session.exec(
            select(Order).where(Order.connection_id == shop.id, Order.platform_id == str(order_id))
        ).one()


def _rows(engine, shop) -> list[InboxDelivery]:
    with read_session(engine) as session:
        return list(session.exec(
            select(InboxDelivery).where(InboxDelivery.connection_id == shop.id).order_by(InboxDelivery.id)))


def test_order_lifecycle_topics_earn_and_take_back_points(client, runtime, engine, shop):
    buyer = sp.customer(7001, "Ada@Example.com")
    assert post_shopify(client, shop.external_id, "customers/create", buyer).status_code == 200
    pending = sp.order(5001, customer_payload=buyer, financial_status="pending",
                       discount="20.00", discount_codes=["WELCOME20"])
    assert post_shopify(client, shop.external_id, "orders/create", pending).status_code == 200
    drain(runtime)
    customer = _customer(engine, shop, "ada@example.com")
    assert customer.consent == "subscribed" and customer.points_balance == 0
    order = _order(engine, shop, 5001)
    assert order.status == OrderStatus.PENDING
    assert (order.subtotal, order.discount_total, order.shipping, order.total) == (
        Decimal("199.0000"), Decimal("20.0000"), Decimal("10.0000"), Decimal("189.0000"))
    assert order.discount_codes == "WELCOME20"

    paid = sp.order(5001, customer_payload=buyer, discount="20.00", discount_codes=["WELCOME20"],
                    updated_at="2026-11-02T10:05:00-05:00")
    post_shopify(client, shop.external_id, "orders/paid", paid)
    drain(runtime)
    assert _customer(engine, shop, "ada@example.com").points_balance == 179  # 199 - 20, per unit

    refund = sp.refund(9001, 5001, "94.50")
    post_shopify(client, shop.external_id, "refunds/create", refund)
    drain(runtime)
    # pro rata on the order total: 179 * 94.5 / 189 = 89.5 → 90 taken back
    assert _customer(engine, shop, "ada@example.com").points_balance == 89

    updated = sp.order(5001, customer_payload=buyer, discount="20.00", financial_status="partially_refunded",
                       fulfillment_status="fulfilled", refunds=[refund],
                       updated_at="2026-11-03T12:01:00-05:00")
    post_shopify(client, shop.external_id, "orders/updated", updated)
    drain(runtime)
    assert _order(engine, shop, 5001).status == OrderStatus.FULFILLED
    assert _customer(engine, shop, "ada@example.com").points_balance == 89  # same refund, same id

    cancelled = sp.order(5001, customer_payload=buyer, discount="20.00", financial_status="refunded",
                         cancelled_at="2026-11-04T09:00:00-05:00", refunds=[refund],
                         updated_at="2026-11-04T09:00:00-05:00")
    post_shopify(client, shop.external_id, "orders/cancelled", cancelled)
    drain(runtime)
    assert _order(engine, shop, 5001).status == OrderStatus.CANCELLED
    assert _customer(engine, shop, "ada@example.com").points_balance == 0
    assert {r.status for r in _rows(engine, shop)} == {InboxStatus.DONE}


def test_customer_update_changes_consent(client, runtime, engine, shop):
    post_shopify(client, shop.external_id, "customers/create", sp.customer(7002, "bo@example.com"))
    post_shopify(client, shop.external_id, "customers/update",
                 sp.customer(7002, "bo@example.com", consent="unsubscribed",
                             updated_at="2026-11-05T10:00:00-05:00"))
    drain(runtime)
    assert _customer(engine, shop, "bo@example.com").consent == "unsubscribed"


def test_out_of_order_deliveries_converge(client, runtime, engine, shop):
    """Refund before the order, paid before create: the same result as in order."""
    buyer = sp.customer(7003, "cy@example.com")
    refund = sp.refund(9003, 5003, "100.00")
    post_shopify(client, shop.external_id, "refunds/create", refund)
    post_shopify(client, shop.external_id, "orders/paid",
                 sp.order(5003, customer_payload=buyer, lines_total="200.00", shipping="0",
                          updated_at="2026-11-02T10:05:00-05:00"))
    post_shopify(client, shop.external_id, "orders/create",
                 sp.order(5003, customer_payload=buyer, lines_total="200.00", shipping="0",
                          financial_status="pending"))
    drain(runtime)
    order = _order(engine, shop, 5003)
    assert order.status == OrderStatus.PAID and order.refunded_total == Decimal("100.0000")
    assert _customer(engine, shop, "cy@example.com").points_balance == 100


def test_compliance_topics(public_app, runtime, engine, public_shop):
    """On a public app (where the compliance webhooks apply) the secret is the app's, so
    ``shop/redact`` still verifies after ``app/uninstalled`` removed the shop's credentials."""
    client, shop = public_app.test_client(), public_shop
    buyer = sp.customer(7004, "di@example.com")
    post_shopify(client, shop.external_id, "orders/paid", sp.order(5004, customer_payload=buyer))
    drain(runtime)

    request = sp.customers_data_request(shop.external_id, 7004, "di@example.com", 9999)
    assert post_shopify(client, shop.external_id, "customers/data_request", request).status_code == 200
    drain(runtime)
    with read_session(engine) as session:
        export = session.exec(select(DataExport).where(DataExport.connection_id == shop.id)).one()
    assert export.request_id == "9999"
    assert export.data["customer"]["email"] == "di@example.com"
    assert [o["platform_id"] for o in export.data["orders"]] == ["5004"]

    post_shopify(client, shop.external_id, "customers/redact",
                 sp.customers_redact(shop.external_id, 7004, "di@example.com"))
    drain(runtime)
    assert _customer(engine, shop, "di@example.com") is None
    with read_session(engine) as session:
        redacted = session.exec(select(Customer).where(
            Customer.account_id == shop.account_id, Customer.redacted_at.is_not(None))).one()
        assert redacted.points_balance == 199  # the ledger stays, anonymous

    post_shopify(client, shop.external_id, "app/uninstalled", sp.app_uninstalled(shop.external_id))
    drain(runtime)
    with read_session(engine) as session:
        assert session.get(Connection, shop.id).status == ConnectionStatus.DISABLED

    # shop/redact arrives 48 hours after uninstalling: still accepted, erases the shop's data
    assert post_shopify(client, shop.external_id, "shop/redact",
                        sp.shop_redact(shop.external_id)).status_code == 200
    drain(runtime)
    rows = _rows(engine, shop)
    assert [(r.topic, r.status) for r in rows] == [("shop/redact", InboxStatus.DONE)]
    with read_session(engine) as session:
        assert session.exec(select(DataExport).where(DataExport.connection_id == shop.id)).all() == []


def test_duplicate_event_is_stored_once(client, runtime, engine, shop):
    payload = sp.order(5005, customer_payload=sp.customer(7005, "ed@example.com"))
    first = post_shopify(client, shop.external_id, "orders/paid", payload, event_id="evt-1")
    again = post_shopify(client, shop.external_id, "orders/paid", payload, event_id="evt-1")
    assert first.json == {"status": "stored"} and again.json == {"status": "duplicate"}
    other_topic = post_shopify(client, shop.external_id, "orders/create", payload, event_id="evt-1")
    assert other_topic.json == {"status": "stored"}  # one action, two topics: both kept
    assert len(_rows(engine, shop)) == 2


def test_a_delivery_after_the_database_dropped_the_receivers_connections_is_stored(
    client, app, engine, shop, is_postgres
):
    """PostgreSQL restarted (here: its sessions killed): the receiver's pool skips the pre-ping,
    so its first insert meets a dead connection; it is retried on a new one, not answered 500."""
    if not is_postgres:
        pytest.skip("SQLite has no server to drop connections")
    first = post_shopify(client, shop.external_id, "orders/paid", sp.order(5010, customer_payload=None))
    receiver = app.extensions["sadakat"].receiver_engine
    with receiver.connect() as conn:  # the pooled connection the next request will reuse
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    with engine.connect() as admin:
        assert admin.exec_driver_sql(f"SELECT pg_terminate_backend({pid})").scalar()
    second = post_shopify(client, shop.external_id, "orders/paid", sp.order(5011, customer_payload=None))
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json == {"status": "stored"} and len(_rows(engine, shop)) == 2


def test_forged_unsigned_and_unknown_shop_are_refused_and_not_stored(client, engine, shop, caplog):
    body = json.dumps(sp.customer(7006, "fa@example.com")).encode()
    forged = post_shopify(client, shop.external_id, "customers/create", body, secret="not-the-secret")
    assert forged.status_code == 401 and forged.json == {"error": "bad_signature"}

    from tests.webhook_inbox.conftest import shopify_headers
    headers = shopify_headers(shop.external_id, "customers/create", body)
    tampered = client.post("/webhooks/shopify", data=body.replace(b"fa@", b"fb@"), headers=headers)
    assert tampered.status_code == 401
    del headers["X-Shopify-Hmac-Sha256"]
    assert client.post("/webhooks/shopify", data=body, headers=headers).status_code == 401
    unknown = post_shopify(client, "nobody.myshopify.com", "customers/create", body)
    assert unknown.status_code == 401 and unknown.json == {"error": "unknown_connection"}
    no_topic = shopify_headers(shop.external_id, "customers/create", body)
    del no_topic["X-Shopify-Topic"]
    assert client.post("/webhooks/shopify", data=body, headers=no_topic).status_code == 401
    assert _rows(engine, shop) == []
    assert "webhook refused" in caplog.text and "bad_signature" in caplog.text


def test_stale_delivery_is_refused(client, engine, shop):
    old = datetime.now(UTC) - timedelta(days=3)
    response = post_shopify(client, shop.external_id, "customers/create",
                            sp.customer(7007, "st@example.com"), triggered_at=old)
    assert response.status_code == 401 and response.json == {"error": "rejected"}
    recent = datetime.now(UTC) - timedelta(hours=20)  # a late retry is still welcome
    assert post_shopify(client, shop.external_id, "customers/create",
                        sp.customer(7007, "st@example.com"), triggered_at=recent).status_code == 200
    assert len(_rows(engine, shop)) == 1


def test_oversized_body_and_wrong_content_type(client, app, engine, shop):
    limit = app.config["MAX_CONTENT_LENGTH"]
    big = json.dumps({"id": 1, "note": "x" * limit}).encode()
    assert post_shopify(client, shop.external_id, "orders/create", big).status_code == 413
    body = json.dumps(sp.customer(7008, "ct@example.com")).encode()
    from tests.webhook_inbox.conftest import shopify_headers
    headers = shopify_headers(shop.external_id, "customers/create", body)
    headers["Content-Type"] = "text/plain"
    assert client.post("/webhooks/shopify", data=body, headers=headers).status_code == 415
    assert _rows(engine, shop) == []


def test_malformed_payload_is_kept_failed_then_dead_and_replayable(client, runtime, engine, shop):
    assert post_shopify(client, shop.external_id, "orders/create", b"{not json").status_code == 200
    post_shopify(client, shop.external_id, "orders/paid", {"id": 1})  # JSON, but no order
    drain(runtime)
    broken, incomplete = _rows(engine, shop)
    assert broken.status == InboxStatus.FAILED and broken.attempts == 1
    assert "not JSON" in broken.error
    assert incomplete.status == InboxStatus.FAILED and "currency" in incomplete.error
    assert broken.next_attempt_at > datetime.now(UTC) + timedelta(seconds=20)

    later = datetime.now(UTC)
    for _ in range(runtime.settings.inbox.max_attempts):
        later += timedelta(hours=2)
        drain(runtime, now=later)
    broken, incomplete = _rows(engine, shop)
    assert (broken.status, broken.attempts) == (InboxStatus.DEAD, runtime.settings.inbox.max_attempts)
    assert incomplete.status == InboxStatus.DEAD
