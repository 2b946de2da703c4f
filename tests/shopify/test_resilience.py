"""Crashes, throttling and refusals: nothing lost, nothing doubled, no call failed for good."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
from sqlmodel import func, select

from connectors.sdk import ApiError, AttributeUpdate, AuthError, ContactRef, RetriableError, RewardRequest
from connectors.shopify.connector import ShopifyConnector
from connectors.shopify.fake import FakeShopify
from connectors.shopify.fake.store import CUSTOMER_BASE, iso
from connectors.shopify.install import connect_shop
from integration import ledger
from integration.db import write_session
from integration.fulfilment import fulfil_redemption
from integration.models import Connection, CustomerIdentity, Order, RedemptionStatus, Reward
from integration.sync import CursorStore, sync_stream
from tests.shopify.conftest import fast_policy, settings_for


@pytest.fixture
def fake_small_bucket():
    with FakeShopify(seed=5, customers=40, orders=60, bucket=(1000, 200)) as server:
        yield server


def _orders(session, connection_id) -> int:
    session.rollback()
    return session.exec(select(func.count()).select_from(Order)
                        .where(Order.connection_id == connection_id)).one()


def _start_incremental(engine, connection_id, stream, since: float) -> None:
    with write_session(engine) as tx:
        connection = tx.get(Connection, connection_id)
        CursorStore.put(tx, connection, stream, json.dumps({"since": iso(since - 1)}))


def test_bulk_sync_resumes_after_a_cut_download(engine, box, session, fake):
    settings = settings_for(fake, bulk_page_size=20)
    installed = connect_shop(engine, box, settings, public_url="http://127.0.0.1:9")
    # Cut in the 3rd page: a page is handed over once the next one is read (the last page must
    # carry the watermark), so one page of 20 is committed.
    fake.inject("cut", target="bulk-file", after=50)
    with pytest.raises(RetriableError, match="ended after 50 of 60 objects"):
        sync_stream(engine, installed.connection_id,
                    ShopifyConnector(settings, policy=fast_policy()), "customers")
    session.rollback()
    committed = session.exec(select(func.count()).select_from(CustomerIdentity).where(
        CustomerIdentity.connection_id == installed.connection_id)).one()
    assert committed == 20

    result = sync_stream(engine, installed.connection_id,
                         ShopifyConnector(settings, policy=fast_policy()), "customers")
    assert result.records == fake.store.customer_count - 20  # resumed, not restarted
    assert len([r for r in fake.requests if r.operation == "RunBulkQuery"]) == 1
    session.rollback()
    identities = session.exec(select(CustomerIdentity.platform_id).where(
        CustomerIdentity.connection_id == installed.connection_id)).all()
    assert sorted(identities) == sorted(str(CUSTOMER_BASE + i)
                                        for i in range(fake.store.customer_count))


def test_paged_sync_resumes_from_the_stored_cursor_after_a_crash(engine, box, session, fake):
    settings = settings_for(fake)
    installed = connect_shop(engine, box, settings, public_url="http://127.0.0.1:9")
    since = fake.store.now()
    for i in range(1, 36):  # 4 pages of 10 (order 0 has 25 lines and needs an extra call)
        fake.store.update_order(i, cancelledAt=None)
    _start_incremental(engine, installed.connection_id, "orders", since)
    fake.inject("503", count=100, after=2)
    with pytest.raises(RetriableError):
        sync_stream(engine, installed.connection_id,
                    ShopifyConnector(settings, policy=fast_policy(attempts=2)), "orders")
    assert _orders(session, installed.connection_id) == 20
    fake.faults.clear()
    before = len(fake.requests)
    result = sync_stream(engine, installed.connection_id,
                         ShopifyConnector(settings, policy=fast_policy()), "orders")
    assert result.records == 15 and result.pages == 2
    assert [r.operation for r in fake.requests[before:]] == ["OrdersUpdatedSince"] * 2
    assert _orders(session, installed.connection_id) == 35
    assert ledger.check_account(session, installed.account_id).ok


def test_paging_waits_for_the_bucket_instead_of_being_throttled(fake_small_bucket):
    fake = fake_small_bucket
    since = fake.store.now()
    for i in range(1, 41):
        fake.store.update_order(i, cancelledAt=None)
    connector = ShopifyConnector(settings_for(fake), policy=fast_policy())
    pages = list(connector.pull("orders", json.dumps({"since": iso(since - 1)})))
    assert sum(len(p.records) for p in pages) == 40
    assert not [r for r in fake.requests if r.throttled]
    # 4 pages requesting ~800 points from a 1,000-point bucket: the client had to wait.
    assert connector.client.costs.waited_seconds > 0.3
    assert connector.stats.throttled == 0


def test_injected_throttles_are_waited_out_with_no_failed_call(engine, box, session, fake):
    settings = settings_for(fake)
    installed = connect_shop(engine, box, settings, public_url="http://127.0.0.1:9")
    since = fake.store.now()
    for i in range(1, 31):
        fake.store.update_order(i, cancelledAt=iso(time.time()))
    _start_incremental(engine, installed.connection_id, "orders", since)
    fake.inject("throttle", count=2, after=1)
    connector = ShopifyConnector(settings, policy=fast_policy())
    result = sync_stream(engine, installed.connection_id, connector, "orders")
    assert result.records == 30  # nothing failed for good
    assert connector.stats.throttled == 2 and connector.stats.retries == 2
    session.rollback()
    cancelled = session.exec(select(func.count()).select_from(Order).where(
        Order.connection_id == installed.connection_id, Order.status == "cancelled")).one()
    assert cancelled == 30


def test_5xx_and_timeouts_are_retried_and_bad_tokens_are_auth_errors(fake):
    connector = ShopifyConnector(settings_for(fake, timeout=0.3), policy=fast_policy())
    fake.inject("502")
    fake.inject("timeout")
    connector.check()
    assert connector.stats.retries == 2
    revoked = ShopifyConnector(settings_for(fake, access_token="shpat_revoked"), policy=fast_policy())
    with pytest.raises(AuthError):
        revoked.check()


def test_a_refused_metafield_fails_its_whole_call_and_is_reported(connector, fake):
    good = AttributeUpdate(ContactRef(1, None, str(CUSTOMER_BASE + 1)), {"points_balance": 10})
    bad = AttributeUpdate(ContactRef(2, None, str(CUSTOMER_BASE + 2)), {"x": "too short a key"})
    guest = AttributeUpdate(ContactRef(3, "g@example.net", None), {"points_balance": 5})
    result = connector.push_attributes([good, bad, guest])
    assert result.skipped == 1 and result.sent == 0
    assert {ref.customer_id for ref, _ in result.failed} == {1, 2}
    assert "Key" in dict((r.customer_id, m) for r, m in result.failed)[2]
    assert not fake.store.metafields  # metafieldsSet is atomic


def test_a_refused_reward_gives_the_points_back(engine, box, session, fake):
    settings = settings_for(fake)
    installed = connect_shop(engine, box, settings, public_url="http://127.0.0.1:9")
    connector = ShopifyConnector(settings, policy=fast_policy())
    sync_stream(engine, installed.connection_id, connector, "customers")
    session.rollback()
    identity = session.exec(select(CustomerIdentity).where(
        CustomerIdentity.connection_id == installed.connection_id)).first()
    with write_session(engine) as tx:
        reward = Reward(account_id=installed.account_id, name="Free mug", kind="free_product",
                        points_cost=30, product_id="999")  # no such product at the shop
        tx.add(reward)
        ledger.adjust(tx, installed.account_id, identity.customer_id, amount=30, reason="t", actor="t")
        tx.flush()
        redemption_id = ledger.redeem(tx, installed.account_id, identity.customer_id, reward.id,
                                      key="refused", connection_id=installed.connection_id).id
    done = fulfil_redemption(engine, redemption_id, connector)
    assert done.status == RedemptionStatus.FAILED and "Product does not exist" in done.error
    session.rollback()
    assert ledger.check_account(session, installed.account_id).ok


def test_a_reward_whose_answer_was_lost_is_not_issued_twice(connector, fake):
    request = RewardRequest(redemption_id=77, kind="free_shipping", title="Free shipping",
                            currency="USD", customer_platform_id=str(CUSTOMER_BASE + 4),
                            min_order=Decimal(30))
    first = connector.issue_reward(request)
    again = connector.issue_reward(request)  # as if the first answer never arrived
    assert first.code == again.code and len(fake.store.discounts) == 1
    assert fake.store.discounts[first.code.upper()]["destination"] == {"all": True}
    with pytest.raises(ApiError):
        connector.issue_reward(request.model_copy(update={"customer_platform_id": None}))
