"""One account can never read or change another account's rows."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import select

from integration import ledger, scope
from integration.errors import NotFound, RuleError
from integration.events import apply_event
from integration.models import Customer, Order, Redemption, Reward, RewardKind
from integration.privacy import export_customer, redact_customer
from integration.records import CustomerRecord, CustomerUpserted
from tests.factories import customer_of, order, place, shop


@pytest.fixture
def two_shops(session, box):
    a, conn_a = shop(session, box)
    b, conn_b = shop(session, box)
    place(session, a, conn_a, order("1", customer="same", email="same@example.com"))
    place(session, b, conn_b, order("1", customer="same", email="same@example.com"))
    for account in (a, b):
        session.add(Reward(account_id=account.id, name="r", kind=RewardKind.FIXED_AMOUNT,
                           points_cost=10, value=Decimal(1)))
    session.commit()
    return (a, conn_a), (b, conn_b)


def test_same_shopper_is_two_customers_in_two_accounts(session, two_shops):
    (a, _), (b, _) = two_shops
    ca = customer_of(session, a, "same@example.com")
    cb = customer_of(session, b, "same@example.com")
    assert ca.id != cb.id and ca.points_balance == cb.points_balance == 100


def test_scoped_reads_never_return_another_accounts_rows(session, two_shops):
    (a, _), (b, _) = two_shops
    foreign = customer_of(session, b, "same@example.com")
    with pytest.raises(NotFound):
        scope.get(session, Customer, a.id, foreign.id)
    with pytest.raises(NotFound):
        scope.get(session, Customer, a.id, 2**70)  # beyond the id column, as from a URL
    assert all(c.account_id == a.id for c in session.exec(scope.rows(Customer, a.id)))
    assert all(o.account_id == a.id for o in session.exec(scope.rows(Order, a.id)))
    with pytest.raises(NotFound):
        export_customer(session, a.id, foreign.id)
    with pytest.raises(NotFound):
        ledger.customer_history(session, a.id, foreign.id)


def test_writes_through_one_account_cannot_touch_another(session, two_shops):
    (a, _), (b, _) = two_shops
    foreign_customer = customer_of(session, b, "same@example.com")
    foreign_reward = session.exec(select(Reward).where(Reward.account_id == b.id)).one()
    own_customer = customer_of(session, a, "same@example.com")
    with pytest.raises(NotFound):
        ledger.adjust(session, a.id, foreign_customer.id, amount=5, reason="x", actor="y")
    with pytest.raises(NotFound):
        ledger.redeem(session, a.id, own_customer.id, foreign_reward.id, key="k")
    with pytest.raises(NotFound):
        ledger.redeem(session, a.id, foreign_customer.id, foreign_reward.id, key="k")
    with pytest.raises(NotFound):
        redact_customer(session, a.id, foreign_customer.id)
    with pytest.raises((NotFound, RuleError)):
        ledger.refer_friend(session, a.id, foreign_customer.id, "x@example.com")
    session.rollback()
    assert customer_of(session, b, "same@example.com").points_balance == 100
    assert session.exec(select(Redemption).where(Redemption.account_id == b.id)).all() == []


def test_events_through_a_connection_stay_in_its_account(session, two_shops):
    (a, conn_a), (b, _) = two_shops
    with pytest.raises(ValueError):
        apply_event(session, b, conn_a, CustomerUpserted(customer=CustomerRecord(
            platform_id="x", email="x@example.com")))
    session.rollback()
