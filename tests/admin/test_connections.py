"""The connections page: health figures from job runs and the inbox, and its two actions
against the real fakes (webhookSubscriptionCreate on the fake Shopify, the fake Mailchimp)."""

from __future__ import annotations

import urllib.parse
import uuid
from datetime import timedelta

import pytest
import requests

from connectors.mailchimp.fake import FakeMailchimp
from connectors.shopify.connector import WEBHOOK_TOPICS
from integration.accounts import add_connection
from integration.app import create_app
from integration.db import utcnow
from integration.models import Connection, ConnectionStatus, JobRun, RunStatus
from integration.settings import ShopifyAppSettings
from tests.admin.test_pages import csrf, sign_in
from tests.mailchimp.conftest import settings_for as mailchimp_settings
from webhooks.models import InboxDelivery

PUBLIC_URL = "http://sadakat.test"


@pytest.fixture
def fake(shopify_shop):
    return shopify_shop


@pytest.fixture
def app(settings, fake):
    return create_app(settings.model_copy(update={
        "shopify": ShopifyAppSettings(api_key=fake.api_key, api_secret=fake.api_secret),
        "server": settings.server.model_copy(update={"public_url": PUBLIC_URL}),
    }))


@pytest.fixture
def client(app, merchant):
    client = app.test_client()
    sign_in(client, merchant["email"])
    return client


def test_the_page_shows_runs_lag_throttles_and_errors(client, session, merchant, shopify_connection):
    now = utcnow()
    account_id = merchant["account"].id
    session.add_all([
        JobRun(job="sync", scope=f"connection:{shopify_connection}", account_id=account_id,
               connection_id=shopify_connection, status=RunStatus.SUCCEEDED, api_calls=12,
               counts={"throttled": 3, "retries": 3}, started_at=now - timedelta(hours=2),
               finished_at=now - timedelta(hours=2)),
        JobRun(job="push", scope=f"connection:{shopify_connection}", account_id=account_id,
               connection_id=shopify_connection, status=RunStatus.FAILED, api_calls=4,
               error="ApiError: metafieldsSet refused: too many\nTraceback ...",
               started_at=now - timedelta(minutes=5), finished_at=now - timedelta(minutes=5)),
        InboxDelivery(account_id=account_id, connection_id=shopify_connection, platform="shopify",
                      topic="orders/paid", delivery_id=uuid.uuid4().hex, body=b"{}",
                      received_at=now - timedelta(minutes=42)),
    ])
    session.commit()
    page = client.get("/admin/connections").get_data(as_text=True)
    assert f'id="connection-{shopify_connection}"' in page
    assert "16 calls" in page and "3 throttled" in page and "1 failed runs" in page
    assert "ApiError: metafieldsSet refused: too many" in page and "Traceback" not in page
    assert "42 min (1 waiting)" in page          # the oldest unprocessed webhook
    assert "2 h" in page                          # since the last successful sync
    turkish = client.get("/admin/connections?lang=tr").get_data(as_text=True)
    assert "Webhook&#39;ları yeniden kaydet" in turkish and "42 dk" in turkish


def test_register_webhooks_again_points_them_at_this_deployment(client, fake, shopify_connection):
    fake.store.webhooks.clear()  # the merchant deleted them in Shopify admin
    page = client.get("/admin/connections")
    response = client.post(f"/admin/connections/{shopify_connection}/webhooks",
                           data={"csrf_token": csrf(page.data)}, follow_redirects=True)
    assert response.status_code == 200
    assert "webhooks registered: " + ", ".join(WEBHOOK_TOPICS) in response.get_data(as_text=True)
    assert {(w["topic"], w["uri"]) for w in fake.store.webhooks} == {
        (t, f"{PUBLIC_URL}/webhooks/shopify") for t in WEBHOOK_TOPICS}


def test_a_refused_registration_is_shown_and_marks_the_connection(client, fake, session,
                                                                   shopify_connection):
    page = client.get("/admin/connections")
    fake.inject("401")
    response = client.post(f"/admin/connections/{shopify_connection}/webhooks",
                           data={"csrf_token": csrf(page.data)}, follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "registering webhooks failed: Shopify answered 401" in text
    session.expire_all()
    assert session.get(Connection, shopify_connection).status == ConnectionStatus.NEEDS_ATTENTION


def test_reconnecting_a_shop_runs_the_oauth_install_and_comes_back(
    client, fake, session, shopify_connection
):
    client.application.config["SHOPIFY_ENDPOINT"] = fake.url
    page = client.get("/admin/connections")
    response = client.post(f"/admin/connections/{shopify_connection}/reconnect",
                           data={"csrf_token": csrf(page.data)})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/auth/shopify/install?shop={fake.shop}"
    consent = client.get(response.headers["Location"])
    assert consent.headers["Location"].startswith(f"{fake.url}/admin/oauth/authorize?")
    approved = requests.get(consent.headers["Location"], allow_redirects=False, timeout=10)
    callback = urllib.parse.urlsplit(approved.headers["Location"])
    done = client.get(f"{callback.path}?{callback.query}")
    assert (done.status_code, done.headers["Location"]) == (302, "/admin/connections")
    session.expire_all()
    connection = session.get(Connection, shopify_connection)
    assert connection.status == ConnectionStatus.ACTIVE


def test_actions_need_csrf_and_stay_in_the_account(client, session, box, merchant, fake,
                                                   shopify_connection):
    assert client.post(f"/admin/connections/{shopify_connection}/webhooks").status_code == 400
    token = csrf(client.get("/admin/connections").data)
    other = session.exec(
        Connection.__table__.select().where(Connection.account_id == merchant["other"].id)).first()
    for action in ("webhooks", "reconnect"):
        response = client.post(f"/admin/connections/{other.id}/{action}", data={"csrf_token": token})
        assert response.status_code == 404, action
    assert client.get(f"/admin/connections/{other.id}/reconnect").status_code == 404


@pytest.fixture
def mailchimp(session, box, merchant):
    with FakeMailchimp(seed=3, list_id=uuid.uuid4().hex[:10]) as server:
        plain, secrets = mailchimp_settings(server).split()
        secrets["api_key"] = "revoked-key-us1"
        connection = add_connection(session, box, merchant["account"], platform="mailchimp",
                                    external_id=server.list_id, credentials=secrets, settings=plain)
        connection.status = ConnectionStatus.NEEDS_ATTENTION
        session.commit()
        yield server, connection


def test_new_keys_replace_the_old_ones_after_the_platform_accepts_them(client, session, box,
                                                                       mailchimp):
    server, connection = mailchimp
    form = client.get(f"/admin/connections/{connection.id}/reconnect")
    assert 'name="api_key"' in form.get_data(as_text=True)
    refused = client.post(f"/admin/connections/{connection.id}/reconnect",
                          data={"csrf_token": csrf(form.data), "api_key": "wrong-key-us1"})
    assert refused.status_code == 422 and "the platform refused them" in refused.get_data(as_text=True)
    accepted = client.post(f"/admin/connections/{connection.id}/reconnect",
                           data={"csrf_token": csrf(form.data), "api_key": server.api_key})
    assert accepted.status_code == 302
    session.expire_all()
    stored = session.get(Connection, connection.id)
    assert stored.status == ConnectionStatus.ACTIVE and server.api_key not in stored.credentials
    credentials = box.open(stored.credentials)
    assert credentials["api_key"] == server.api_key
    assert credentials["webhook_secret"]  # a field left empty kept the stored secret
