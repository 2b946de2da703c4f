"""The outside package, installed with pip and found through its entry point, runs the whole
loop: a signed webhook awards points, a sync imports the store, a push writes attributes back,
and it passes the conformance suite."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import func, select

from connectors.sdk import OrderUpserted, connector_class, installed
from integration.accounts import add_connection, create_account
from integration.connections import connector_for
from integration.db import read_session, write_session
from integration.events import apply_event
from integration.ledger import check_account
from integration.models import Account, Connection, Customer, CustomerIdentity, Order
from integration.push import push_attributes
from integration.sync import sync_connection, sync_stream
from sadakat_generic_store.fake import FakeGenericStore
from sadakat_generic_store.testing import GenericStoreConformance


class TestGenericStoreConformance(GenericStoreConformance):
    pass


def _connect(engine, box, fake: FakeGenericStore) -> int:
    cls = connector_class("generic_store")
    settings = cls.Settings.from_input({
        "base_url": fake.url, "api_key": fake.api_key, "webhook_secret": fake.webhook_secret,
        "page_size": 20,
    })
    plain, secrets = settings.split()
    with write_session(engine) as session:
        account = create_account(session, "Generic shop")
        connection = add_connection(
            session, box, account, platform=cls.name,
            external_id=f"{cls(settings).external_id()}/{account.id}", credentials=secrets,
            settings=plain,
        )
        return connection.id


def test_discovered_from_its_own_distribution():
    item = next(i for i in installed() if i.name == "generic_store")
    assert item.distribution == "sadakat-generic-store" and item.version == "0.1.0"
    assert item.error == "" and item.capabilities == ["pull", "push_attributes", "webhooks"]


def test_signed_webhook_awards_points(engine, box):
    with FakeGenericStore(seed=11, customers=5, orders=5) as fake:
        connection_id = _connect(engine, box, fake)
        order = fake.update_order(1, status="paid", subtotal="42.00", total="42.00", shipping="0")
        headers, body = fake.signed_delivery("order.updated", order)
        with write_session(engine) as session:
            connection = session.get(Connection, connection_id)
            connector = connector_for(connection, box)
            handler = connector_class(connection.platform).webhooks
            delivery = handler.identify(headers, body)
            assert handler.verify(headers, body, connector.webhook_secrets())
            assert not handler.verify(headers, body.replace(b"42.00", b"4200.00"), connector.webhook_secrets())
            events = handler.parse(delivery.topic, body)
            account = session.get(Account, connection.account_id)
            outcome = apply_event(session, account, connection, events[0])
        assert isinstance(events[0], OrderUpserted)
        assert [e.amount for e in outcome.entries] == [42]
        with read_session(engine) as session:
            customer = session.get(Customer, next(iter(outcome.customer_ids)))
            assert customer.points_balance == 42
            assert customer.email == order["email"]


def test_sync_then_incremental_then_push(engine, box):
    with FakeGenericStore(seed=12, customers=30, orders=50) as fake:
        connection_id = _connect(engine, box, fake)
        with read_session(engine) as session:
            connector = connector_for(session.get(Connection, connection_id), box)
            account_id = session.get(Connection, connection_id).account_id

        results = {r.stream: r for r in sync_connection(engine, connection_id, connector)}
        assert results["customers"].records == 30 and results["orders"].records == 50
        with read_session(engine) as session:
            assert session.exec(select(func.count(Order.id)).where(Order.connection_id == connection_id)).one() == 50
            earned = session.exec(select(func.sum(Customer.points_balance)).where(Customer.account_id == account_id)).one()
            assert earned > 0 and check_account(session, account_id).ok

        # the merchant cancels a paid order: the next incremental sync reads just that order
        paid = next(o for o in fake.orders.rows.values() if o["status"] == "paid" and o["customer"])
        fake.update_order(paid["id"], status="cancelled")
        again = sync_stream(engine, connection_id, connector, "orders")
        assert again.records == 1
        with read_session(engine) as session:
            after = session.exec(select(func.sum(Customer.points_balance)).where(Customer.account_id == account_id)).one()
            assert after == earned - int(Decimal(paid["subtotal"]))
            assert check_account(session, account_id).ok

        report = push_attributes(engine, connection_id, connector)
        assert report.result.sent == 30 and report.result.batches == 1 and not report.result.failed
        with read_session(engine) as session:
            linked = session.exec(
                select(CustomerIdentity.platform_id, Customer.points_balance)
                .join(Customer, Customer.id == CustomerIdentity.customer_id)
                .where(CustomerIdentity.connection_id == connection_id)
            ).all()
            assert len(linked) == 30
            for platform_id, balance in linked:
                assert fake.attributes[int(platform_id)]["points_balance"] == balance
        posts = fake.calls("POST")
        assert push_attributes(engine, connection_id, connector).changed == 0
        assert fake.calls("POST") == posts


def test_a_merchant_connects_it_with_sadakat_connect(config_path, session, box, account):
    """The plugin's platform is connected like any API-key platform, secrets from the environment;
    it has no API to register webhooks, so the command says where they must be delivered."""
    from click.testing import CliRunner

    from integration.cli import main

    with FakeGenericStore(seed=3, customers=2, orders=2) as fake:
        result = CliRunner().invoke(main, [
            "--config", config_path, "connect", "generic_store", "--account", str(account.id),
            "--set", f"base_url={fake.url}", "--set", "page_size=20",
        ], env={"SADAKAT_CONNECT_API_KEY": fake.api_key,
                "SADAKAT_CONNECT_WEBHOOK_SECRET": fake.webhook_secret})
        assert result.exit_code == 0, result.output
        connection = session.exec(select(Connection).where(
            Connection.account_id == account.id, Connection.platform == "generic_store")).one()
        assert result.output.splitlines() == [
            f"connection {connection.id}: generic_store {connection.external_id} connected",
            "webhooks: generic_store has no API to register them; point them at "
            f"http://127.0.0.1:8000/webhooks/generic_store/{connection.id}",
        ]
        assert connection.settings["page_size"] == 20
        connector_for(connection, box).check()
