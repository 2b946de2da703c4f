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


# -- adding a connection ------------------------------------------------------------------------

@pytest.fixture
def audience():
    with FakeMailchimp(seed=4, list_id=uuid.uuid4().hex[:10]) as server:
        yield server


def rows(session, platform: str, external_id: str) -> list:
    session.rollback()  # a fresh snapshot: the app wrote in its own transactions
    return session.exec(Connection.__table__.select().where(
        Connection.platform == platform, Connection.external_id == external_id)).all()


def mailchimp_form(token: str, server: FakeMailchimp, **changes: str) -> dict[str, str]:
    return {"csrf_token": token, "api_key": server.api_key, "list_id": server.list_id,
            "api_url": server.url, "webhook_secret": "an-unguessable-webhook-secret", **changes}


def test_a_mailchimp_audience_is_added_from_the_form_its_settings_make(client, session, box,
                                                                       merchant, audience):
    listing = client.get("/admin/connections").get_data(as_text=True)
    assert 'href="/admin/connections/new"' in listing
    picker = client.get("/admin/connections/new").get_data(as_text=True)
    assert 'href="/admin/connections/new/mailchimp"' in picker
    assert 'href="/admin/connections/new/klaviyo"' in picker
    assert 'href="/admin/connections/new/shopify"' not in picker  # its own form instead
    form = client.get("/admin/connections/new/mailchimp")
    text = form.get_data(as_text=True)
    assert 'type="password" name="api_key"' in text and 'name="list_id" value=""' in text
    assert 'placeholder="5"' in text  # max_connections' default
    token = csrf(form.data)

    missing = client.post("/admin/connections/new/mailchimp",
                          data=mailchimp_form(token, audience, list_id="", max_connections="50"))
    page = missing.get_data(as_text=True)
    assert missing.status_code == 422 and "Field required" in page and "less than or equal to 10" in page
    assert audience.api_key not in page  # a secret is never sent back
    refused = client.post("/admin/connections/new/mailchimp",
                          data=mailchimp_form(token, audience, api_key="0123456789abcdef-us21"))
    assert refused.status_code == 422 and "the platform refused them" in refused.get_data(as_text=True)
    assert rows(session, "mailchimp", audience.list_id) == []

    added = client.post("/admin/connections/new/mailchimp", data=mailchimp_form(token, audience),
                        follow_redirects=True)
    text = added.get_data(as_text=True)
    assert added.status_code == 200 and f"mailchimp {audience.list_id}: connected" in text
    assert "webhooks registered: " in text
    [stored] = rows(session, "mailchimp", audience.list_id)
    assert stored.account_id == merchant["account"].id
    assert box.open(stored.credentials)["api_key"] == audience.api_key
    [hook] = audience.audience.webhooks
    assert hook["url"].startswith(f"{PUBLIC_URL}/webhooks/mailchimp/{stored.id}/")

    again = client.post("/admin/connections/new/mailchimp", data=mailchimp_form(token, audience),
                        follow_redirects=True)
    assert "new credentials saved" in again.get_data(as_text=True)
    assert len(rows(session, "mailchimp", audience.list_id)) == 1


def test_adding_needs_csrf_refuses_another_programs_audience_and_speaks_turkish(
    client, session, box, merchant, audience
):
    assert client.post("/admin/connections/new/mailchimp",
                       data=mailchimp_form("", audience)).status_code == 400
    plain, secrets = mailchimp_settings(audience).split()
    add_connection(session, box, merchant["other"], platform="mailchimp",
                   external_id=audience.list_id, credentials=secrets, settings=plain)
    session.commit()
    token = csrf(client.get("/admin/connections/new/mailchimp").data)
    taken = client.post("/admin/connections/new/mailchimp", data=mailchimp_form(token, audience))
    assert taken.status_code == 422
    assert "already connected to another loyalty program" in taken.get_data(as_text=True)
    turkish = client.get("/admin/connections/new?lang=tr").get_data(as_text=True)
    assert "Bağlantı ekle" in turkish and "Sitede yetkilendir" in turkish
    assert client.get("/admin/connections/new/no-such-platform").status_code == 404
    assert client.get("/admin/connections/new/woocommerce").status_code == 302


def test_a_shop_added_from_the_admin_is_installed_into_this_account(client, fake, session, merchant):
    client.application.config["SHOPIFY_ENDPOINT"] = fake.url
    token = csrf(client.get("/admin/connections/new").data)
    wrong = client.post("/admin/connections/new/shopify", data={"csrf_token": token, "shop": "evil.example"})
    assert wrong.status_code == 422 and "is not a shop domain" in wrong.get_data(as_text=True)
    started = client.post("/admin/connections/new/shopify", data={"csrf_token": token, "shop": fake.shop})
    assert started.headers["Location"] == f"/auth/shopify/install?shop={fake.shop}"
    consent = client.get(started.headers["Location"])
    approved = requests.get(consent.headers["Location"], allow_redirects=False, timeout=10)
    callback = urllib.parse.urlsplit(approved.headers["Location"])
    done = client.get(f"{callback.path}?{callback.query}")
    assert (done.status_code, done.headers["Location"]) == (302, "/admin/connections")
    [stored] = rows(session, "shopify", fake.shop)
    assert stored.account_id == merchant["account"].id


def test_a_woocommerce_site_is_sent_to_its_authorization_for_this_account(client, session, merchant):
    from connectors.woocommerce.models import WooAuthRequest

    token = csrf(client.get("/admin/connections/new").data)
    site = f"http://{uuid.uuid4().hex[:8]}.shop.test"
    insecure = client.post("/admin/connections/new/woocommerce", data={"csrf_token": token, "site": site})
    assert insecure.status_code == 422 and "http://" in insecure.get_data(as_text=True)
    sent = client.post("/admin/connections/new/woocommerce",
                       data={"csrf_token": token, "site": site, "allow_insecure_http": "1"})
    assert sent.status_code == 302 and sent.headers["Location"].startswith(f"{site}/wc-auth/v1/authorize?")
    session.rollback()
    pending = session.exec(WooAuthRequest.__table__.select().where(WooAuthRequest.site_url == site)).one()
    assert pending.account_id == merchant["account"].id
    # The site sends the merchant back to the admin, which shows how it went.
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(sent.headers["Location"]).query)
    assert query["return_url"] == [f"{PUBLIC_URL}/admin/connections/woocommerce/return"]
    declined = client.get(f"/admin/connections/woocommerce/return?success=0&user_id={pending.nonce}")
    assert (declined.status_code, declined.headers["Location"]) == (302, "/admin/connections")
    page = client.get("/admin/connections").get_data(as_text=True)
    assert "the store did not grant access; nothing was connected" in page
