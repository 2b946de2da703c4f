"""The analytics report on a small store whose figures are worked out by hand."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from click.testing import CliRunner

from integration.accounts import add_connection, create_account
from integration.analytics import build_report
from integration.cli import main
from integration.ledger import post_entry
from integration.models import Customer, EntryKind, Order, Tier


def at(month: int, day: int = 10) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


@pytest.fixture
def store(session, box):
    account = create_account(session, f"Report {uuid.uuid4().hex[:6]}")
    conn = add_connection(session, box, account, platform="shopify",
                          external_id=f"{uuid.uuid4().hex[:8]}.myshopify.com", credentials={})
    gold = Tier(account_id=account.id, name="Gold", threshold=Decimal(100))
    session.add(gold)
    session.flush()
    ann = Customer(account_id=account.id, email=f"ann{uuid.uuid4().hex[:5]}@x.com",
                   is_guest=False, tier_id=gold.id)
    ben = Customer(account_id=account.id, email=f"ben{uuid.uuid4().hex[:5]}@x.com",
                   is_guest=False)
    gus = Customer(account_id=account.id, email=f"gus{uuid.uuid4().hex[:5]}@x.com", is_guest=True)
    session.add_all([ann, ben, gus])
    session.flush()
    n = 0
    for who, total, when, status, refunded in [
        (ann, 100, at(1), "paid", 0), (ann, 50, at(1, 20), "paid", 0),   # Jan: ann twice
        (ben, 40, at(1), "paid", 10),                                      # Jan: ben, 10 refunded
        (gus, 30, at(1), "paid", 0),                                       # Jan: guest
        (None, 20, at(1), "paid", 0),                                      # Jan: no customer
        (ann, 60, at(2), "paid", 0),                                       # Feb: ann returns
        (ben, 999, at(2), "cancelled", 0),                                 # never counts
        (ben, 70, at(3), "completed", 0),                                  # Mar: ben returns
    ]:
        n += 1
        session.add(Order(account_id=account.id, connection_id=conn.id, platform_id=str(n),
                          customer_id=who.id if who else None, currency="USD", status=status,
                          total=Decimal(total), subtotal=Decimal(total),
                          refunded_total=Decimal(refunded), placed_at=when))
    for key, who, amount, kind, when in [
        ("e1", ann, 150, EntryKind.EARN, at(1)), ("e2", ben, 40, EntryKind.EARN, at(1)),
        ("r1", ann, -100, EntryKind.REDEEM, at(1, 25)), ("x1", ben, -40, EntryKind.EXPIRE, at(2)),
    ]:
        post_entry(session, who, amount=amount, kind=kind, key=f"{key}:{account.id}", now=when)
    session.commit()
    return account


def test_periods(session, store):
    report = build_report(session, store.id)
    jan, feb, mar = report.periods
    assert jan["period"] == "2026-01" and jan["orders"] == 5 and jan["buyers"] == 3
    assert jan["revenue"] == Decimal("230.00") and jan["aov"] == Decimal("46.00")
    assert jan["purchase_frequency"] == 1.33          # 4 orders by 3 known buyers
    assert jan["repeat_purchase_rate"] == 0.3333      # ann ordered twice
    assert (jan["member_orders"], jan["member_revenue"]) == (3, Decimal("180.00"))
    assert (jan["non_member_orders"], jan["non_member_revenue"]) == (2, Decimal("50.00"))
    assert jan["member_aov"] == Decimal("60.00") and jan["non_member_aov"] == Decimal("25.00")
    assert feb["orders"] == 1 and feb["repeat_purchase_rate"] == 1.0  # ann had ordered before
    assert mar["revenue"] == Decimal("70.00") and mar["repeat_purchase_rate"] == 1.0


def test_points_tiers_cohorts(session, store):
    report = build_report(session, store.id)
    assert report.points == [
        {"period": "2026-01", "issued": 190, "redeemed": 100, "expired": 0,
         "redemption_rate": round(100 / 190, 4)},
        {"period": "2026-02", "issued": 0, "redeemed": 0, "expired": 40, "redemption_rate": None},
    ]
    assert report.tiers == [{"tier": "(none)", "customers": 2, "share": 0.6667},
                            {"tier": "Gold", "customers": 1, "share": 0.3333}]
    assert report.cohorts == [{"cohort": "2026-01", "customers": 3, "m1": 0.3333, "m2": 0.3333}]


def test_year_period_and_range(session, store):
    report = build_report(session, store.id, period="year", since=at(2, 1), until=at(3, 1))
    assert [(p["period"], p["orders"]) for p in report.periods] == [("2026", 1)]


def test_cli_outputs(store, config_path):
    runner = CliRunner()
    base = ["--config", config_path, "report", "--account", str(store.id)]
    as_json = runner.invoke(main, [*base, "--format", "json"], catch_exceptions=False)
    data = json.loads(as_json.output)
    assert data["periods"][0]["revenue"] == "230.00" and data["tiers"][1]["tier"] == "Gold"
    as_csv = runner.invoke(main, [*base, "--format", "csv", "--section", "points"])
    assert as_csv.output.splitlines()[0] == "period,issued,redeemed,expired,redemption_rate"
    table = runner.invoke(main, base)
    assert table.exit_code == 0 and "cohorts" in table.output
    assert runner.invoke(main, [*base, "--format", "csv"]).exit_code == 2
    missing = runner.invoke(main, ["--config", config_path, "report", "--account", "999999"])
    assert missing.exit_code == 1 and "not found" in missing.output
