"""A WooCommerce site from connection to coupon, against the fake over real HTTP."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
import requests
from sqlmodel import func, select

from connectors.sdk import RetriableError
from connectors.woocommerce.auth import begin_authorization
from connectors.woocommerce.fake.store import STATUSES
from connectors.woocommerce.setup import sync
from integration.connections import register_webhooks
from integration import ledger
from integration.connections import connector_for
from integration.db import read_session, write_session
from integration.fulfilment import fulfil_redemption
from integration.models import (
    Connection,
    Customer,
    CustomerIdentity,
    LedgerEntry,
    Order,
    OrderStatus,
    Redemption,
    RedemptionStatus,
    Reward,
    RewardKind,
)
from integration.push import push_attributes
from tests.woocommerce.conftest import fast_policy
from webhooks.models import InboxDelivery


def _wait(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _order(session, connection_id: int, platform_id: int) -> Order:
    return session.exec(select(Order).where(
        Order.connection_id == connection_id, Order.platform_id == str(platform_id))).one()


def _count(session, model, *where) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def test_connect_sync_push_and_redeem(engine, box, account, fake, server):
    # -- connect through WooCommerce's authorization flow ------------------------------------
    with write_session(engine) as session:
        link = begin_authorization(session, account_id=account.id, site_url=fake.url,
                                   public_url=server.url, allow_insecure_http=True)
    answer = requests.get(link, timeout=30)  # the merchant clicks "Approve"
    assert answer.status_code == 200, answer.text
    assert "webhooks registered" in answer.text
    with read_session(engine) as session:
        connection = session.exec(select(Connection).where(
            Connection.account_id == account.id, Connection.platform == "woocommerce")).one()
    assert connection.external_id == fake.url
    assert {h.topic for h in fake.webhooks.values()} == {
        "order.created", "order.updated", "order.deleted", "customer.created", "customer.updated"}
    assert all(h.status == "active" and h.delivery_url.endswith(f"/woocommerce/{connection.id}")
               for h in fake.webhooks.values())
    assert len({h.secret for h in fake.webhooks.values()}) == 5  # a fresh secret per webhook
    _wait(lambda: sum(d["topic"] == "ping" and d["status"] == 200 for d in fake.deliveries) == 5)
    stored = box.open(connection.credentials)
    assert stored["consumer_key"] != fake.default_key.consumer_key  # the handed-over key
    assert set(stored["webhook_secrets"]) == {str(i) for i in fake.webhooks}

    # -- full sync ---------------------------------------------------------------------------
    results = sync(engine, box, connection.id, full=True, policy=fast_policy())
    assert [(r.stream, r.records) for r in results] == [("customers", 120), ("orders", 150)]
    store = fake.store
    guest_orders = [i for i in store.order_ids() if store.o_buyer[i - 1] < 0]
    partial = next(i for i in store.order_ids()
                   if fake.store.order(i)["status"] == "completed" and fake.store.order(i)["refunds"])
    with read_session(engine) as session:
        assert _count(session, Order, Order.connection_id == connection.id) == 150
        guests = session.exec(select(Customer).where(
            Customer.account_id == account.id, Customer.email.like("guest%"))).all()
        assert guests and all(c.is_guest for c in guests)
        assert {c.email for c in guests} == {
            store.order(i)["billing"]["email"] for i in guest_orders}
        refunded = _order(session, connection.id, partial)
        assert refunded.status == OrderStatus.COMPLETED
        assert Decimal(0) < refunded.refunded_total < refunded.total
        assert refunded.currency == "EUR"
        assert ledger.check_account(session, account.id).ok

    # -- live changes arrive by webhook ------------------------------------------------------
    paid = next(i for i in store.order_ids() if STATUSES[store.o_status[i - 1]] == "processing")
    fake.set_status(paid, "cancelled")
    fake.refund(partial, 500, "second partial refund")
    newcomer = fake.add_customer("newcomer@example.org", "Nia")
    fresh = fake.add_order(customer_id=newcomer, status="processing")
    walk_in = fake.add_order(guest=99_999, status="completed")
    fake.drain()
    server.process()
    with read_session(engine) as session:
        assert _order(session, connection.id, paid).status == OrderStatus.CANCELLED
        assert _order(session, connection.id, fresh).status == OrderStatus.PAID
        assert _order(session, connection.id, walk_in).email == "guest99999@example.net"
        refunds_seen = _order(session, connection.id, partial).refunded_total
    assert refunds_seen == refunded.refunded_total + Decimal("5.00")

    # -- missed webhooks are repaired by the incremental sync --------------------------------
    server.gate.down = True
    fake.set_status(fresh, "refunded")
    fake.drain()
    server.gate.down = False
    before = fake.count("GET", "/orders")
    results = sync(engine, box, connection.id, policy=fast_policy())
    assert fake.count("GET", "/orders") - before == 1  # one page: only what changed
    assert results[1].records < 10
    with read_session(engine) as session:
        assert _order(session, connection.id, fresh).status == OrderStatus.REFUNDED
        assert _count(session, Order, Order.connection_id == connection.id) == 152
        assert ledger.check_account(session, account.id).ok

    # -- points pushed into customer meta ----------------------------------------------------
    with read_session(engine) as session:
        connection = session.get(Connection, connection.id)
    connector = connector_for(connection, box, fast_policy())
    report = push_attributes(engine, connection.id, connector)
    assert report.result.failed == []
    assert report.result.skipped == len({store.order(i)["billing"]["email"] for i in guest_orders}) + 1
    assert report.result.sent == 121
    assert report.result.batches == 2
    with read_session(engine) as session:
        rich = session.exec(
            select(Customer, CustomerIdentity.platform_id)
            .join(CustomerIdentity, CustomerIdentity.customer_id == Customer.id)
            .where(Customer.account_id == account.id)
            .order_by(Customer.points_balance.desc())  # type: ignore[attr-defined]
        ).first()
    customer, platform_id = rich
    meta = {m["key"]: m["value"] for m in store.customer(int(platform_id))["meta_data"]}
    assert meta["_sadakat_points_balance"] == customer.points_balance > 0
    again = push_attributes(engine, connection.id, connector)
    assert again.changed == 0 and again.result.batches == 0
    fake.drain()  # the site notified us of its updated customers; nothing changes by it
    assert push_attributes(engine, connection.id, connector).changed == 0

    # -- a reward redeemed becomes a coupon --------------------------------------------------
    with write_session(engine) as session:
        reward = Reward(account_id=account.id, name="5 off", kind=RewardKind.FIXED_AMOUNT,
                        points_cost=10, value=Decimal(5), min_order=Decimal(20))
        session.add(reward)
        session.flush()
        redemption = ledger.redeem(session, account.id, customer.id, reward.id, key="r1",
                                   connection_id=connection.id)
    done = fulfil_redemption(engine, redemption.id, connector)
    assert done.status == RedemptionStatus.ISSUED
    coupon = fake.coupons[done.code]
    assert coupon["email_restrictions"] == [customer.email]
    assert (coupon["discount_type"], coupon["amount"]) == ("fixed_cart", "5.00")
    assert (coupon["usage_limit"], coupon["usage_limit_per_user"]) == (1, 1)
    assert coupon["individual_use"] is True and coupon["minimum_amount"] == "20.00"
    assert coupon["date_expires_gmt"] == done.expires_at.strftime("%Y-%m-%dT%H:%M:%S")
    with read_session(engine) as session:
        assert session.get(Redemption, redemption.id).code == done.code
        assert ledger.check_account(session, account.id).ok


def test_crash_mid_sync_resumes_without_duplicates(engine, box, connection, fake):
    fake.inject(503, times=50, after=1, path="/orders")  # the site falls over on page 2
    with pytest.raises(RetriableError, match="503"):
        sync(engine, box, connection.id, policy=fast_policy(attempts=2))
    with read_session(engine) as session:
        assert _count(session, Order, Order.connection_id == connection.id) == 100
    fake.failures.clear()
    first = len(fake.requests)
    sync(engine, box, connection.id, policy=fast_policy())
    resumed = [args for method, path, args in fake.requests[first:] if path.endswith("/orders")]
    assert resumed[0]["page"] == "2"  # resumed after the last committed page
    with read_session(engine) as session:
        assert _count(session, Order, Order.connection_id == connection.id) == 150
        earns = session.exec(select(LedgerEntry.idempotency_key).where(
            LedgerEntry.account_id == connection.account_id, LedgerEntry.kind == "earn")).all()
        assert len(earns) == len(set(earns))
        awarded = _count(session, Order, Order.connection_id == connection.id,
                         Order.awarded_at.is_not(None))  # type: ignore[union-attr]
        assert len(earns) == awarded
        assert ledger.check_account(session, connection.account_id).ok


def test_disabled_webhooks_are_reactivated(engine, box, connection, fake, server):
    register_webhooks(engine, box, connection.id, server.url, policy=fast_policy())
    _wait(lambda: sum(d["topic"] == "ping" for d in fake.deliveries) == 5)
    server.gate.down = True
    for _ in range(6):  # more than 5 consecutive failures
        fake.update_customer(1, first_name="Again")
    hook = next(h for h in fake.webhooks.values() if h.topic == "customer.updated")
    assert hook.status == "disabled"
    server.gate.down = False
    old_secret = hook.secret
    register_webhooks(engine, box, connection.id, server.url, policy=fast_policy())
    assert hook.status == "active" and hook.secret != old_secret
    assert len(fake.webhooks) == 5  # re-activated, not duplicated
    server.gate.statuses.clear()
    fake.update_customer(1, first_name="Back")
    fake.drain()
    assert server.gate.statuses == [200]
    with read_session(engine) as session:
        latest = session.exec(select(InboxDelivery).where(
            InboxDelivery.connection_id == connection.id).order_by(InboxDelivery.id.desc())).first()
    assert latest.topic == "customer.updated"
