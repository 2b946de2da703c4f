"""Fixtures: a fake Mailchimp per test, a Mailchimp connection on the real test database, and a
tiny HTTP endpoint that records the webhooks the fake fires (the receiver lives elsewhere)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from connectors.mailchimp.connector import MailchimpConnector
from connectors.mailchimp.fake import FakeMailchimp
from connectors.sdk import RetryPolicy
from integration.accounts import add_connection
from integration.connections import connector_for
from integration.models import Connection

WEBHOOK_SECRET = "s3cr3t-0f-th1s-c0nnect10n"


@pytest.fixture
def fake() -> Iterator[FakeMailchimp]:
    # A fresh list id per test: connections are unique by (platform, list id) in the shared database.
    with FakeMailchimp(seed=11, list_id=uuid.uuid4().hex[:10]) as server:
        yield server


@pytest.fixture
def no_wait() -> RetryPolicy:
    """The real retry policy, recording its pauses instead of sleeping through them."""
    return RetryPolicy(sleep=lambda seconds: None)


def settings_for(fake: FakeMailchimp, **extra) -> MailchimpConnector.Settings:
    return MailchimpConnector.Settings(api_key=fake.api_key, list_id=fake.list_id,
                                       api_url=fake.url, webhook_secret=WEBHOOK_SECRET, **extra)


@pytest.fixture
def make_connector(fake):
    """A connector on the fake outside any connection: ``make_connector(policy, **settings)``."""
    def make(policy: RetryPolicy | None = None, **extra) -> MailchimpConnector:
        return MailchimpConnector(settings_for(fake, **extra),
                                  policy=policy or RetryPolicy(sleep=lambda seconds: None))
    return make


@pytest.fixture
def connection(session, box, account, fake) -> Connection:
    plain, secrets = settings_for(fake).split()
    connection = add_connection(session, box, account, platform="mailchimp",
                                external_id=fake.list_id, credentials=secrets,
                                settings=plain)
    session.commit()
    return connection


@pytest.fixture
def connector(connection, box, no_wait) -> MailchimpConnector:
    return connector_for(connection, box, policy=no_wait)


@dataclass
class Captured:
    url: str = ""
    deliveries: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def webhook_sink() -> Iterator[Captured]:
    """Records (path, headers, raw body) of every POST; answers Mailchimp's validating GET."""
    captured = Captured()

    @Request.application
    def app(request: Request) -> Response:
        if request.method == "POST":
            captured.deliveries.append((request.path, dict(request.headers), request.get_data()))
        return Response("ok")

    server = make_server("127.0.0.1", 0, app, threaded=True)
    captured.url = f"http://127.0.0.1:{server.server_port}/webhooks/mailchimp"
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield captured
    server.shutdown()
    server.server_close()
