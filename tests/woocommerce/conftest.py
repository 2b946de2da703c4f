"""Fixtures for the WooCommerce tests: the fake site, a connection to it, and a real Sadakat
web server (the app factory plus a stand-in webhook receiver) on a real port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from flask import Flask, request
from werkzeug.serving import make_server

from connectors.sdk import RetryPolicy
from connectors.woocommerce.connector import WooCommerceConnector, WooCommerceSettings
from connectors.woocommerce.fake import FakeWooCommerce
from connectors.woocommerce.setup import save_connection
from integration.app import create_app
from integration.connections import connector_for
from integration.db import write_session
from integration.events import apply_event
from integration.models import Account, Connection
from integration.settings import ServerSettings


def fast_policy(attempts: int = 6) -> RetryPolicy:
    """The real retry policy without the waiting."""
    return RetryPolicy(attempts=attempts, sleep=lambda seconds: None)


@pytest.fixture
def fake() -> Iterator[FakeWooCommerce]:
    with FakeWooCommerce(seed=11, customers=120, orders=150) as site:
        yield site


@pytest.fixture
def connection(engine, box, account, fake) -> Connection:
    settings = WooCommerceSettings(
        url=fake.url, consumer_key=fake.default_key.consumer_key,
        consumer_secret=fake.default_key.consumer_secret, allow_insecure_http=True, timeout=5,
    )
    with write_session(engine) as session:
        return save_connection(session, box, session.get(Account, account.id), settings)


@pytest.fixture
def connector(connection, box) -> WooCommerceConnector:
    return connector_for(connection, box, fast_policy())


@dataclass
class Receiver:
    """Stands in for the ``webhooks`` branch's receiver: verify with the connection's secrets,
    deduplicate by the handler's delivery id, apply the parsed events. ``fail`` answers 500."""

    engine: object
    box: object
    fail: bool = False
    seen: set[str] = field(default_factory=set)
    accepted: list[str] = field(default_factory=list)
    rejected: int = 0

    def handle(self, connection_id: int):
        if self.fail:
            return "down", 500
        handler = WooCommerceConnector.webhooks
        body = request.get_data()
        delivery = handler.identify(request.headers, body)
        with write_session(self.engine) as session:
            connection = session.get(Connection, connection_id)
            secrets = connector_for(connection, self.box).webhook_secrets()
            if not handler.verify(request.headers, body, secrets):
                self.rejected += 1
                return "bad signature", 401
            if delivery.delivery_id in self.seen:
                return "duplicate", 200
            account = session.get(Account, connection.account_id)
            for event in handler.parse(delivery.topic, body):
                apply_event(session, account, connection, event)
        self.seen.add(delivery.delivery_id)
        self.accepted.append(delivery.topic)
        return "ok", 200


@dataclass
class Server:
    url: str
    app: Flask
    receiver: Receiver


@pytest.fixture
def server(settings, engine, box) -> Iterator[Server]:
    holder: dict[str, Flask] = {}
    receiver = Receiver(engine, box)
    # The app's own receiver (webhooks package) owns /webhooks/...; these tests keep their
    # stand-in, which applies deliveries at once and can play an outage, on a path dispatcher.
    stand_in = Flask("woocommerce_receiver_stand_in")
    stand_in.add_url_rule("/webhooks/woocommerce/<int:connection_id>", "receive",
                          receiver.handle, methods=["POST"])

    def dispatch(env, start):
        to_stand_in = env.get("PATH_INFO", "").startswith("/webhooks/woocommerce/")
        return (stand_in if to_stand_in else holder["app"])(env, start)

    http = make_server("127.0.0.1", 0, dispatch, threaded=True)
    url = f"http://127.0.0.1:{http.server_port}"
    app = create_app(settings.model_copy(update={"server": ServerSettings(public_url=url)}))
    holder["app"] = app
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield Server(url, app, receiver)
    http.shutdown()
    thread.join()
    app.extensions["sadakat"].close()
