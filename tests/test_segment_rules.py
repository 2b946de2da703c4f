"""Every segment rule operator, evaluated in SQL on the real database."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from integration.accounts import add_connection, create_account
from integration.models import AbandonedCheckout, Customer, Order, OrderLine, Tier
from integration.segments import Scope, members_query, parse_rule
from integration.segments.rfm import score_all
from integration.segments.worktables import work_tables

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.fixture
def shop(session, box):
    """Four customers with known histories; returns (account, {name: customer id})."""
    account = create_account(session, f"Rules {uuid.uuid4().hex[:6]}")
    conn = add_connection(session, box, account, platform="shopify",
                          external_id=f"{uuid.uuid4().hex[:8]}.myshopify.com", credentials={})
    gold = Tier(account_id=account.id, name="Gold", threshold=Decimal(100))
    session.add(gold)
    session.flush()
    people = {
        "alice": Customer(account_id=account.id, email=f"a{uuid.uuid4().hex[:6]}@x.com",
                          tier_id=gold.id, points_balance=500, birthday=date(1990, 3, 14),
                          consent="subscribed"),
        "bob": Customer(account_id=account.id, email=f"b{uuid.uuid4().hex[:6]}@x.com",
                        birthday=date(1985, 7, 2), consent="unsubscribed"),
        "carol": Customer(account_id=account.id, email=f"c{uuid.uuid4().hex[:6]}@x.com",
                          points_balance=50, consent="subscribed"),
        "dave": Customer(account_id=account.id, email=f"d{uuid.uuid4().hex[:6]}@x.com"),
    }
    session.add_all(people.values())
    session.flush()
    n = 0

    def order(who, total, days_ago, status="paid", discount=0, tags="", ptype="", refunded=0):
        nonlocal n
        n += 1
        o = Order(account_id=account.id, connection_id=conn.id, platform_id=str(n),
                  customer_id=people[who].id, currency="USD", status=status,
                  subtotal=Decimal(total), total=Decimal(total), discount_total=Decimal(discount),
                  refunded_total=Decimal(refunded), placed_at=NOW - timedelta(days=days_ago))
        session.add(o)
        session.flush()
        session.add(OrderLine(account_id=account.id, order_id=o.id, tags=tags, product_type=ptype,
                              price=Decimal(total)))

    order("alice", 100, 60, discount=10)
    order("alice", 200, 30)
    order("alice", 50, 10, tags="Sale, Shoes", ptype="Shoes")
    order("bob", 20, 400)
    order("dave", 30, 5, discount=5, tags="sale", ptype="Hats")
    order("dave", 40, 3, discount=5, ptype="Hats", refunded=10)
    order("dave", 1000, 2, status="cancelled")
    session.add(AbandonedCheckout(account_id=account.id, connection_id=conn.id, platform_id="k1",
                                  customer_id=people["carol"].id, abandoned_at=NOW - timedelta(days=2)))
    session.add(AbandonedCheckout(account_id=account.id, connection_id=conn.id, platform_id="k2",
                                  customer_id=people["bob"].id, abandoned_at=NOW - timedelta(days=1),
                                  recovered=True))
    with work_tables(session):
        score_all(session, account.id, NOW)  # the order statistics all-time rules read
    session.commit()
    return account, {name: c.id for name, c in people.items()}


def members(session, shop, rule) -> set[str]:
    account, ids = shop
    names = {v: k for k, v in ids.items()}
    query = members_query(parse_rule(rule), Scope(account_id=account.id, now=NOW))
    return {names[i] for i in session.exec(query).all()}


CASES = [
    ({"metric": "spend", "op": ">=", "value": 300}, {"alice"}),
    ({"metric": "spend", "window_days": 45, "op": ">", "value": 100}, {"alice"}),
    ({"metric": "spend", "op": "<", "value": 25}, {"bob", "carol"}),  # zero spend counts
    ({"metric": "spend", "op": "between", "value": [50, 70]}, {"dave"}),  # 30 + 40 - 10 refund
    ({"metric": "order_count", "op": "=", "value": 0}, {"carol"}),
    ({"metric": "order_count", "op": ">=", "value": 2}, {"alice", "dave"}),
    ({"metric": "order_count", "window_days": 365, "op": "!=", "value": 1}, {"alice", "bob", "carol", "dave"}),
    ({"metric": "order_count", "op": "<=", "value": 1}, {"bob", "carol"}),
    ({"metric": "aov", "op": ">", "value": 100}, {"alice"}),
    ({"metric": "aov", "op": "<", "value": 40}, {"bob", "dave"}),  # dave: (30 + 40 - 10) / 2
    ({"metric": "aov", "window_days": 45, "op": ">=", "value": 125}, {"alice"}),  # 250 / 2
    ({"metric": "discount_share", "window_days": 7, "op": "=", "value": 1}, {"dave"}),
    ({"metric": "discount_share", "op": ">=", "value": 0.9}, {"dave"}),
    ({"metric": "discount_share", "op": "<", "value": 0.5}, {"alice", "bob"}),
    ({"metric": "days_since_last_order", "op": ">", "value": 90}, {"bob"}),
    ({"metric": "days_since_last_order", "op": "<=", "value": 10}, {"alice", "dave"}),
    ({"metric": "bought", "tag": "sale"}, {"alice", "dave"}),
    ({"metric": "bought", "tag": "shoes"}, {"alice"}),
    ({"metric": "bought", "tag": "sale", "window_days": 7}, {"dave"}),
    ({"metric": "bought", "product_type": "hats"}, {"dave"}),
    ({"metric": "tier", "in": ["Gold"]}, {"alice"}),
    ({"metric": "tier", "in": ["none"]}, {"bob", "carol", "dave"}),
    ({"metric": "points", "op": ">", "value": 0}, {"alice", "carol"}),
    ({"metric": "birthday_month", "in": [3, 4]}, {"alice"}),
    ({"metric": "birthday_month", "in": [7]}, {"bob"}),
    ({"metric": "consent", "in": ["subscribed"]}, {"alice", "carol"}),
    ({"metric": "abandoned_checkout", "window_days": 7}, {"carol"}),
    ({"metric": "new_customer", "days": 30}, {"dave"}),
    ({"all": [{"metric": "consent", "in": ["subscribed"]},
              {"metric": "order_count", "op": ">", "value": 0}]}, {"alice"}),
    ({"any": [{"metric": "tier", "in": ["Gold"]}, {"metric": "bought", "product_type": "Hats"}]},
     {"alice", "dave"}),
    ({"not": {"metric": "consent", "in": ["subscribed"]}}, {"bob", "dave"}),
    ({"all": [{"metric": "order_count", "op": ">", "value": 0},
              {"not": {"metric": "discount_share", "op": ">", "value": 0.5}}]}, {"alice", "bob"}),
]


@pytest.mark.parametrize(("rule", "expected"), CASES, ids=[str(r) for r, _ in CASES])
def test_operator(session, shop, rule, expected):
    assert members(session, shop, rule) == expected


def test_every_metric_is_covered():
    from integration.segments.rules import _CONDITIONS, RfmGroupIn

    covered = {type(parse_rule(rule)) for rule, _ in CASES if "metric" in rule}
    assert covered | {RfmGroupIn} == set(_CONDITIONS)  # rfm_group: tests/test_segments.py


@pytest.mark.parametrize("bad", [
    {"metric": "spend", "op": "~", "value": 1},
    {"metric": "spend", "op": "between", "value": 1},
    {"metric": "bought"},
    {"metric": "bought", "tag": "a", "product_type": "b"},
    {"metric": "birthday_month", "in": [13]},
    {"metric": "nope"},
    {"all": []},
])
def test_bad_rules_are_refused(bad):
    with pytest.raises(ValidationError):
        parse_rule(bad)
