"""Concurrent redemptions on one customer never overdraw (row lock on PostgreSQL, BEGIN
IMMEDIATE on SQLite)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from sqlmodel import select

from integration import ledger
from integration.db import write_session
from integration.errors import InsufficientPoints
from integration.models import Redemption, Reward, RewardKind
from tests.factories import T0, customer_of, order, place, shop


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
