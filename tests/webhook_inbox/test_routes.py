"""The WooCommerce, Mailchimp and Klaviyo routes end to end, with the connectors' real handlers
(from the registry) and connections stored as their connectors' settings split them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from urllib.parse import urlencode

import pytest
from sqlmodel import select

from connectors.klaviyo.connector import KlaviyoSettings
from connectors.mailchimp.connector import MailchimpSettings
from connectors.woocommerce.connector import WooCommerceSettings
from integration.accounts import add_connection
from integration.db import read_session, write_session
from integration.models import Account, Customer
from tests.webhook_inbox import shopify_payloads as sp
from tests.webhook_inbox.conftest import post_shopify
from webhooks.models import InboxDelivery
from webhooks.worker import drain

SECRET = "whsec-0123456789abcdef"


def _connection(engine, box, account, platform: str, settings):
    plain, secrets = settings.split()
    with write_session(engine) as session:
        return add_connection(
            session, box, session.get(Account, account.id), platform=platform,
            external_id=f"{platform}-{uuid.uuid4().hex[:8]}", credentials=secrets, settings=plain,
        )


def _rows(engine, connection) -> list[InboxDelivery]:
    with read_session(engine) as session:
        return list(session.exec(select(InboxDelivery).where(
            InboxDelivery.connection_id == connection.id).order_by(InboxDelivery.id)))


def _customer(engine, account_id: int, email: str) -> Customer:
    with read_session(engine) as session:
        return session.exec(select(Customer).where(
            Customer.account_id == account_id, Customer.email == email)).one()


@pytest.fixture
def woo(engine, box, account):
    return _connection(engine, box, account, "woocommerce", WooCommerceSettings(
        url="https://shop.example.com", consumer_key="ck_x", consumer_secret="cs_x",
        webhook_secrets={"12": "old-secret-rotated-out", "13": SECRET}))


def _woo_post(client, connection_id: int, topic: str, resource: dict, secret: str = SECRET):
    body = json.dumps(resource).encode()
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return client.post(f"/webhooks/woocommerce/{connection_id}", data=body, headers={
        "Content-Type": "application/json",
        "User-Agent": "WooCommerce/9.4.0 Hookshot (WordPress/6.7)",
        "X-WC-Webhook-Source": "https://shop.example.com/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": topic.split(".")[0],
        "X-WC-Webhook-Event": topic.split(".")[1],
        "X-WC-Webhook-Signature": signature,
        "X-WC-Webhook-ID": "13",
        "X-WC-Webhook-Delivery-ID": uuid.uuid4().hex,  # new on every send
    })


def _woo_customer(customer_id: int, email: str, modified: str) -> dict:
    """A customer as WooCommerce's REST API v3 (and its webhooks) shows it."""
    return {
        "id": customer_id, "date_created": "2026-11-20T10:00:00", "date_created_gmt": "2026-11-20T10:00:00",
        "date_modified": modified, "date_modified_gmt": modified, "email": email,
        "first_name": "Wo", "last_name": "Mo", "role": "customer", "username": "wo",
        "billing": {"first_name": "Wo", "last_name": "Mo", "company": "", "address_1": "", "address_2": "",
                    "city": "", "postcode": "", "country": "", "state": "", "email": email, "phone": ""},
        "shipping": {"first_name": "", "last_name": "", "company": "", "address_1": "", "address_2": "",
                     "city": "", "postcode": "", "country": "", "state": "", "phone": ""},
        "is_paying_customer": False, "avatar_url": "", "meta_data": [],
    }


def test_woocommerce_ping_is_answered_and_not_stored(client, engine, woo):
    response = client.post(f"/webhooks/woocommerce/{woo.id}", data="webhook_id=13",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert _rows(engine, woo) == []


def test_woocommerce_dedups_on_resource_and_modification_time(client, runtime, engine, woo):
    customer = _woo_customer(25, "Wo@Example.com", "2026-11-20T10:00:00")
    assert _woo_post(client, woo.id, "customer.created", customer).json == {"status": "stored"}
    assert _woo_post(client, woo.id, "customer.created", customer).json == {"status": "duplicate"}
    changed = _woo_customer(25, "Wo@Example.com", "2026-11-20T11:00:00")
    assert _woo_post(client, woo.id, "customer.updated", changed).json == {"status": "stored"}
    drain(runtime)
    assert _customer(engine, woo.account_id, "wo@example.com")
    assert [r.status for r in _rows(engine, woo)] == ["done", "done"]


def test_woocommerce_forged_wrong_platform_and_unknown_connection(client, engine, box, account, woo):
    resource = _woo_customer(26, "x@example.com", "2026-11-20T10:00:00")
    assert _woo_post(client, woo.id, "customer.created", resource, secret="guess").status_code == 401
    klaviyo = _connection(engine, box, account, "klaviyo", KlaviyoSettings(api_key="pk_x", webhook_secret=SECRET))
    assert _woo_post(client, klaviyo.id, "customer.created", resource).status_code == 401
    assert _woo_post(client, 987654321, "customer.created", resource).status_code == 401
    assert _rows(engine, woo) == [] and _rows(engine, klaviyo) == []


def test_mailchimp_validation_get_url_secret_and_form_body(client, runtime, engine, box, account, shop):
    post_shopify(client, shop.external_id, "customers/create", sp.customer(7101, "mc@example.com"))
    audience = _connection(engine, box, account, "mailchimp", MailchimpSettings(
        api_key="0123456789abcdef0123456789abcdef-us21", list_id="a6b5da1054", webhook_secret=SECRET))
    url = f"/webhooks/mailchimp/{audience.id}/{SECRET}"
    assert client.get(url).status_code == 200
    form = urlencode({"type": "unsubscribe", "fired_at": "2026-11-21 09:30:00",
                      "data[action]": "unsub", "data[reason]": "manual", "data[id]": "8a25ff1d98",
                      "data[list_id]": "a6b5da1054", "data[email]": "mc@example.com",
                      "data[email_type]": "html", "data[merges][EMAIL]": "mc@example.com",
                      "data[merges][FNAME]": "Mia", "data[merges][LNAME]": "Chen",
                      "data[ip_opt]": "10.20.10.30", "data[campaign_id]": "cb398d21d2"})
    form_type = "application/x-www-form-urlencoded"
    assert client.post(url, data=form, content_type=form_type).json == {"status": "stored"}
    assert client.post(url, data=form, content_type=form_type).json == {"status": "duplicate"}
    wrong = client.post(f"/webhooks/mailchimp/{audience.id}/not-it", data=form, content_type=form_type)
    assert wrong.status_code == 401
    spoofed = client.post(f"/webhooks/mailchimp/{audience.id}/not-it", data=form, content_type=form_type,
                          headers={"X-Sadakat-Request-Path": url})  # only the receiver sets it
    assert spoofed.status_code == 401
    assert client.post(url, data=form, content_type="application/json").status_code == 415
    drain(runtime)
    assert _customer(engine, shop.account_id, "mc@example.com").consent == "unsubscribed"
    assert len(_rows(engine, audience)) == 1


def test_klaviyo_signed_and_forged(client, runtime, engine, box, account, shop):
    post_shopify(client, shop.external_id, "customers/create", sp.customer(7102, "kl@example.com"))
    klaviyo = _connection(engine, box, account, "klaviyo", KlaviyoSettings(api_key="pk_x", webhook_secret=SECRET))
    body = json.dumps({
        "data": [{
            "topic": "event:klaviyo.unsubscribed_from_email_marketing",
            "external_id": "4cZ7YsSzZ2p",
            "payload": {"data": {
                "type": "event", "id": "4cZ7YsSzZ2p",
                "attributes": {"timestamp": 1763716200, "datetime": "2026-11-21T09:10:00+00:00",
                               "event_properties": {"List": "Newsletter"}, "uuid": "c1f0c3a0-0000-4000-8000-000000000001"},
                "relationships": {"profile": {"data": {"type": "profile", "id": "01JPROFILE"}}},
            }, "included": [{"type": "profile", "id": "01JPROFILE", "attributes": {"email": "kl@example.com"}}]},
        }],
        "meta": {"klaviyo_account_id": "XyZ123", "klaviyo_webhook_id": "01JWEBHOOK", "timestamp": "2026-11-21T09:10:01+00:00"},
    }).encode()
    stamp = "1763716201"

    def post(secret: str):
        signature = hmac.new(secret.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
        return client.post(f"/webhooks/klaviyo/{klaviyo.id}", data=body, headers={
            "Content-Type": "application/json", "Klaviyo-Webhook-Id": "01JWEBHOOK",
            "Klaviyo-Timestamp": stamp, "Klaviyo-Signature": signature})

    assert post("wrong-secret-000000").status_code == 401
    assert post(SECRET).json == {"status": "stored"}
    drain(runtime)
    rows = _rows(engine, klaviyo)
    assert [(r.status, r.error) for r in rows] == [("done", "")]
    assert _customer(engine, shop.account_id, "kl@example.com").consent == "unsubscribed"
