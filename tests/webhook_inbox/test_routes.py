"""The WooCommerce, Mailchimp and Klaviyo routes: connection from the URL, its own secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from urllib.parse import urlencode

import pytest
from sqlmodel import select

from integration.accounts import add_connection
from integration.db import read_session, write_session
from integration.models import Account, Customer
from webhook_inbox.platform_handlers import (
    KlaviyoTestHandler,
    MailchimpTestHandler,
    WooCommerceTestHandler,
)
from webhooks.models import InboxDelivery
from webhooks.routing import handler_for, register_handler
from webhooks.worker import drain

SECRET = "whsec-0123456789abcdef"
for _handler in (WooCommerceTestHandler(), MailchimpTestHandler(), KlaviyoTestHandler()):
    try:
        handler_for(_handler.platform)  # the connector branch's real handler, once installed
    except LookupError:
        register_handler(_handler)


def _connection(engine, box, account, platform: str):
    with write_session(engine) as session:
        return add_connection(
            session, box, session.get(Account, account.id), platform=platform,
            external_id=f"{platform}-{uuid.uuid4().hex[:8]}",
            credentials={"webhook_secret": SECRET},
        )


def _rows(engine, connection) -> list[InboxDelivery]:
    with read_session(engine) as session:
        return list(session.exec(select(InboxDelivery).where(
            InboxDelivery.connection_id == connection.id).order_by(InboxDelivery.id)))


@pytest.fixture
def woo(engine, box, account):
    return _connection(engine, box, account, "woocommerce")


def _woo_post(client, connection_id: int, topic: str, resource: dict, secret: str = SECRET):
    body = json.dumps(resource).encode()
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return client.post(f"/webhooks/woocommerce/{connection_id}", data=body, headers={
        "Content-Type": "application/json",
        "X-WC-Webhook-Source": "https://shop.example.com/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": topic.split(".")[0],
        "X-WC-Webhook-Event": topic.split(".")[1],
        "X-WC-Webhook-Signature": signature,
        "X-WC-Webhook-ID": "12",
        "X-WC-Webhook-Delivery-ID": uuid.uuid4().hex,  # new on every send
    })


def test_woocommerce_ping_is_answered_and_not_stored(client, engine, woo):
    response = client.post(f"/webhooks/woocommerce/{woo.id}", data="webhook_id=12",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert _rows(engine, woo) == []


def test_woocommerce_dedups_on_resource_and_modification_time(client, runtime, engine, woo):
    customer = {"id": 25, "email": "Wo@Example.com", "date_modified_gmt": "2026-11-20T10:00:00"}
    assert _woo_post(client, woo.id, "customer.created", customer).json == {"status": "stored"}
    assert _woo_post(client, woo.id, "customer.created", customer).json == {"status": "duplicate"}
    changed = {**customer, "date_modified_gmt": "2026-11-20T11:00:00"}
    assert _woo_post(client, woo.id, "customer.updated", changed).json == {"status": "stored"}
    drain(runtime)
    with read_session(engine) as session:
        assert session.exec(select(Customer).where(Customer.email == "wo@example.com")).one()


def test_woocommerce_forged_wrong_platform_and_unknown_connection(client, engine, box, account, woo):
    resource = {"id": 26, "email": "x@example.com", "date_modified_gmt": "2026-11-20T10:00:00"}
    assert _woo_post(client, woo.id, "customer.created", resource, secret="guess").status_code == 401
    klaviyo = _connection(engine, box, account, "klaviyo")
    assert _woo_post(client, klaviyo.id, "customer.created", resource).status_code == 401
    assert _woo_post(client, 987654321, "customer.created", resource).status_code == 401
    assert _rows(engine, woo) == [] and _rows(engine, klaviyo) == []


def test_mailchimp_validation_get_url_secret_and_form_body(client, runtime, engine, box, account, shop):
    from webhook_inbox import shopify_payloads as sp
    from webhook_inbox.conftest import post_shopify

    post_shopify(client, shop.external_id, "customers/create", sp.customer(7101, "mc@example.com"))
    audience = _connection(engine, box, account, "mailchimp")
    url = f"/webhooks/mailchimp/{audience.id}/{SECRET}"
    assert client.get(url).status_code == 200
    form = urlencode({"type": "unsubscribe", "fired_at": "2026-11-21 09:30:00",
                      "data[action]": "unsub", "data[reason]": "manual", "data[id]": "8a25ff1d98",
                      "data[list_id]": "a6b5da1054", "data[email]": "mc@example.com",
                      "data[email_type]": "html", "data[merges][FNAME]": "Mia"})
    ok = client.post(url, data=form, content_type="application/x-www-form-urlencoded")
    assert ok.json == {"status": "stored"}
    wrong = client.post(f"/webhooks/mailchimp/{audience.id}/not-it", data=form,
                        content_type="application/x-www-form-urlencoded")
    assert wrong.status_code == 401
    assert client.post(url, data=form, content_type="application/json").status_code == 415
    drain(runtime)
    with read_session(engine) as session:
        customer = session.exec(select(Customer).where(Customer.email == "mc@example.com")).one()
    assert customer.consent == "unsubscribed"
    assert len(_rows(engine, audience)) == 1


def test_klaviyo_signed_and_forged(client, engine, box, account):
    klaviyo = _connection(engine, box, account, "klaviyo")
    body = json.dumps({"id": "evt_1", "topic": "profile.subscribed", "data": {}}).encode()
    stamp = "1763716200"

    def post(secret: str):
        signature = hmac.new(secret.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
        return client.post(f"/webhooks/klaviyo/{klaviyo.id}", data=body, headers={
            "Content-Type": "application/json", "Klaviyo-Timestamp": stamp,
            "Klaviyo-Signature": signature})

    assert post("wrong-secret-000000").status_code == 401
    assert post(SECRET).json == {"status": "stored"}
    assert len(_rows(engine, klaviyo)) == 1
