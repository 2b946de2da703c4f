"""Imports from other loyalty apps: reports, idempotent re-runs, tiers, history, bad files."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import Session, select

from integration.accounts import create_account
from integration.db import write_session
from integration.ledger import check_account
from integration.models import Customer, EntryKind, LedgerEntry, Tier
from integration.portability.formats import SOURCES
from integration.portability.importer import import_file
from integration.portability.reader import ImportFileError

DATA = Path(__file__).parent / "data" / "portability"


@pytest.fixture
def account_id(engine) -> int:
    with write_session(engine) as session:
        return create_account(session, f"Import {uuid.uuid4().hex[:6]}").id


def balances(engine, account_id: int) -> dict[str | None, int]:
    with Session(engine) as session:
        rows = session.exec(select(Customer).where(Customer.account_id == account_id)).all()
        return {c.email: c.points_balance for c in rows}


def assert_ledger_ok(engine, account_id: int) -> None:
    with Session(engine) as session:
        report = check_account(session, account_id)
    assert report.ok, report.problems


def reasons(report) -> list[str]:
    return [str(r) for r in report.rejections]


def test_smile_points_file_report_and_balances(engine, account_id):
    with write_session(engine) as session:
        session.add(Customer(account_id=account_id, email="erin@example.com", is_guest=False))

    report = import_file(engine, DATA / "smile_points.csv", "smile", account_id=account_id)

    assert (report.rows, report.new, report.matched, report.duplicates, report.rejected) == (9, 2, 1, 1, 5)
    assert report.customers_created == 2 and report.points == 425
    assert balances(engine, account_id) == {
        "ada@example.com": 100, "bob@example.com": 250, "erin@example.com": 75,
    }
    assert reasons(report) == [
        "line 4, column 'points', value '1,200': expected a whole number of points without "
        "thousands separators (52620, not 52,620)",
        "line 5: no e-mail and no customer id: the row names nobody",
        "line 6: column 'points', value -5: expected a balance of 0 or more",
        "line 9, column 'points', value '12.5': expected a whole number of points",
        "line 10, column 'email', value 'not-an-email': expected an e-mail address",
    ]
    with Session(engine) as session:
        entry = session.exec(select(LedgerEntry).where(
            LedgerEntry.account_id == account_id,
            LedgerEntry.idempotency_key == "import:smile:balance:bob@example.com")).one()
    assert entry.kind == EntryKind.IMPORT and entry.source == "import:smile"
    assert entry.reason == "opening balance from Smile.io points file"
    assert entry.data["import"]["line"] == 3
    assert_ledger_ok(engine, account_id)


def test_rerun_changes_nothing_and_a_changed_balance_is_a_conflict(engine, account_id, tmp_path):
    import_file(engine, DATA / "smile_points.csv", "smile", account_id=account_id)
    before = balances(engine, account_id)

    again = import_file(engine, DATA / "smile_points.csv", "smile", account_id=account_id)

    assert (again.already_imported, again.new, again.matched, again.customers_created) == (3, 0, 0, 0)
    assert again.duplicates == 1 and balances(engine, account_id) == before

    changed = tmp_path / "changed.csv"
    changed.write_text("email,points\nada@example.com,150\n")
    report = import_file(engine, changed, "smile", account_id=account_id)
    assert report.rejected == 1
    assert "already imported as +100 points" in reasons(report)[0]
    assert "this row says +150" in reasons(report)[0]
    assert balances(engine, account_id) == before


def test_dry_run_reports_what_the_real_run_does_and_writes_nothing(engine, account_id):
    dry = import_file(engine, DATA / "smile_points.csv", "smile", account_id=account_id,
                      dry_run=True, chunk_size=3)
    assert balances(engine, account_id) == {}
    real = import_file(engine, DATA / "smile_points.csv", "smile", account_id=account_id,
                       chunk_size=3)
    counts = ("rows", "matched", "new", "already_imported", "duplicates", "rejected",
              "customers_created", "points")
    assert dry.dry_run and [getattr(dry, c) for c in counts] == [getattr(real, c) for c in counts]
    assert reasons(dry) == reasons(real)


def test_unknown_customers_can_be_rejected(engine, account_id):
    with write_session(engine) as session:
        session.add(Customer(account_id=account_id, email="ada@example.com", is_guest=False))
    report = import_file(engine, DATA / "smile_points.csv", "smile", account_id=account_id,
                         unknown="reject")
    assert report.matched == 1 and report.new == 0 and report.customers_created == 0
    assert ("line 3: unknown customer bob@example.com: no customer of this account has that "
            "e-mail or id (import with --unknown create to create them)") in reasons(report)
    assert balances(engine, account_id) == {"ada@example.com": 100}


def test_loyaltylion_tiers_are_carried_over(engine, account_id):
    with write_session(engine) as session:
        for name, threshold in (("Bronze", 0), ("Gold", 500)):
            session.add(Tier(account_id=account_id, name=name, threshold=Decimal(threshold)))
    now = datetime(2026, 1, 1, tzinfo=UTC)

    report = import_file(engine, DATA / "loyaltylion_customers.csv", "loyaltylion",
                         account_id=account_id, now=now)

    assert report.tiers_set == 2 and report.new == 3 and report.rejected == 2
    assert reasons(report) == [
        "line 4: column 'tier', value 'Platinum': expected a tier of this account (Bronze, Gold)",
        "line 6, column 'points_approved', value 'abc': expected a whole number of points",
    ]
    with Session(engine) as session:
        tiers = {t.id: t.name for t in session.exec(select(Tier).where(Tier.account_id == account_id))}
        customers = {c.email: c for c in session.exec(
            select(Customer).where(Customer.account_id == account_id))}
    assert tiers[customers["lion1@example.com"].tier_id] == "Gold"
    assert customers["lion1@example.com"].points_balance == 500  # approved points only
    assert customers["lion1@example.com"].tier_kept_until == datetime(2027, 1, 1, tzinfo=UTC)
    assert tiers[customers["lion2@example.com"].tier_id] == "Bronze"
    assert customers["lion4@example.com"].points_balance == 0
    assert customers["lion4@example.com"].tier_id is None
    assert not customers["lion1@example.com"].is_guest
    assert_ledger_ok(engine, account_id)


def test_woocommerce_history_keeps_dates_and_refuses_overdrafts(engine, account_id):
    report = import_file(engine, DATA / "woocommerce_points_log.csv", "woocommerce-history",
                         account_id=account_id)

    assert (report.rows, report.new, report.duplicates, report.rejected) == (7, 4, 1, 2)
    assert reasons(report) == [
        "line 5: column 'points', value -200: the customer's balance would go below zero (balance 80)",
        "line 6, column 'date', value '31/03/2024': expected an ISO 8601 date-time such as "
        "2024-05-01T12:00:00Z",
    ]
    assert balances(engine, account_id) == {"wlog1@example.com": 85, "wlog2@example.com": 80}
    with Session(engine) as session:
        first = session.exec(select(LedgerEntry).where(
            LedgerEntry.account_id == account_id,
            LedgerEntry.idempotency_key == "import:woocommerce:entry:1")).one()
        customer = session.get(Customer, first.customer_id)
    assert first.created_at == datetime(2024, 1, 5, 10, tzinfo=UTC)
    assert first.reason == "order-placed"
    assert customer.last_activity_at == datetime(2024, 4, 1, 10, tzinfo=UTC)
    assert_ledger_ok(engine, account_id)


def test_customers_are_matched_by_the_old_apps_id_on_the_next_file(engine, account_id, tmp_path):
    """WooCommerce balances name user 21 by id; the log imported after finds the same customer."""
    balances_file = tmp_path / "balances.csv"
    balances_file.write_text("user_id,user_email,points\n21,old-address@example.com,10\n")
    import_file(engine, balances_file, "woocommerce", account_id=account_id)
    log = tmp_path / "log.csv"
    log.write_text("id,user_id,user_email,points,type,date\n9,21,new-address@example.com,5,x,2024-01-01\n")
    report = import_file(engine, log, "woocommerce-history", account_id=account_id)
    assert report.matched == 1 and report.customers_created == 0
    assert balances(engine, account_id) == {"old-address@example.com": 15}


def test_smile_history_and_rows_with_the_wrong_number_of_fields(engine, account_id):
    report = import_file(engine, DATA / "smile_history.csv", "smile-history", account_id=account_id)
    assert reasons(report) == ["line 5: expected 5 fields, found 3"]
    assert balances(engine, account_id) == {"sh1@example.com": 100, "sh2@example.com": 50}
    with Session(engine) as session:
        entry = session.exec(select(LedgerEntry).where(
            LedgerEntry.account_id == account_id,
            LedgerEntry.idempotency_key == "import:smile:entry:pt_3")).one()
    assert entry.created_at == datetime(2024, 5, 4, 8, tzinfo=UTC)


def test_generic_balances_with_refs_and_no_email(engine, account_id):
    with write_session(engine) as session:
        session.add(Tier(account_id=account_id, name="Gold", threshold=Decimal(100)))
    report = import_file(engine, DATA / "generic_balances.csv", "generic", account_id=account_id)
    assert report.new == 3 and report.rejected == 0 and report.tiers_set == 1
    assert balances(engine, account_id) == {"gen1@example.com": 1000, "gen2@example.com": 10, None: 30}
    again = import_file(engine, DATA / "generic_balances.csv", "generic", account_id=account_id)
    assert again.already_imported == 3 and again.customers_created == 0


def test_generic_history_in_json_lines(engine, account_id):
    report = import_file(engine, DATA / "generic_history.jsonl", "generic-history",
                         account_id=account_id)
    assert report.duplicates == 1 and report.new == 2
    assert reasons(report) == [
        "line 4, value 'not json': expected a JSON object (Expecting value)",
        "line 5, column 'points', value 'ten': expected a whole number of points",
    ]
    assert balances(engine, account_id) == {"gj1@example.com": 25}


def test_column_mapping_can_be_overridden(engine, account_id):
    source = SOURCES["generic"].with_overrides({"email": "Customer Email", "points": "Points Balance"})
    report = import_file(engine, DATA / "renamed_columns.csv", source, account_id=account_id)
    assert report.new == 2
    assert balances(engine, account_id) == {"rn1@example.com": 70, "rn2@example.com": 30}


@pytest.mark.parametrize(("name", "message"), [
    ("missing_points_column.csv",
     "line 1: no points column for source 'smile': expected a header 'points' or "
     "'points_balance'; found 'email', 'balance'. Map it with --column points=HEADER."),
    ("not_utf8.csv", "line 3: not UTF-8 text (byte 0xe9 at position 4)"),
])
def test_unusable_files_fail_with_the_place_and_write_nothing(engine, account_id, name, message):
    with pytest.raises(ImportFileError) as caught:
        import_file(engine, DATA / name, "smile", account_id=account_id, dry_run=True)
    assert message in str(caught.value)
    with pytest.raises(ImportFileError):
        import_file(engine, DATA / name, "smile", account_id=account_id, chunk_size=100)
    if name == "missing_points_column.csv":
        assert balances(engine, account_id) == {}


def test_an_interrupted_import_is_completed_by_running_it_again(engine, account_id, tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("email,points\n" + "".join(f"c{i}@example.com,{i}\n" for i in range(1, 51)))

    class Interrupted(Exception):
        pass

    def stop_after_two_chunks(_position: int, rows: int) -> None:
        if rows >= 20:
            raise Interrupted

    with pytest.raises(Interrupted):
        import_file(engine, path, "generic", account_id=account_id, chunk_size=10,
                    progress=stop_after_two_chunks)
    assert len(balances(engine, account_id)) == 20  # two committed chunks, nothing half-written
    assert_ledger_ok(engine, account_id)

    report = import_file(engine, path, "generic", account_id=account_id, chunk_size=10)
    assert report.already_imported == 20 and report.new == 30
    assert balances(engine, account_id) == {f"c{i}@example.com": i for i in range(1, 51)}
    assert_ledger_ok(engine, account_id)


def test_a_repeated_customer_with_other_points_is_rejected_not_dropped(engine, account_id, tmp_path):
    path = tmp_path / "dups.csv"
    path.write_text("email,points\nz1@example.com,10\nz1@example.com,10\nz2@example.com,5\n"
                    "z1@example.com,12\n")
    report = import_file(engine, path, "smile", account_id=account_id, chunk_size=2)
    assert report.duplicates == 1
    assert reasons(report) == [
        "line 5: column 'points', value 12: line 2 already gave 10 points for the same customer",
    ]
    assert balances(engine, account_id) == {"z1@example.com": 10, "z2@example.com": 5}
