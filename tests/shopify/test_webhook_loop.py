"""The fake Shopify delivers signed webhooks to the subscriptions the install registered, and the
receiver (webhooks package) accepts and applies them; a wrongly signed delivery is refused."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select
from werkzeug.serving import make_server

from connectors.shopify.fake.store import CUSTOMER_BASE
from connectors.shopify.install import connect_shop
from integration.app import create_app
from integration.models import Customer, CustomerIdentity
from tests.shopify.conftest import settings_for
from webhooks.worker import drain


@pytest.fixture
def sadakat(settings):
    """The Sadakat app on a real port, as Shopify would reach it."""
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app.extensions["sadakat"]
    server.shutdown()
    app.extensions["sadakat"].close()


def test_webhooks_fired_by_the_fake_reach_the_receiver_and_are_applied(engine, box, session, fake, sadakat):
    url, runtime = sadakat
    installed = connect_shop(engine, box, settings_for(fake), public_url=url)
    fake.store.update_customer(8, firstName="Webhook")
    responses = fake.fire_webhook("customers/update", fake.store.rest_customer(8))
    assert [r.status_code for r in responses] == [200]
    assert fake.webhook_deliveries[0]["url"] == f"{url}/webhooks/shopify"
    assert drain(runtime) >= 1  # the inbox is shared with other tests of the session
    identity = session.exec(select(CustomerIdentity).where(
        CustomerIdentity.connection_id == installed.connection_id,
        CustomerIdentity.platform_id == str(CUSTOMER_BASE + 8))).one()
    assert session.get(Customer, identity.customer_id).first_name == "Webhook"

    fake.api_secret = "not-the-apps-secret"
    refused = fake.fire_webhook("customers/update", fake.store.rest_customer(9))
    assert [r.status_code for r in refused] == [401]
