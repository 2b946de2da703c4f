"""The whole loop against the fake Shopify over real HTTP, on the real database:
install → webhooks registered → full bulk sync → incremental sync after changes → points pushed
as metafields and segments as tags → a reward redeemed into a discount code."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlmodel import func, select

from connectors.sdk import ContactRef, SegmentChange
from connectors.shopify.connector import WEBHOOK_TOPICS
from connectors.shopify.fake.store import CUSTOMER_BASE, ORDER_BASE
from integration import ledger
from integration.db import utcnow, write_session
from integration.fulfilment import fulfil_redemption
from integration.models import (
    Customer,
    CustomerIdentity,
    Order,
    OrderLine,
    OrderStatus,
    PushState,
    RedemptionStatus,
    Refund,
    Reward,
)
from integration.push import push_attributes
from integration.sync import sync_connection


def _count(session, model, **where):
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return session.exec(query).one()


def _customer(session, connection_id, index) -> Customer:
    identity = session.exec(select(CustomerIdentity).where(
        CustomerIdentity.connection_id == connection_id,
        CustomerIdentity.platform_id == str(CUSTOMER_BASE + index))).one()
    return session.get(Customer, identity.customer_id)


def test_install_sync_push_and_redeem(engine, session, fake, installed):
    result, connector = installed
    cid, aid = result.connection_id, result.account_id
    store = fake.store

    # Installed with its webhooks.
    assert {w["topic"] for w in store.webhooks} == set(WEBHOOK_TOPICS)

    # Full sync through a bulk operation per stream.
    customers, orders = sync_connection(engine, cid, connector)
    assert customers.records == store.customer_count and orders.records == store.order_count
    bulk_runs = [r for r in fake.requests if r.operation == "RunBulkQuery"]
    assert len(bulk_runs) == 2
    assert _count(session, Order, connection_id=cid) == store.order_count
    lines = sum(len(store.order(i)["lines"]) for i in range(store.order_count))
    assert _count(session, OrderLine, account_id=aid) == lines
    refunds = sum(len(store.order(i)["refunds"]) for i in range(store.order_count))
    assert _count(session, Refund, account_id=aid) == refunds
    assert _count(session, CustomerIdentity, connection_id=cid) == store.customer_count
    sample = store.customer(4)
    synced = _customer(session, cid, 4)
    assert synced.email == sample["email"] and synced.first_name == sample["firstName"]
    if sample["birthday"]:
        assert synced.birthday.isoformat() == sample["birthday"]
    big = session.exec(select(Order).where(Order.connection_id == cid,
                                           Order.platform_id == str(ORDER_BASE))).one()
    assert _count(session, OrderLine, order_id=big.id) == 25  # more lines than one page holds
    assert ledger.check_account(session, aid).ok

    # Changes at the shop, then an incremental sync picks up exactly those.
    store.update_customer(3, firstName="Zed", marketingState="UNSUBSCRIBED")
    new = store.add_order(5)
    paid = next(i for i in range(store.order_count) if store.order(i)["financial"] == "PAID"
                and store.order(i)["customer"] >= 0)
    total = store.order(paid)["total"]
    store.update_order(paid, financial="REFUNDED", refunds=[(1, total, store.now())])
    before = len(fake.requests)
    customers, orders = sync_connection(engine, cid, connector)
    assert (customers.records, orders.records) == (1, 2)
    assert not [r for r in fake.requests[before:] if r.operation == "RunBulkQuery"]
    before = len(fake.requests)
    session.rollback()  # a fresh snapshot: the sync committed in its own sessions
    changed = _customer(session, cid, 3)
    assert changed.first_name == "Zed" and changed.consent == "unsubscribed"
    assert session.exec(select(Order).where(Order.connection_id == cid,
                                            Order.platform_id == str(ORDER_BASE + new))).one()
    refunded = session.exec(select(Order).where(Order.connection_id == cid,
                                                Order.platform_id == str(ORDER_BASE + paid))).one()
    assert refunded.status == OrderStatus.REFUNDED and refunded.refunded_total == total
    assert ledger.check_account(session, aid).ok

    # Points pushed as metafields, only what changed.
    now = utcnow() + timedelta(minutes=1)  # one clock for both pushes: pending points mature
    report = push_attributes(engine, cid, connector, now=now)
    assert report.result.failed == []
    assert report.result.sent == store.customer_count  # every Shopify customer, guests skipped
    assert report.result.skipped == report.changed - store.customer_count
    sent_calls = [r for r in fake.requests[before:]
                  if r.operation in ("SetLoyaltyMetafields", "DeleteLoyaltyMetafields")]
    assert report.result.batches == len(sent_calls)
    session.rollback()
    member = _customer(session, cid, 3)
    kind, value = store.metafields[(3, "sadakat", "points_balance")]
    pushed = session.exec(select(PushState).where(PushState.customer_id == member.id)).one()
    assert kind == "number_integer" and int(value) == pushed.attributes["points_balance"]
    calls = len(fake.graphql_requests())
    assert push_attributes(engine, cid, connector, now=now).changed == 0
    assert len(fake.graphql_requests()) == calls  # nothing changed, nothing sent

    # Segments as prefixed tags; the merchant's own tags are left alone.
    store.tags[3] = {"wholesale"}
    ref = ContactRef(member.id, member.email, str(CUSTOMER_BASE + 3))
    guest = ContactRef(999_999, "guest@example.net", None)
    added = connector.push_segment(SegmentChange("vip", added=[ref, guest]))
    assert (added.sent, added.skipped) == (1, 1)
    assert store.tags[3] == {"wholesale", "sadakat:vip"}
    connector.push_segment(SegmentChange("vip", removed=[ref]))
    assert store.tags[3] == {"wholesale"}

    # A reward redeemed through the ledger becomes a customer-specific single-use code.
    with write_session(engine) as tx:
        reward = Reward(account_id=aid, name="$5 off", kind="fixed_amount", points_cost=50,
                        value=Decimal(5), min_order=Decimal(20))
        tx.add(reward)
        ledger.adjust(tx, aid, member.id, amount=100, reason="goodwill", actor="test")
        tx.flush()
        redemption = ledger.redeem(tx, aid, member.id, reward.id, key="e2e-1", connection_id=cid)
        tx.flush()
        redemption_id = redemption.id
    done = fulfil_redemption(engine, redemption_id, connector)
    assert done.status == RedemptionStatus.ISSUED
    assert done.code == connector.reward_code(redemption_id)
    discount = store.discounts[done.code.upper()]
    assert discount["usageLimit"] == 1 and discount["appliesOncePerCustomer"] is True
    assert discount["context"]["customers"]["add"] == [f"gid://shopify/Customer/{CUSTOMER_BASE + 3}"]
    assert Decimal(discount["customerGets"]["value"]["discountAmount"]["amount"]) == 5
    assert Decimal(discount["minimumRequirement"]["subtotal"]["greaterThanOrEqualToSubtotal"]) == 20
    assert discount["endsAt"]
    session.rollback()  # a fresh snapshot: the sync committed in its own sessions
    assert ledger.check_account(session, aid).ok
