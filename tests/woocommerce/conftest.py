"""Fixtures for the WooCommerce tests: the fake site, a connection to it, and a real Sadakat
web server (the app factory with the real webhook receiver) on a real port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from flask import Flask
from werkzeug.serving import make_server

from connectors.sdk import RetryPolicy
from connectors.woocommerce.connector import WooCommerceConnector, WooCommerceSettings
from connectors.woocommerce.fake import FakeWooCommerce
from connectors.woocommerce.setup import save_connection
from integration.app import create_app
from integration.connections import connector_for
from integration.db import write_session
from integration.models import Account, Connection
from integration.settings import ServerSettings
from webhooks.worker import drain


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
class Gate:
    """The network in front of the real receiver: ``down`` answers 503 as a server that is down
    would; ``statuses`` keeps what the receiver answered."""

    down: bool = False
    statuses: list[int] = field(default_factory=list)


@dataclass
class Server:
    url: str
    app: Flask
    gate: Gate

    def process(self) -> int:
        """Run the inbox worker over what the receiver stored."""
        return drain(self.app.extensions["sadakat"])


@pytest.fixture
def server(settings, engine, box) -> Iterator[Server]:
    gate = Gate()
    holder: dict[str, Flask] = {}

    def wsgi(environ, start_response):
        if gate.down:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"down"]

        def recording_start(status, headers, *args):
            gate.statuses.append(int(status.split()[0]))
            return start_response(status, headers, *args)

        return holder["app"](environ, recording_start)

    http = make_server("127.0.0.1", 0, wsgi, threaded=True)
    url = f"http://127.0.0.1:{http.server_port}"
    app = create_app(settings.model_copy(update={"server": ServerSettings(public_url=url)}))
    holder["app"] = app
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield Server(url, app, gate)
    http.shutdown()
    thread.join()
    app.extensions["sadakat"].close()
