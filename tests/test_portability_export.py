"""Export of an account, and the round trip: export -> import into an empty account."""

from __future__ import annotations

import csv
import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import Session, select

from integration.accounts import add_connection, create_account
from integration.db import write_session
from integration.events import apply_event
from integration.ledger import adjust, award_signup, check_account, fail_redemption, redeem
from integration.models import Customer, OrderStatus, Reward, RewardKind, Tier
from integration.portability.exporter import EXPORT_TABLES, export_account
from integration.portability.importer import import_file, import_folder
from integration.privacy import redact_customer
from integration.program import Bonuses, ProgramSettings
from integration.records import CustomerRecord, OrderRecord, OrderUpserted

DATA = Path(__file__).parent / "data" / "portability"
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _order(number: int, email: str, total: str, placed: datetime) -> OrderUpserted:
    return OrderUpserted(order=OrderRecord(
        platform_id=str(number), currency="USD", status=OrderStatus.PAID,
        subtotal=Decimal(total), total=Decimal(total), placed_at=placed,
        customer=CustomerRecord(platform_id=f"c-{email}", email=email, first_name=email[:3]),
    ))


@pytest.fixture
def source_account(engine, box) -> int:
    """An account with earnings, a bonus, a redemption given back, an adjustment, pending points
    (return window), tiers, a referral code and a redacted customer."""
    program = ProgramSettings(bonuses=Bonuses(signup=25), return_window_days=30)
    with write_session(engine) as session:
        account = create_account(session, f"Source {uuid.uuid4().hex[:6]}", program=program)
        bronze = Tier(account_id=account.id, name="Bronze", threshold=Decimal(0))
        gold = Tier(account_id=account.id, name="Gold", threshold=Decimal(500),
                    multiplier=Decimal("1.5"), perks="free shipping")
        session.add_all([bronze, gold])
        reward = Reward(account_id=account.id, name="$5 off", kind=RewardKind.FIXED_AMOUNT,
                        points_cost=50, value=Decimal(5))
        session.add(reward)
        connection = add_connection(session, box, account, platform="shopify",
                                    external_id=f"{uuid.uuid4().hex[:8]}.myshopify.com",
                                    credentials={"token": "x"})
        session.flush()
        old = NOW - timedelta(days=90)
        for number, (email, total) in enumerate(
            [("ana@example.com", "320"), ("ben@example.com", "80"), ("cem@example.com", "45")], 1
        ):
            apply_event(session, account, connection, _order(number, email, total, old), now=old)
        apply_event(session, account, connection, _order(9, "ana@example.com", "60", NOW), now=NOW)
        customers = {c.email: c for c in session.exec(
            select(Customer).where(Customer.account_id == account.id))}
        ana, ben, cem = (customers[e] for e in ("ana@example.com", "ben@example.com", "cem@example.com"))
        for customer in (ana, ben):
            award_signup(session, program, customer, now=NOW)
        first = redeem(session, account.id, ana.id, reward.id, key="r-1", now=NOW)
        redeem(session, account.id, ben.id, reward.id, key="r-2", now=NOW)
        fail_redemption(session, first, "store refused", now=NOW)
        adjust(session, account.id, cem.id, amount=-5, reason="correction", actor="owner", now=NOW)
        ana.tier_id, ana.tier_achieved_at, ana.tier_kept_until = gold.id, old, NOW + timedelta(days=300)
        ana.referral_code = "ANA123"
        ben.tier_id, ben.tier_achieved_at, ben.tier_kept_until = bronze.id, old, NOW + timedelta(days=10)
        session.add_all([ana, ben])
        redact_customer(session, account.id, cem.id, now=NOW)
        return account.id


def snapshot(engine, account_id: int) -> list[tuple]:
    """Per customer in creation order: e-mail, balance, tier, tier dates, referral code."""
    with Session(engine) as session:
        tiers = {t.id: t.name for t in session.exec(select(Tier).where(Tier.account_id == account_id))}
        return [
            (c.email, c.points_balance, tiers.get(c.tier_id), c.tier_achieved_at,
             c.tier_kept_until, c.referral_code, c.is_guest, c.first_name)
            for c in session.exec(select(Customer).where(Customer.account_id == account_id)
                                  .order_by(Customer.id))
        ]


def assert_ledger_ok(engine, account_id: int) -> None:
    with Session(engine) as session:
        report = check_account(session, account_id)
    assert report.ok, report.problems


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_round_trip_gives_identical_balances_and_tiers(engine, source_account, tmp_path, fmt):
    counts = export_account(engine, source_account, tmp_path / "export", fmt=fmt)
    assert counts["customers"] == 3 and counts["tiers"] == 2 and counts["redemptions"] == 2
    with write_session(engine) as session:
        target = create_account(session, f"Target {uuid.uuid4().hex[:6]}").id

    reports = import_folder(engine, tmp_path / "export", account_id=target, chunk_size=4)

    assert [r.rejected for r in reports] == [0, 0, 0]
    assert [r.rows for r in reports] == [counts["tiers"], counts["customers"], counts["ledger"]]
    expected = snapshot(engine, source_account)
    assert expected[2][0] is None  # the redacted customer travels without an e-mail
    assert snapshot(engine, target) == expected
    assert_ledger_ok(engine, target)
    with Session(engine) as session:
        pending = session.exec(select(Customer).where(
            Customer.account_id == target, Customer.email == "ana@example.com")).one()
        from integration.ledger import pending_points
        assert pending_points(session, pending, NOW) == 60  # the return window carried over

    again = import_folder(engine, tmp_path / "export", account_id=target)
    assert again[2].already_imported == counts["ledger"] and again[1].customers_created == 0
    assert snapshot(engine, target) == expected


def test_export_files_and_manifest(engine, source_account, tmp_path):
    export_account(engine, source_account, tmp_path / "csv", fmt="csv")
    export_account(engine, source_account, tmp_path / "jsonl", fmt="jsonl")
    manifest = json.loads((tmp_path / "csv" / "manifest.json").read_text())
    assert manifest["format"] == "sadakat-export" and manifest["version"] == 1
    for table in EXPORT_TABLES:
        with open(tmp_path / "csv" / f"{table.name}.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        lines = (tmp_path / "jsonl" / f"{table.name}.jsonl").read_text().splitlines()
        assert len(rows) == len(lines) == manifest["files"][table.name]["rows"]
        assert list(json.loads(lines[0])) == list(rows[0]) == table.columns()
    with open(tmp_path / "csv" / "customers.csv", newline="") as f:
        ana = next(r for r in csv.DictReader(f) if r["email"] == "ana@example.com")
    assert ana["tier"] == "Gold" and ana["is_guest"] == "false"
    assert ana["tier_kept_until"].endswith("Z")
    tiers = [json.loads(x) for x in (tmp_path / "jsonl" / "tiers.jsonl").read_text().splitlines()]
    assert tiers[1]["multiplier"] == "1.5000" and tiers[1]["perks"] == "free shipping"


def test_woocommerce_balances_with_a_zero_balance(engine, tmp_path):
    with write_session(engine) as session:
        account_id = create_account(session, f"Woo {uuid.uuid4().hex[:6]}").id
    report = import_file(engine, DATA / "woocommerce_points.csv", "woocommerce",
                         account_id=account_id)
    assert report.new == 3 and report.points == 345
    export_account(engine, account_id, tmp_path, fmt="csv")
    with open(tmp_path / "ledger.csv", newline="") as f:
        entries = list(csv.DictReader(f))
    assert [(e["email"], e["amount"], e["kind"], e["source"]) for e in entries] == [
        ("woo1@example.com", "300", "import", "import:woocommerce"),
        ("woo3@example.com", "45", "import", "import:woocommerce"),
    ]
