"""The connector conformance suite: one pytest class every connector's tests subclass.

A connector proves it keeps the contract by running these tests against its own fake server::

    from connectors.sdk.conformance import ConnectorConformance

    class TestAcmeConformance(ConnectorConformance):
        connector_class = AcmeConnector

        def start_fake(self):                       # a context manager yielding a running fake
            return FakeAcme(seed=1, customers=30, orders=45)

        def settings_for(self, fake):               # valid settings (secrets included)
            return {"base_url": fake.url, "api_key": fake.api_key}

        def bad_settings(self, fake):               # values your Settings must refuse
            return [{"base_url": "ftp://x", "api_key": fake.api_key}]

        def inject_rate_limit(self, fake, retry_after):   # the next call answers 429
            fake.rate_limit(retry_after=retry_after)

        # WEBHOOKS:        signed_webhook(fake, connector) -> (headers, body)
        # PUSH_ATTRIBUTES: remote_attributes(fake, contact) -> what the platform stores
        # optional: rate_limited_call, stale_webhook, make_connector, prepare_push; class
        # attributes min_pages, max_pages, max_replayed_pages, rate_limit_wait, signs_body
        # (docs/connectors.md, "The conformance suite", has the table)

What is checked (tests for capabilities the connector does not declare are skipped):

- the declaration is complete and the entry point in group ``sadakat.connectors`` loads it;
- settings validate, round-trip through the encrypted storage split, and refuse bad values;
- webhook signatures verify (also during a secret rotation) and forgeries fail: changed body,
  wrong secret, missing headers, and a stale timestamp if ``stale_webhook`` is supplied; parsed
  events survive the inbox's JSON round trip; an unreadable payload raises ``ValueError``;
- pulls yield records with platform ids, page cursors advance, and an incremental run from the
  last cursor does not re-read everything;
- a sync interrupted after two committed pages resumes from its cursor: nothing missing, no
  duplicates (through ``integration.sync.sync_stream``, the runner the scheduler uses);
- attribute pushes (through ``integration.push.push_attributes``) send what the platform then
  stores, send nothing and make no API call when nothing changed, and send only the customer
  that changed;
- a 429 with ``Retry-After`` is retried after the platform's wait, through the shared
  ``RetryPolicy`` (the suite records waits instead of sleeping).

The database: if the test session defines a ``migrated_engine`` fixture (Sadakat's own tests
do, on SQLite or PostgreSQL), it is used; otherwise each test class gets a migrated SQLite file.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from itertools import islice
from typing import Any, ClassVar

import pytest
from pydantic import TypeAdapter
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import select

from connectors.sdk.base import (
    Capability,
    Connector,
    ConnectorSettings,
    ContactRef,
    InvalidSettings,
    WebhookHandler,
    WebhookRejected,
)
from connectors.sdk.http import RetryPolicy
from connectors.sdk.registry import installed
from integration.accounts import add_connection, create_account
from integration.crypto import SecretBox
from integration.db import make_engine, read_session, write_session
from integration.ledger import adjust
from integration.migrate import upgrade
from integration.models import Connection, Customer, CustomerIdentity, Order
from integration.push import push_attributes
from integration.records import AnyEvent, ContactRecord, CustomerRecord, Event, OrderRecord
from integration.settings import generate_key
from integration.sync import sync_stream

# The method each capability promises; a declared capability must come with its method.
CAPABILITY_METHODS = {
    Capability.PULL: "pull",
    Capability.PUSH_ATTRIBUTES: "push_attributes",
    Capability.PUSH_SEGMENTS: "push_segment",
    Capability.PUSH_EVENTS: "push_events",
    Capability.ISSUE_REWARDS: "issue_reward",
    Capability.ERASE: "erase_contact",
}


class Interrupted(Exception):
    """Raised from the sync runner's page callback to simulate a crash after a committed page."""


def forged_secret(secret: str) -> str:
    """A secret of the same shape that is not the real one (same length, same alphabet)."""
    tail = "AAAA" if not secret.endswith("AAAA") else "BBBB"
    return secret[:-4] + tail if len(secret) > 4 else secret + "x"


def refused(handler: WebhookHandler, headers: Mapping[str, str], body: bytes,
            secrets: list[str]) -> bool:
    """``verify`` said no, by returning False or by raising ``WebhookRejected``."""
    try:
        return not handler.verify(headers, body, secrets)
    except WebhookRejected:
        return True


def record_id(record: Any) -> str:
    if isinstance(record, ContactRecord):
        return record.platform_id or record.email or ""
    return record.platform_id or ""


class ConnectorConformance:
    """Subclass with ``connector_class`` and the hooks below; name the subclass ``Test...``."""

    connector_class: ClassVar[type[Connector]]
    # A full pull must span at least this many pages for the resume test to mean anything:
    # seed the fake with enough records (or use a small page size in ``settings_for``).
    min_pages: ClassVar[int] = 3
    # A pull of the fake that goes on longer than this is a connector that never stops.
    max_pages: ClassVar[int] = 1000
    # How many pages a resumed sync may read again (a lag window that re-reads recent changes
    # on purpose may need more than the one page a crash can replay).
    max_replayed_pages: ClassVar[int] = 1
    rate_limit_wait: ClassVar[int] = 2
    # False for schemes that authenticate the sender but do not sign the body (a secret in
    # the URL): the changed-body forgery is then not checked.
    signs_body: ClassVar[bool] = True

    # -- hooks the subclass supplies ---------------------------------------------------------

    def start_fake(self) -> AbstractContextManager[Any]:
        """A context manager that starts the fake platform and yields it (it must not be
        entered yet; the suite enters it once per test)."""
        raise NotImplementedError("return your fake server, e.g. FakeAcme(seed=1)")

    def settings_for(self, fake: Any) -> dict[str, Any]:
        """Valid settings input for a connection to ``fake``, secrets included."""
        raise NotImplementedError("return valid settings for the fake")

    def bad_settings(self, fake: Any) -> list[dict[str, Any]]:
        """Complete settings inputs your ``Settings`` must refuse (bad URL, short key...).
        The suite adds its own: each required field missing, and an unknown key."""
        raise NotImplementedError("return at least one settings input your Settings refuse")

    def inject_rate_limit(self, fake: Any, retry_after: int) -> float | None:
        """Make the fake answer the next request with 429 and ``Retry-After: retry_after``, or
        with the platform's own throttle signal (Shopify's cost budget). Return the least wait
        the connector must then take, if it is not ``retry_after``."""
        raise NotImplementedError("make the fake answer its next request with 429")

    def rate_limited_call(self, connector: Connector) -> None:
        """The call that meets the injected 429: the first page of the first stream, or
        ``check()`` for connectors that do not pull."""
        if Capability.PULL in connector.capabilities:
            next(iter(connector.pull(connector.streams[0], None)))
        else:
            connector.check()

    def signed_webhook(self, fake: Any, connector: Connector) -> tuple[Mapping[str, str], bytes]:
        """(headers, raw body) of a genuine delivery signed with the connection's secret,
        about a record the connector can parse (WEBHOOKS only)."""
        raise NotImplementedError("return a delivery signed as the platform signs it")

    def stale_webhook(self, fake: Any, connector: Connector) -> tuple[Mapping[str, str], bytes] | None:
        """A correctly signed delivery whose timestamp is outside the tolerance, if the
        platform's scheme has one (Standard Webhooks does; Shopify's does not)."""
        return None

    def remote_attributes(self, fake: Any, contact: ContactRef) -> Mapping[str, Any]:
        """What the fake platform now stores as loyalty attributes of ``contact``
        (PUSH_ATTRIBUTES only)."""
        raise NotImplementedError("return the attributes the fake holds for the contact")

    def make_connector(self, plain: Mapping[str, Any], secrets: Mapping[str, Any],
                       policy: RetryPolicy) -> Connector:
        """The connector under test, rebuilt from stored settings as the core does. Override to
        tune what is not a setting (e.g. a smaller page size so the fake spans several pages)."""
        return self.connector_class.from_stored(plain, secrets, policy=policy)

    def prepare_push(self, engine: Engine, connection_id: int, connector: Connector, fake: Any) -> None:
        """Put customers the connection can address into the database (the first two get
        points). The default syncs the connector's streams; an email platform whose contacts
        never create customers overrides this, e.g. applies ``CustomerUpserted`` events for some
        of the fake's contacts and then syncs so they are linked."""
        for stream in connector.streams:
            sync_stream(engine, connection_id, connector, stream, full=True)

    # -- fixtures ----------------------------------------------------------------------------

    @pytest.fixture(scope="class")
    @classmethod
    def conformance_engine(cls, request: pytest.FixtureRequest,
                           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
        try:
            yield request.getfixturevalue("migrated_engine")
            return
        except pytest.FixtureLookupError:
            pass
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('conformance') / 'sadakat.db'}")
        upgrade(engine)
        yield engine
        engine.dispose()

    @pytest.fixture(scope="class")
    @classmethod
    def conformance_box(cls) -> SecretBox:
        return SecretBox(generate_key())

    @pytest.fixture
    def fake(self) -> Iterator[Any]:
        with self.start_fake() as running:
            yield running

    @pytest.fixture
    def waits(self) -> list[float]:
        """Every wait the retry policy asked for, in seconds (it records instead of sleeping)."""
        return []

    @pytest.fixture
    def settings(self, fake: Any) -> ConnectorSettings:
        return self.connector_class.Settings.from_input(self.settings_for(fake), self.connector_class.name)

    @pytest.fixture
    def connector(self, settings: ConnectorSettings, waits: list[float]) -> Connector:
        plain, secrets = settings.split()
        return self.make_connector(plain, secrets, RetryPolicy(sleep=waits.append))

    @pytest.fixture
    def connection_id(self, conformance_engine: Engine, conformance_box: SecretBox,
                      connector: Connector) -> int:
        """A fresh account with one connection to the fake, stored as the core stores it."""
        plain, secrets = connector.settings.split()
        with write_session(conformance_engine) as session:
            account = create_account(session, f"conformance {uuid.uuid4().hex[:8]}")
            connection = add_connection(
                session, conformance_box, account, platform=connector.name,
                # unique per test: several tests may meet the same fake port in one database
                external_id=f"{connector.external_id()}#{uuid.uuid4().hex[:8]}",
                credentials=secrets, settings=plain,
            )
            return connection.id

    def _pull_all(self, connector: Connector, stream: str, cursor: str | None) -> list[Any]:
        pages = list(islice(connector.pull(stream, cursor), self.max_pages + 1))
        assert len(pages) <= self.max_pages, (
            f"{stream}: the pull did not stop after {self.max_pages} pages; does the cursor "
            "advance? (a JsonCursorPaginator/LinkHeaderPaginator raises PaginationLoop instead)")
        return pages

    def _require(self, capability: Capability) -> None:
        if capability not in self.connector_class.capabilities:
            pytest.skip(f"{self.connector_class.name} does not declare {capability}")

    # -- declaration and discovery -----------------------------------------------------------

    def test_declaration_is_complete(self) -> None:
        cls = self.connector_class
        assert isinstance(cls.name, str) and cls.name.isidentifier(), "name must be an identifier"
        assert cls.version and cls.version != "0", "declare the connector's version"
        assert issubclass(cls.Settings, ConnectorSettings) and cls.Settings is not ConnectorSettings
        assert cls.capabilities <= set(Capability)
        assert cls.push_batch_size >= 1
        for capability, method in CAPABILITY_METHODS.items():
            if capability in cls.capabilities:
                assert getattr(cls, method) is not getattr(Connector, method), (
                    f"{cls.name} declares {capability} but does not implement {method}()")
        if Capability.PULL in cls.capabilities:
            assert cls.streams, "a connector that pulls declares its streams"
        if Capability.WEBHOOKS in cls.capabilities:
            assert isinstance(cls.webhooks, WebhookHandler), "WEBHOOKS needs a WebhookHandler"
            assert cls.webhooks.platform == cls.name

    def test_discovered_through_entry_point(self) -> None:
        installed.cache_clear()
        found = {item.name: item for item in installed()}
        item = found.get(self.connector_class.name)
        assert item is not None, (
            f"no entry point {self.connector_class.name!r} in group 'sadakat.connectors': "
            "declare it in pyproject.toml and pip install the package")
        assert not item.error, item.error
        assert item.connector is self.connector_class

    # -- settings ----------------------------------------------------------------------------

    def test_settings_validate_and_round_trip(self, fake: Any, settings: ConnectorSettings) -> None:
        plain, secrets = settings.split()
        json.dumps(plain)  # stored as JSON on the connection
        assert set(secrets) == settings.secret_fields()
        for value in secrets.values():
            if value:
                assert str(value) not in repr(settings) and str(value) not in json.dumps(plain)
        rebuilt = self.connector_class.from_stored(plain, secrets)
        assert rebuilt.settings == settings

    def test_settings_reject_bad_values(self, fake: Any) -> None:
        good = self.settings_for(fake)
        cases = list(self.bad_settings(fake))
        assert cases, "bad_settings must return at least one input your Settings refuse"
        for field in self.connector_class.Settings.fields():
            if field.required:
                cases.append({k: v for k, v in good.items() if k != field.name})
        cases.append({**good, "no_such_setting": 1})
        for case in cases:
            with pytest.raises(InvalidSettings):
                self.connector_class.Settings.from_input(case, self.connector_class.name)

    # -- webhooks ----------------------------------------------------------------------------

    def test_webhook_signature_verifies(self, fake: Any, connector: Connector) -> None:
        self._require(Capability.WEBHOOKS)
        handler = self.connector_class.webhooks
        headers, body = self.signed_webhook(fake, connector)
        delivery = handler.identify(headers, body)
        assert delivery.topic and delivery.delivery_id
        secrets = connector.webhook_secrets()
        assert secrets, "webhook_secrets() must return the connection's signing secret(s)"
        assert handler.verify(headers, body, secrets)
        # during a rotation the old secret comes second and must still be accepted
        assert handler.verify(headers, body, [forged_secret(secrets[0]), *secrets])

    def test_webhook_forgeries_fail(self, fake: Any, connector: Connector) -> None:
        self._require(Capability.WEBHOOKS)
        handler = self.connector_class.webhooks
        secrets = connector.webhook_secrets()
        headers, body = self.signed_webhook(fake, connector)
        if self.signs_body:
            tampered = body.replace(b"}", b" }", 1) if b"}" in body else body + b" "
            assert refused(handler, headers, tampered, secrets), "a changed body must fail"
        assert refused(handler, headers, body, [forged_secret(s) for s in secrets]), (
            "a delivery signed with another secret must fail")
        assert refused(handler, {}, body, secrets), "a delivery without headers must fail"
        stale = self.stale_webhook(fake, connector)
        if stale is not None:
            assert refused(handler, stale[0], stale[1], secrets), "a stale timestamp must fail"

    def test_webhook_parses_to_events(self, fake: Any, connector: Connector) -> None:
        self._require(Capability.WEBHOOKS)
        handler = self.connector_class.webhooks
        headers, body = self.signed_webhook(fake, connector)
        topic = handler.identify(headers, body).topic
        events = handler.parse(topic, body)
        assert events and all(isinstance(e, Event) for e in events)
        adapter = TypeAdapter(AnyEvent)
        for event in events:  # the inbox stores events as JSON and replays them
            assert adapter.validate_json(event.model_dump_json()) == event
        with pytest.raises(ValueError):
            handler.parse(topic, b"{not json")

    # -- pulls -------------------------------------------------------------------------------

    def test_pull_yields_records_with_ids_and_advancing_cursors(self, connector: Connector) -> None:
        self._require(Capability.PULL)
        for stream in connector.streams:
            pages = self._pull_all(connector, stream, None)
            assert len(pages) >= self.min_pages, (
                f"{stream}: {len(pages)} pages; seed the fake with enough records for "
                f"{self.min_pages} pages so paging and resuming are exercised")
            ids: list[str] = []
            cursors: list[str] = []
            for page in pages:
                assert isinstance(page.cursor, str) and page.cursor, f"{stream}: every page has a cursor"
                for record in page.records:
                    assert isinstance(record, CustomerRecord | OrderRecord | ContactRecord)
                    assert record_id(record), f"{stream}: a record without a platform id: {record}"
                    ids.append(record_id(record))
                cursors.append(page.cursor)
            assert len(ids) == len(set(ids)), f"{stream}: a full pull returned a record twice"
            assert len(set(cursors)) == len(cursors), f"{stream}: the cursor did not advance"
            again = sum(len(p.records) for p in self._pull_all(connector, stream, cursors[-1]))
            assert again < len(ids), f"{stream}: resuming from the last cursor re-read everything"

    def test_sync_resumes_after_interruption_without_duplicates(
        self, conformance_engine: Engine, connection_id: int, connector: Connector
    ) -> None:
        self._require(Capability.PULL)
        for stream in connector.streams:
            full = self._pull_all(connector, stream, None)
            expected = {record_id(r) for page in full for r in page.records}
            largest_page = max(len(page.records) for page in full)
            seen: list[str] = []
            committed_pages = 0

            def crash_after_two(page: Any) -> None:
                nonlocal committed_pages
                seen.extend(record_id(r) for r in page.records)
                committed_pages += 1
                if committed_pages == 2:
                    raise Interrupted  # the process "dies" right after the second commit

            with pytest.raises(Interrupted):
                sync_stream(conformance_engine, connection_id, connector, stream, on_page=crash_after_two)
            first_run = set(seen)
            resumed = sync_stream(conformance_engine, connection_id, connector, stream,
                                  on_page=lambda page: seen.extend(record_id(r) for r in page.records))
            assert set(seen) == expected, f"{stream}: records missing after resuming"
            assert resumed.records <= len(expected - first_run) + self.max_replayed_pages * largest_page, (
                f"{stream}: the resumed sync re-read more than {self.max_replayed_pages} page(s) "
                "(it should start from the cursor of the last committed page)")
            self._assert_no_duplicates(conformance_engine, connection_id, stream, expected)

    def _assert_no_duplicates(self, engine: Engine, connection_id: int, stream: str,
                              expected: set[str]) -> None:
        with read_session(engine) as session:
            orders = session.exec(
                select(func.count(Order.id), func.count(func.distinct(Order.platform_id)))
                .where(Order.connection_id == connection_id)
            ).one()
            assert orders[0] == orders[1], f"{stream}: an order was stored twice"
            identities = session.exec(
                select(func.count(CustomerIdentity.id),
                       func.count(func.distinct(CustomerIdentity.platform_id)))
                .where(CustomerIdentity.connection_id == connection_id)
            ).one()
            assert identities[0] == identities[1], f"{stream}: a customer was linked twice"
            if stream == "orders":
                assert orders[0] == len(expected), f"{stream}: stored {orders[0]} of {len(expected)}"

    # -- pushes ------------------------------------------------------------------------------

    def test_push_is_delta_only_and_idempotent(
        self, conformance_engine: Engine, connection_id: int, connector: Connector, fake: Any
    ) -> None:
        self._require(Capability.PUSH_ATTRIBUTES)
        engine = conformance_engine
        self.prepare_push(engine, connection_id, connector, fake)
        with write_session(engine) as session:
            connection = session.get(Connection, connection_id)
            linked = session.exec(
                select(Customer.id, Customer.email, CustomerIdentity.platform_id)
                .outerjoin(CustomerIdentity, (CustomerIdentity.customer_id == Customer.id)
                           & (CustomerIdentity.connection_id == connection_id))
                .where(Customer.account_id == connection.account_id)
                # customers the platform knows by id first (guests from orders have none)
                .order_by(CustomerIdentity.platform_id.is_(None), Customer.id)  # type: ignore[union-attr]
            ).all()
            assert len(linked) >= 2, "prepare_push must give the account at least 2 customers"
            for customer_id, _, _ in linked[:2]:
                adjust(session, connection.account_id, customer_id, amount=40,
                       reason="conformance", actor="conformance suite")

        first = push_attributes(engine, connection_id, connector)
        assert first.changed >= 2 and first.result.sent >= 2 and not first.result.failed
        target_id, target_email, target_platform_id = linked[0]
        target = ContactRef(target_id, target_email, target_platform_id)
        balance = self._balance(engine, target_id)
        assert self.remote_attributes(fake, target)["points_balance"] == balance

        calls = connector.stats.calls
        second = push_attributes(engine, connection_id, connector)
        assert second.changed == 0 and second.result.sent == 0, "an unchanged push sent updates"
        assert connector.stats.calls == calls, "an unchanged push made an API call"

        with write_session(engine) as session:
            connection = session.get(Connection, connection_id)
            adjust(session, connection.account_id, target_id, amount=5,
                   reason="conformance", actor="conformance suite")
        third = push_attributes(engine, connection_id, connector)
        assert third.changed == 1 and third.result.sent == 1, "only the changed customer is sent"
        assert self.remote_attributes(fake, target)["points_balance"] == balance + 5

    @staticmethod
    def _balance(engine: Engine, customer_id: int) -> int:
        with read_session(engine) as session:
            return session.get(Customer, customer_id).points_balance

    # -- rate limits -------------------------------------------------------------------------

    def test_rate_limit_is_obeyed(self, fake: Any, connector: Connector, waits: list[float]) -> None:
        expected = self.inject_rate_limit(fake, self.rate_limit_wait)
        least = self.rate_limit_wait if expected is None else expected
        self.rate_limited_call(connector)
        assert connector.stats.throttled >= 1, "the 429 was not seen by the RetryPolicy"
        assert connector.stats.retries >= 1, "the throttled call was not retried"
        assert any(wait >= least for wait in waits), (
            f"waited {waits}, but the platform asked for {least}s")
