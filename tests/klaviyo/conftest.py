"""A Klaviyo connection on the real test database, talking to the fake Klaviyo over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from connectors.klaviyo.connector import KlaviyoConnector
from connectors.klaviyo.fake import FakeKlaviyo
from connectors.sdk import RetryPolicy
from integration.accounts import add_connection
from integration import connections
from integration.events import apply_event
from integration.models import Account, Connection
from integration.records import CustomerRecord, CustomerUpserted

API_KEY = "pk_test_sadakat"
WEBHOOK_SECRET = "whsec-klaviyo-0123456789"


@dataclass
class Sleeps:
    """Records the policy's waits instead of sleeping, so tests stay fast."""

    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def fake() -> Iterator[FakeKlaviyo]:
    with FakeKlaviyo(seed=7, profiles=60, api_key=API_KEY, account_id=uuid.uuid4().hex[:6],
                     job_delay=0.01) as fake:
        yield fake


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def _connect(engine: Engine, session: Session, box, account: Account, fake: FakeKlaviyo,
             policy: RetryPolicy | None = None) -> tuple[Connection, KlaviyoConnector]:
    """Connected the way a merchant does it (``sadakat connect``, the admin's form)."""
    connected = connections.connect(engine, box, account.id, "klaviyo", {
        "api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET, "base_url": fake.url,
        "poll_interval": 0.01,
    })
    connection = session.get(Connection, connected.connection_id)
    connector = connections.connector_for(connection, box, policy=policy)
    assert isinstance(connector, KlaviyoConnector)
    return connection, connector


@pytest.fixture
def connect(engine, session, box, account):
    """``connect(fake, policy)`` → (connection, connector) for this test's account."""
    return lambda fake, policy=None: _connect(engine, session, box, account, fake, policy)


@pytest.fixture
def klaviyo(connect, fake, sleeps) -> tuple[Connection, KlaviyoConnector]:
    return connect(fake, RetryPolicy(sleep=sleeps))


@pytest.fixture
def store_customers(session, box, account):
    """``store_customers(emails)`` → customer ids, as a store connection would bring them."""
    return lambda emails: _store_customers(session, box, account, emails)


def _store_customers(session: Session, box, account: Account, emails: list[str]) -> list[int]:
    """Customers as a store connection would bring them (the e-mail platform never creates any)."""
    store = add_connection(session, box, account, platform="store",
                           external_id=f"store-{account.id}", credentials={"token": "x"})
    ids = []
    for n, email in enumerate(emails):
        outcome = apply_event(session, account, store, CustomerUpserted(
            customer=CustomerRecord(platform_id=f"c{n}", email=email)))
        ids.extend(outcome.customer_ids)
    session.commit()
    return ids
