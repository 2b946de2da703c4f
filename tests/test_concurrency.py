"""Concurrent writers: redemptions on one customer never overdraw (row lock on PostgreSQL,
BEGIN IMMEDIATE on SQLite); workers creating the same customer and order queue, not fail."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

from sqlmodel import select

from integration import ledger
from integration.db import write_session
from integration.errors import InsufficientPoints
from integration.events import apply_events
from integration.models import Account, Connection, Order, OrderStatus, Redemption, Reward, RewardKind
from integration.records import OrderUpserted, RefundCreated
from tests.factories import T0, customer_of, order, place, refund, shop


def test_fifty_concurrent_redemptions_never_overdraw(session, box, engine):
    account, conn = shop(session, box)
    place(session, account, conn, order("1", "730"))
    reward = Reward(account_id=account.id, name="$10", kind=RewardKind.FIXED_AMOUNT,
                    points_cost=100, value=Decimal(10))
    session.add(reward)
    session.commit()
    customer_id = customer_of(session, account, "c1@example.com").id

    def attempt(n: int) -> bool:
        try:
            with write_session(engine) as s:
                ledger.redeem(s, account.id, customer_id, reward.id, key=f"req-{n}", now=T0)
            return True
        except InsufficientPoints:
            return False

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(attempt, range(50)))

    assert results.count(True) == 7
    customer = customer_of(session, account, "c1@example.com")
    assert customer.points_balance == 30
    assert len(session.exec(select(Redemption).where(Redemption.account_id == account.id)).all()) == 7
    assert ledger.check_account(session, account.id).ok


def test_two_workers_creating_the_same_customer_and_order_queue_instead_of_failing(
    session, box, engine
):
    """``orders/create`` and ``orders/paid`` of a new shopper's first order, applied at once by
    two workers: the second waits for the first (key locks on PostgreSQL, the write lock on
    SQLite) and then finds the customer and the order, instead of failing on a unique key."""
    account, conn = shop(session, box)
    created = order("o1", "80", status=OrderStatus.PENDING, updated_at=T0)
    paid = order("o1", "80", status=OrderStatus.PAID, updated_at=T0 + timedelta(minutes=1))

    def worker(record, hold=None):
        with write_session(engine) as s:
            apply_events(s, s.get(Account, account.id), s.get(Connection, conn.id),
                         [OrderUpserted(order=record)], now=T0)
            if hold is not None:
                s.flush()
                hold()

    def while_first_is_open():
        second = pool.submit(worker, paid)
        time.sleep(0.5)
        assert not second.done(), "the second worker should wait for the first one's keys"
        return second

    with ThreadPoolExecutor(max_workers=1) as pool:
        seconds = []
        worker(created, hold=lambda: seconds.append(while_first_is_open()))
        seconds[0].result(timeout=30)  # raises if the second worker failed

    customer = customer_of(session, account, "c1@example.com")
    orders = session.exec(select(Order).where(Order.account_id == account.id)).all()
    assert [(o.platform_id, o.status, o.customer_id) for o in orders] == [
        ("o1", OrderStatus.PAID, customer.id)
    ]
    assert customer.points_balance == 80
    assert ledger.check_account(session, account.id).ok


def test_refunds_of_two_orders_of_one_shopper_never_lose_a_balance_update(session, box, engine):
    """A refund names only its order; two workers refunding two orders of one customer at once
    must still take turns on that customer, or the second would write a balance computed from
    the value the first was about to change."""
    account, conn = shop(session, box)
    place(session, account, conn, order("r1", "100"))
    place(session, account, conn, order("r2", "50"))

    def worker(order_id, hold=None):
        with write_session(engine) as s:
            apply_events(s, s.get(Account, account.id), s.get(Connection, conn.id), [RefundCreated(
                order_platform_id=order_id, currency="USD", refund=refund(f"{order_id}-x", "20"))],
                now=T0 + timedelta(days=3))
            if hold is not None:
                s.flush()
                hold()

    def while_first_is_open():
        second = pool.submit(worker, "r2")
        time.sleep(0.5)
        assert not second.done(), "the second refund should wait for the shopper's row"
        return second

    with ThreadPoolExecutor(max_workers=1) as pool:
        seconds = []
        worker("r1", hold=lambda: seconds.append(while_first_is_open()))
        seconds[0].result(timeout=30)

    assert customer_of(session, account, "c1@example.com").points_balance == 150 - 20 - 20
    assert ledger.check_account(session, account.id).ok
