"""RFM scoring boundaries and segment membership with its change log (full and incremental)."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from integration.accounts import add_connection, create_account
from integration.models import Customer, CustomerInsight, Order, Segment, SegmentMember
from integration.segments import (
    SegmentDefinition,
    changes_since,
    recompute_account,
    save_segment,
)
from integration.segments.rfm import GROUPS, group_of

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


class Store:
    def __init__(self, session, box):
        self.session = session
        self.account = create_account(session, f"Seg {uuid.uuid4().hex[:6]}")
        self.conn = add_connection(session, box, self.account, platform="shopify",
                                   external_id=f"{uuid.uuid4().hex[:8]}.myshopify.com",
                                   credentials={})
        self.n = 0

    def customer(self, **fields) -> Customer:
        c = Customer(account_id=self.account.id, email=f"{uuid.uuid4().hex[:10]}@x.com",
                     updated_at=NOW - timedelta(days=30), **fields)
        self.session.add(c)
        self.session.flush()
        return c

    def order(self, customer: Customer, total, days_ago, updated=None, status="paid") -> Order:
        self.n += 1
        o = Order(account_id=self.account.id, connection_id=self.conn.id, platform_id=str(self.n),
                  customer_id=customer.id, currency="USD", status=status, total=Decimal(total),
                  subtotal=Decimal(total), placed_at=NOW - timedelta(days=days_ago),
                  updated_at=updated or NOW - timedelta(days=30))
        self.session.add(o)
        self.session.flush()
        return o

    def recompute(self, since=None, now=NOW):
        result = recompute_account(self.session, self.account.id, now, since)
        self.session.commit()
        return result

    def insight(self, customer) -> CustomerInsight:
        self.session.expire_all()
        return self.session.get(CustomerInsight, customer.id)


@pytest.fixture
def store(session, box):
    return Store(session, box)


def test_quintile_boundaries(store):
    """Ten customers with 1..10 orders: k of 10 gets ceil(5k/10), so two per score."""
    people = []
    for k in range(1, 11):
        c = store.customer()
        for i in range(k):
            store.order(c, 10, days_ago=200 - 10 * k + i)  # more orders, more recent, more spend
        people.append(c)
    store.recompute()
    scores = [store.insight(c) for c in people]
    assert [s.rfm_f for s in scores] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert [s.rfm_m for s in scores] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert [s.rfm_r for s in scores] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert [s.rfm_group for s in scores] == (
        ["Lost"] * 2 + ["Hibernating"] * 2 + ["Loyal"] * 2 + ["Champions"] * 4)


def test_ties_share_a_score(store):
    """Six one-order customers and four with more: equal customers never split across scores."""
    ones = [store.customer() for _ in range(6)]
    for c in ones:
        store.order(c, 10, days_ago=50)
    more = [store.customer() for _ in range(4)]
    for i, c in enumerate(more):
        for _ in range(2 + i):
            store.order(c, 10, days_ago=50)
    store.recompute()
    assert {store.insight(c).rfm_f for c in ones} == {3}  # ceil(5 * 6 / 10)
    assert [store.insight(c).rfm_f for c in more] == [4, 4, 5, 5]
    assert {store.insight(c).rfm_r for c in ones + more} == {5}  # all tied on recency


def test_group_grid_is_a_partition_and_matches_sql(store):
    groups = {group_of(r, f, m) for r, f, m in itertools.product(range(1, 6), repeat=3)}
    assert groups == set(GROUPS)
    assert group_of(4, 4, 4) == "Champions" and group_of(4, 3, 4) == "Champions"  # FM rounds up
    assert group_of(4, 3, 3) == "Loyal" and group_of(3, 2, 2) == "Potential loyalist"
    assert group_of(1, 4, 4) == "Can't lose" and group_of(2, 4, 4) == "At risk"
    assert group_of(1, 3, 3) == "At risk" and group_of(2, 2, 2) == "Hibernating"
    assert group_of(1, 1, 2) == "Lost"
    for k in range(25):  # varied histories; the SQL CASE must agree with group_of
        c = store.customer()
        for i in range(1 + k % 5):
            store.order(c, 5 + (k * 37) % 90, days_ago=(k * 53) % 300 + i)
    store.recompute()
    rows = store.session.exec(select(CustomerInsight).where(
        CustomerInsight.account_id == store.account.id)).all()
    assert len(rows) == 25
    for row in rows:
        assert row.rfm_group == group_of(row.rfm_r, row.rfm_f, row.rfm_m)


def test_orders_that_do_not_count_give_no_score(store):
    c = store.customer()
    store.order(c, 100, 5, status="cancelled")
    store.recompute()
    assert store.insight(c) is None


def members_of(store, name) -> set[int]:
    segment = store.session.exec(select(Segment).where(
        Segment.account_id == store.account.id, Segment.name == name)).one()
    return set(store.session.exec(select(SegmentMember.customer_id).where(
        SegmentMember.segment_id == segment.id)).all())


def test_membership_changes_are_logged_as_deltas(store):
    big = store.customer()
    small = store.customer()
    store.order(big, 600, 10)
    store.order(small, 50, 10)
    save_segment(store.session, store.account.id, SegmentDefinition(
        name="Big spenders", rule={"metric": "spend", "op": ">=", "value": 500}))
    result = store.recompute()
    assert result.segments == 1 + len(GROUPS)
    assert members_of(store, "Big spenders") == {big.id}
    first = changes_since(store.session, store.account.id)
    seg_id = store.session.exec(select(Segment.id).where(Segment.name == "Big spenders",
                                Segment.account_id == store.account.id)).one()
    assert [(c.segment_id, c.customer_id, c.change) for c in first if c.segment_id == seg_id] == [
        (seg_id, big.id, "added")]
    mark = max(c.id for c in first)

    assert store.recompute().added == 0  # nothing changed: no changes logged
    assert changes_since(store.session, store.account.id, mark) == []

    # small buys a lot, big's order is refunded: incremental run on the changed customers only
    later = NOW + timedelta(hours=1)
    store.order(small, 700, 0, updated=later)
    order = store.session.exec(select(Order).where(Order.customer_id == big.id)).one()
    order.refunded_total, order.updated_at = Decimal(600), later
    store.session.add(order)
    store.session.commit()
    result = store.recompute(since=NOW, now=later)
    assert result.changed_customers == 2
    assert members_of(store, "Big spenders") == {small.id}
    delta = [(c.customer_id, c.change) for c in
             changes_since(store.session, store.account.id, mark, segment_id=seg_id)]
    assert sorted(delta) == sorted([(small.id, "added"), (big.id, "removed")])


def test_net_changes_keep_only_the_latest(store):
    c = store.customer(points_balance=10)
    save_segment(store.session, store.account.id, SegmentDefinition(
        name="Has points", rule={"metric": "points", "op": ">", "value": 0}))
    store.recompute()
    c.points_balance, c.updated_at = 0, NOW + timedelta(minutes=1)
    store.session.add(c)
    store.session.commit()
    store.recompute(since=NOW, now=NOW + timedelta(minutes=2))
    net = [(x.customer_id, x.change) for x in changes_since(store.session, store.account.id)
           if x.customer_id == c.id]
    assert net == [(c.id, "removed")]


def test_incremental_rfm_matches_bounds_of_full_run(store):
    people = []
    for k in range(1, 11):
        c = store.customer()
        for i in range(k):
            store.order(c, 10, days_ago=200 - 10 * k + i)
        people.append(c)
    store.recompute()
    # the weakest customer catches up with the 8th: scored like the 8th without a full run
    later = NOW + timedelta(hours=1)
    for i in range(7):
        store.order(people[0], 10, days_ago=200 - 80 + i, updated=later)
    store.recompute(since=NOW, now=later)
    a, b = store.insight(people[0]), store.insight(people[7])
    assert (a.rfm_r, a.rfm_f, a.rfm_m) == (b.rfm_r, b.rfm_f, b.rfm_m) == (4, 4, 4)
    assert members_of(store, "RFM: Champions") >= {people[0].id, people[7].id}


def test_changed_rule_is_recomputed_in_full(store):
    c = store.customer(points_balance=5)
    d = SegmentDefinition(name="Points", rule={"metric": "points", "op": ">", "value": 10})
    save_segment(store.session, store.account.id, d)
    store.recompute()
    assert members_of(store, "Points") == set()
    save_segment(store.session, store.account.id,
                 SegmentDefinition(name="Points", rule={"metric": "points", "op": ">", "value": 1}),
                 now=NOW + timedelta(minutes=1))
    store.session.commit()
    store.recompute(since=NOW + timedelta(minutes=1), now=NOW + timedelta(minutes=2))
    assert members_of(store, "Points") == {c.id}


def test_definitions_load_from_toml_and_json(tmp_path, session, store, settings):
    from click.testing import CliRunner

    from integration.cli import main

    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "{settings.database.url}"\n'
        f'[security]\nsecret_key = "{settings.security.secret_key}"\n'
        f'encryption_key = "{settings.security.encryption_key}"\n[logging]\nlevel = "ERROR"\n')
    toml = tmp_path / "segments.toml"
    toml.write_text('[[segment]]\nname = "Sale hunters"\n'
                    'rule = { metric = "discount_share", op = ">=", value = 0.8 }\n'
                    '[[segment]]\nname = "Lapsed VIP"\n'
                    'rule = { all = [ { metric = "tier", in = ["Gold"] },'
                    ' { metric = "days_since_last_order", op = ">", value = 180 } ] }\n')
    as_json = tmp_path / "segments.json"
    as_json.write_text('{"segment": [{"name": "Lapsed VIP", "rule": {"not": '
                       '{"metric": "consent", "in": ["subscribed"]}}}]}')
    bad = tmp_path / "bad.toml"
    bad.write_text('[[segment]]\nname = "x"\nrule = { metric = "spend", op = "~", value = 1 }\n')
    runner = CliRunner()
    base = ["--config", str(config), "segments"]
    account = str(store.account.id)
    store.session.commit()
    assert runner.invoke(main, [*base, "load", str(toml), "--account", account]).exit_code == 0
    assert runner.invoke(main, [*base, "load", str(as_json), "--account", account]).exit_code == 0
    refused = runner.invoke(main, [*base, "load", str(bad), "--account", account])
    assert refused.exit_code == 1 and "op" in refused.output
    session.rollback()
    rules = dict(session.exec(select(Segment.name, Segment.rule).where(
        Segment.account_id == store.account.id)).all())
    assert rules["Lapsed VIP"] == {"not": {"metric": "consent", "in": ["subscribed"]}}
    assert rules["Sale hunters"]["metric"] == "discount_share"
    listed = runner.invoke(main, [*base, "list", "--account", account])
    assert "Sale hunters" in listed.output


INCREMENTAL_RULES = {
    "Spend 90 d": {"metric": "spend", "window_days": 90, "op": ">=", "value": 100},
    "No orders 90 d": {"metric": "order_count", "window_days": 90, "op": "<", "value": 1},
    "Frequent": {"metric": "order_count", "op": ">=", "value": 3},
    "High AOV": {"metric": "aov", "op": ">=", "value": 60},
    "Recent": {"metric": "days_since_last_order", "op": "<=", "value": 30},
    "Sale tag": {"metric": "bought", "tag": "sale"},
    "Points or Gold": {"any": [{"metric": "points", "op": ">=", "value": 100},
                               {"metric": "tier", "in": ["Gold"]}]},
    "Not subscribed": {"not": {"metric": "consent", "in": ["subscribed"]}},
}


def memberships(store) -> dict[tuple[int, int], datetime]:
    """(segment, customer) -> added_at of every membership of the account."""
    rows = store.session.exec(select(SegmentMember).where(
        SegmentMember.account_id == store.account.id)).all()
    return {(m.segment_id, m.customer_id): m.added_at for m in rows}


def test_incremental_run_equals_full_run_and_leaves_the_others_alone(store):
    from integration.models import OrderLine, Tier

    gold = Tier(account_id=store.account.id, name="Gold", threshold=Decimal(500))
    store.session.add(gold)
    store.session.flush()
    people = []
    for k in range(24):
        c = store.customer(points_balance=(k * 37) % 160,
                           consent="subscribed" if k % 3 else "unknown")
        for i in range(k % 5):
            o = store.order(c, 20 + (k * 13 + i * 7) % 90, days_ago=(k * 11 + i * 29) % 200)
            if (k + i) % 4 == 0:
                store.session.add(OrderLine(account_id=store.account.id, order_id=o.id,
                                            tags="Sale, Summer", price=o.total))
        people.append(c)
    for name, rule in INCREMENTAL_RULES.items():
        save_segment(store.session, store.account.id, SegmentDefinition(name=name, rule=rule),
                     now=NOW - timedelta(days=1))
    store.recompute()
    before = memberships(store)
    mark = max(c.id for c in changes_since(store.session, store.account.id))

    later = NOW + timedelta(hours=1)
    buyer, mover, cancelled, promoted, newcomer = people[1], people[2], people[6], people[7], people[5]
    o = store.order(buyer, 250, days_ago=0, updated=later)  # big recent order with a sale line
    store.session.add(OrderLine(account_id=store.account.id, order_id=o.id, tags="sale",
                                price=o.total))
    mover.points_balance, mover.updated_at = mover.points_balance + 500, later
    for order in store.session.exec(select(Order).where(Order.customer_id == cancelled.id)):
        order.status, order.updated_at = "cancelled", later  # no counted orders any more
        store.session.add(order)
    promoted.tier_id, promoted.updated_at = gold.id, later
    store.order(newcomer, 80, days_ago=1, updated=later)
    store.session.add_all([mover, promoted])
    store.session.commit()
    changed = {c.id for c in (buyer, mover, cancelled, promoted, newcomer)}

    result = store.recompute(since=NOW, now=later)
    assert result.changed_customers == len(changed)
    after = memberships(store)
    log = [c for c in changes_since(store.session, store.account.id, mark)]
    assert log and {c.customer_id for c in log} <= changed
    assert len({(c.segment_id, c.customer_id) for c in log}) == len(log)  # each change once
    assert {k: v for k, v in after.items() if k[1] not in changed} == {
        k: v for k, v in before.items() if k[1] not in changed}  # the others untouched
    assert store.insight(cancelled).orders == 0 and store.insight(cancelled).rfm_group is None

    again = store.recompute(since=NOW, now=later)  # the same changes once more: nothing new
    assert (again.added, again.removed) == (0, 0)
    assert memberships(store) == after

    rule_ids = set(store.session.exec(select(Segment.id).where(
        Segment.account_id == store.account.id, Segment.kind == "rule")).all())
    full = store.recompute(now=later)  # what a full run at the same moment decides
    rule_changes = [c for c in changes_since(store.session, store.account.id, mark)
                    if c.segment_id in rule_ids and c.id > max(x.id for x in log)]
    assert rule_changes == [] and full.segments == len(INCREMENTAL_RULES) + len(GROUPS)
    assert {k for k in memberships(store) if k[0] in rule_ids} == {
        k for k in after if k[0] in rule_ids}
    for segment in store.session.exec(select(Segment).where(
            Segment.account_id == store.account.id)).all():
        store.session.refresh(segment)
        assert segment.member_count == sum(1 for k in memberships(store) if k[0] == segment.id)


def test_a_redacted_customer_leaves_segments_on_the_next_incremental_run(store):
    from integration.privacy import redact_customer

    c = store.customer(points_balance=10)
    save_segment(store.session, store.account.id, SegmentDefinition(
        name="Has points", rule={"metric": "points", "op": ">", "value": 0}),
        now=NOW - timedelta(days=1))
    store.recompute()
    assert members_of(store, "Has points") == {c.id}
    redact_customer(store.session, store.account.id, c.id, now=NOW + timedelta(minutes=1))
    store.session.commit()
    store.recompute(since=NOW, now=NOW + timedelta(minutes=2))
    assert members_of(store, "Has points") == set()
