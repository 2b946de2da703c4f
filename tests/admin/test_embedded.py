"""Signing in from inside Shopify admin with a session token (the embedded app)."""

from __future__ import annotations

import logging
import time
import uuid

import jwt
import pytest

from connectors.shopify.fake import FakeShopify
from connectors.shopify.session_token import InvalidSessionToken, verify_session_token
from integration.app import create_app
from integration.models import ConnectionStatus
from integration.settings import ShopifyAppSettings
from tests.factories import shop


@pytest.fixture
def fake() -> FakeShopify:
    """Only mints tokens (as Shopify admin would): no server needed."""
    return FakeShopify(customers=0, orders=0, shop=f"s-{uuid.uuid4().hex[:10]}.myshopify.com")


@pytest.fixture
def connected(session, box, fake):
    account, connection = shop(session, box)
    connection.external_id = fake.shop
    session.add(connection)
    session.commit()
    return account, connection


@pytest.fixture
def app(settings, fake):
    return create_app(settings.model_copy(update={
        "shopify": ShopifyAppSettings(api_key=fake.api_key, api_secret=fake.api_secret)}))


def verify(token: str, fake: FakeShopify):
    return verify_session_token(token, api_key=fake.api_key, api_secret=fake.api_secret)


def test_a_valid_token_names_the_shop_and_the_staff_member(fake):
    staff = verify(fake.session_token("1234"), fake)
    assert (staff.shop, staff.user_id) == (fake.shop, "1234")


@pytest.mark.parametrize("claims, reason", [
    ({"exp": int(time.time()) - 30, "nbf": int(time.time()) - 90}, "expired"),
    ({"nbf": int(time.time()) + 60}, "not valid yet"),
    ({"aud": "another-app"}, "another app"),
    ({"iss": "https://evil.myshopify.com/admin"}, "iss"),
    ({"dest": "https://evil.example.com", "iss": "https://evil.example.com/admin"}, "myshopify"),
    ({"sub": None}, "sub"),
])
def test_bad_claims_are_refused_with_the_reason(fake, claims, reason):
    token = fake.session_token(**claims)
    if claims.get("sub", "") is None:
        payload = jwt.decode(token, options={"verify_signature": False})
        del payload["sub"]
        token = jwt.encode(payload, fake.api_secret, algorithm="HS256")
    with pytest.raises(InvalidSessionToken, match=reason):
        verify(token, fake)


def test_a_few_seconds_of_clock_skew_are_allowed(fake):
    assert verify(fake.session_token(nbf=int(time.time()) + 5), fake).shop == fake.shop


def test_a_forged_signature_and_another_algorithm_are_refused(fake):
    payload = jwt.decode(fake.session_token(), options={"verify_signature": False})
    with pytest.raises(InvalidSessionToken, match="signature"):
        verify(jwt.encode(payload, "shpss_not0the0secret0of0the0sadakat0app", algorithm="HS256"), fake)
    with pytest.raises(InvalidSessionToken):
        verify(jwt.encode(payload, fake.api_secret * 2, algorithm="HS512"), fake)
    unsigned = jwt.encode(payload, None, algorithm="none")
    with pytest.raises(InvalidSessionToken):
        verify(unsigned, fake)


def test_id_token_signs_the_staff_member_in_to_the_shops_account(app, fake, connected):
    account, _ = connected
    client = app.test_client()
    page = client.get(f"/admin/?shop={fake.shop}&embedded=1&locale=tr-TR&id_token={fake.session_token('77')}")
    assert page.status_code == 200
    assert account.name in page.get_data(as_text=True) and "Pano" in page.get_data(as_text=True)
    assert page.headers["Content-Security-Policy"] == (
        f"frame-ancestors https://{fake.shop} https://admin.shopify.com")
    # the session carries on without a token, inside the same shop's frame
    assert client.get("/admin/customers").status_code == 200


def test_app_bridge_bearer_token_authenticates_a_fetch(app, fake, connected):
    response = app.test_client().get(
        "/admin/connections", headers={"Authorization": f"Bearer {fake.session_token()}"})
    assert response.status_code == 200


def test_refused_tokens_are_a_401_with_a_log_line(app, fake, connected, caplog):
    client = app.test_client()
    expired = fake.session_token(exp=int(time.time()) - 60, nbf=int(time.time()) - 120)
    with caplog.at_level(logging.WARNING, logger="integration.admin.embedded"):
        page = client.get(f"/admin/?id_token={expired}")
        fetch = client.get("/admin/", headers={"Authorization": f"Bearer {fake.session_token(aud='x')}"})
    assert page.status_code == 401 and "expired" in page.get_data(as_text=True)
    assert "X-Shopify-Retry-Invalid-Session-Request" not in page.headers
    assert fetch.status_code == 401 and fetch.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"
    assert "another app" in fetch.get_data(as_text=True)
    assert [r.getMessage() for r in caplog.records if "session token refused" in r.getMessage()]
    assert client.get("/admin/").status_code == 302  # nobody was signed in


def test_an_unknown_or_uninstalled_shop_is_refused(app, fake, connected, session):
    stranger = FakeShopify(customers=0, orders=0, shop="unknown-shop.myshopify.com")
    unknown = app.test_client().get(f"/admin/?id_token={stranger.session_token()}")
    assert unknown.status_code == 401 and "not a connected shop" in unknown.get_data(as_text=True)

    client = app.test_client()
    assert client.get(f"/admin/?id_token={fake.session_token()}").status_code == 200
    _, connection = connected
    connection.status = ConnectionStatus.DISABLED  # what an app/uninstalled webhook does
    session.add(connection)
    session.commit()
    assert client.get("/admin/").status_code == 302  # signed out with the shop
    assert app.test_client().get(f"/admin/?id_token={fake.session_token()}").status_code == 401


def test_password_sessions_may_not_be_framed(app, merchant):
    from tests.admin.test_pages import sign_in

    client = app.test_client()
    sign_in(client, merchant["email"])
    assert client.get("/admin/").headers["Content-Security-Policy"] == "frame-ancestors 'none'"


def test_a_framed_page_without_a_session_says_how_to_get_one_back(app):
    """Inside Shopify admin a lost cookie must not end in a blocked frame (the sign-in page may
    not be framed): the page says to reopen the app, which brings a fresh session token."""
    client = app.test_client()
    framed = client.get("/admin/customers", headers={"Sec-Fetch-Dest": "iframe"})
    assert framed.status_code == 401
    assert framed.headers["Content-Security-Policy"] == (
        "frame-ancestors https://admin.shopify.com https://*.myshopify.com")
    assert 'href="https://admin.shopify.com" target="_top"' in framed.get_data(as_text=True)
    assert "<form" not in framed.get_data(as_text=True)
    top = client.get("/admin/customers")  # a browser tab: to the sign-in page as before
    assert top.status_code == 302 and "/admin/login" in top.headers["Location"]


def test_cookies_work_in_the_iframe_over_https(settings):
    https = create_app(settings.model_copy(update={
        "server": settings.server.model_copy(update={"public_url": "https://loyalty.example.com"})}))
    assert (https.config["SESSION_COOKIE_SAMESITE"], https.config["SESSION_COOKIE_SECURE"],
            https.config["SESSION_COOKIE_PARTITIONED"]) == ("None", True, True)
    plain = create_app(settings)  # plain http: a Secure cookie would never come back
    assert not plain.config["SESSION_COOKIE_SECURE"]
