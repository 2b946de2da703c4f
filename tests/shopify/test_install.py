"""Installing the app: OAuth for the public app, token hand-over for a custom app."""

from __future__ import annotations

import urllib.parse

import pytest
import requests
from click.testing import CliRunner

from connectors.shopify.connector import WEBHOOK_TOPICS
from connectors.shopify.fake import oauth_hmac
from integration.app import create_app
from integration.cli import main
from integration.models import Account, Connection
from sqlmodel import select
from integration.settings import ShopifyAppSettings


@pytest.fixture
def client(settings, fake):
    app_settings = settings.model_copy(update={
        "shopify": ShopifyAppSettings(api_key=fake.api_key, api_secret=fake.api_secret),
        "server": settings.server.model_copy(update={"public_url": "http://sadakat.test"}),
    })
    app = create_app(app_settings)
    app.config["SHOPIFY_ENDPOINT"] = fake.url
    return app.test_client()


def _consent(client, fake) -> str:
    """Start the install and let the fake merchant approve; returns the callback path+query."""
    response = client.get(f"/auth/shopify/install?shop={fake.shop}")
    assert response.status_code == 302
    authorize = response.headers["Location"]
    assert authorize.startswith(f"{fake.url}/admin/oauth/authorize?")
    approved = requests.get(authorize, allow_redirects=False, timeout=10)
    assert approved.status_code == 302
    callback = urllib.parse.urlsplit(approved.headers["Location"])
    assert callback.path == "/auth/shopify/callback"
    return f"{callback.path}?{callback.query}"


def _installed(session, fake) -> Connection:
    session.expire_all()
    return session.exec(select(Connection).where(
        Connection.platform == "shopify", Connection.external_id == fake.shop)).one()


def test_oauth_install_stores_an_encrypted_token_and_registers_webhooks(client, fake, session, box):
    response = client.get(_consent(client, fake))
    # Installed: the merchant is sent to the app inside the Shopify admin.
    assert response.status_code == 302
    assert response.headers["Location"] == f"{fake.url}/admin/apps/{fake.api_key}"
    connection = _installed(session, fake)
    token = box.open(connection.credentials)["access_token"]
    assert token.startswith("shpat_") and token not in connection.credentials
    assert session.get(Account, connection.account_id).currency == "USD"
    assert {(w["topic"], w["uri"]) for w in fake.store.webhooks} == {
        (t, "http://sadakat.test/webhooks/shopify") for t in WEBHOOK_TOPICS}

    # Installing again reuses the connection and the account.
    assert client.get(_consent(client, fake)).status_code == 302
    again = _installed(session, fake)
    assert (again.id, again.account_id) == (connection.id, connection.account_id)


@pytest.mark.parametrize("shop", ["evil.example.com", "x.myshopify.com.evil.io", "", "-a.myshopify.com"])
def test_install_refuses_anything_but_a_myshopify_domain(client, shop):
    assert client.get(f"/auth/shopify/install?shop={shop}").status_code == 400


def test_callback_refuses_a_foreign_state(client, fake):
    path = _consent(client, fake)
    tampered = path.replace("state=", "state=x")
    assert client.get(tampered).status_code == 403


def test_callback_refuses_a_bad_hmac_and_a_replayed_state(client, fake):
    path = _consent(client, fake)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query))
    forged = {**query, "code": "attacker-code"}
    forged["hmac"] = oauth_hmac(forged, "not-the-secret")
    assert client.get("/auth/shopify/callback?" + urllib.parse.urlencode(forged)).status_code == 401
    # The state was spent by the refused attempt: the genuine redirect cannot be replayed.
    assert client.get(path).status_code == 403


def test_custom_app_connect_command(fake, settings, engine, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "{settings.database.url}"\n'
        f'[security]\nsecret_key = "{settings.security.secret_key}"\n'
        f'encryption_key = "{settings.security.encryption_key}"\n'
    )
    result = CliRunner().invoke(main, [
        "--config", str(config), "shopify", "connect", "--shop", fake.shop,
        "--token", fake.token, "--secret", fake.api_secret, "--endpoint", fake.url,
    ])
    assert result.exit_code == 0, result.output
    assert "connected" in result.output
    refused = CliRunner().invoke(main, [
        "--config", str(config), "shopify", "connect", "--shop", fake.shop,
        "--token", "shpat_revoked", "--secret", "s", "--endpoint", fake.url,
    ])
    assert refused.exit_code != 0 and "401" in refused.output
