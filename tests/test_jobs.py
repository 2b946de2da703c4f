"""The ledger and insight jobs, run through ``run_job`` against the real database."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlmodel import select

from integration.accounts import create_account
from integration.db import utcnow
from integration.ledger import post_entry
from integration.models import (
    Customer,
    CustomerInsight,
    EntryKind,
    LedgerEntry,
    Order,
    RunStatus,
    Segment,
    SegmentMember,
    Tier,
)
from integration.program import Bonuses, Expiry, ProgramSettings
from integration.segments import SegmentDefinition, save_segment
from jobs.runs import run_job


def new_account(session, **kwargs):
    account = create_account(session, f"Jobs {uuid.uuid4().hex[:6]}", **kwargs)
    session.commit()
    return account


def new_customer(session, account, **fields) -> Customer:
    c = Customer(account_id=account.id, email=f"{uuid.uuid4().hex[:10]}@x.com", **fields)
    session.add(c)
    session.commit()
    return c


def reload(session, model, key):
    session.rollback()  # end the read snapshot: the job wrote in its own transactions
    session.expire_all()
    return session.get(model, key)


def test_points_coming_due_mark_the_customer(session, runtime):
    account = new_account(session)
    start = utcnow()
    c = new_customer(session, account, updated_at=start - timedelta(days=1))
    post_entry(session, c, amount=40, kind=EntryKind.EARN, key=f"t:{c.id}",
               available_at=start + timedelta(hours=1), now=start)
    c.updated_at = start - timedelta(days=1)
    session.add(c)
    session.commit()
    before = run_job(runtime, "points-due", now=start + timedelta(minutes=30))
    assert before.status == RunStatus.SUCCEEDED
    assert reload(session, Customer, c.id).updated_at < start  # still pending: untouched

    due = start + timedelta(hours=2)
    run = run_job(runtime, "points-due", now=due)
    assert run.status == RunStatus.SUCCEEDED and run.counts["customers"] >= 1
    assert reload(session, Customer, c.id).updated_at == due
    again = run_job(runtime, "points-due", now=due + timedelta(minutes=15))
    assert again.counts["customers"] == 0  # each entry comes due once


def test_expiry_expires_and_warns(session, runtime):
    program = ProgramSettings(expiry=Expiry(mode="inactivity", months=1))
    account = new_account(session, program=program)
    now = utcnow()
    idle = new_customer(session, account)
    active = new_customer(session, account)
    post_entry(session, idle, amount=100, kind=EntryKind.BONUS, key=f"b:{idle.id}",
               now=now - timedelta(days=60))
    post_entry(session, active, amount=70, kind=EntryKind.BONUS, key=f"b:{active.id}",
               now=now - timedelta(days=5))
    session.commit()

    run = run_job(runtime, "points-expiry", now=now)
    assert run.status == RunStatus.SUCCEEDED
    assert reload(session, Customer, idle.id).points_balance == 0
    warning = reload(session, CustomerInsight, active.id)
    assert warning.points_expiring == 70
    assert warning.points_expiring_at == now - timedelta(days=5) + timedelta(days=30)
    assert reload(session, CustomerInsight, idle.id).points_expiring == 0

    run_job(runtime, "points-expiry", now=now + timedelta(minutes=5))
    entries = session.exec(select(LedgerEntry).where(LedgerEntry.customer_id == idle.id,
                                                     LedgerEntry.kind == EntryKind.EXPIRE)).all()
    assert [e.amount for e in entries] == [-100]  # a rerun posts nothing


def birthday_bonuses(session, customer) -> list[str]:
    session.rollback()
    return [e.idempotency_key for e in session.exec(select(LedgerEntry).where(
        LedgerEntry.customer_id == customer.id, LedgerEntry.kind == EntryKind.BONUS))]


def test_birthdays_follow_the_account_time_zone_and_pay_once_a_year(session, runtime):
    program = ProgramSettings(bonuses=Bonuses(birthday=100))
    auckland = new_account(session, timezone="Pacific/Auckland", program=program)
    utc = new_account(session, timezone="UTC", program=program)
    today = new_customer(session, auckland, birthday=date(1990, 11, 24))
    tomorrow = new_customer(session, auckland, birthday=date(1990, 11, 25))
    long_ago = new_customer(session, auckland, birthday=date(1990, 11, 10))
    not_yet_in_utc = new_customer(session, utc, birthday=date(1990, 11, 24))
    # 12:00 UTC on 23 November is already 24 November (01:00) in Auckland
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    run_job(runtime, "birthdays", now=now)
    assert birthday_bonuses(session, today) == [f"bonus:birthday:{today.id}:2026"]
    assert birthday_bonuses(session, tomorrow) == []
    assert birthday_bonuses(session, long_ago) == []
    assert birthday_bonuses(session, not_yet_in_utc) == []
    assert reload(session, Customer, today.id).points_balance == 100

    run_job(runtime, "birthdays", now=now + timedelta(hours=1))
    assert len(birthday_bonuses(session, today)) == 1
    # a scheduler that was down catches up within the week; the UTC account's day came too
    run_job(runtime, "birthdays", now=now + timedelta(days=2))
    assert len(birthday_bonuses(session, tomorrow)) == 1
    assert len(birthday_bonuses(session, not_yet_in_utc)) == 1


def test_leap_day_birthdays_fall_on_28_february(session, runtime):
    account = new_account(session, program=ProgramSettings(bonuses=Bonuses(birthday=10)))
    leap = new_customer(session, account, birthday=date(2000, 2, 29))
    run_job(runtime, "birthdays", now=datetime(2027, 2, 28, 9, tzinfo=UTC))
    assert birthday_bonuses(session, leap) == [f"bonus:birthday:{leap.id}:2027"]


def test_tiers_are_reevaluated(session, runtime, box):
    from integration.accounts import add_connection

    account = new_account(session)
    conn = add_connection(session, box, account, platform="shopify",
                          external_id=f"{uuid.uuid4().hex[:8]}.myshopify.com", credentials={})
    silver = Tier(account_id=account.id, name="Silver", threshold=Decimal(100))
    gold = Tier(account_id=account.id, name="Gold", threshold=Decimal(500))
    session.add_all([silver, gold])
    big = new_customer(session, account)
    small = new_customer(session, account)
    now = utcnow()
    for i, (who, total) in enumerate([(big, 600), (small, 150)]):
        session.add(Order(account_id=account.id, connection_id=conn.id, platform_id=str(i),
                          customer_id=who.id, currency="USD", status="paid", total=Decimal(total),
                          subtotal=Decimal(total), placed_at=now - timedelta(days=3),
                          awarded_at=now - timedelta(days=3)))
    session.commit()
    run = run_job(runtime, "tiers", now=now)
    assert run.status == RunStatus.SUCCEEDED and run.counts["tier_changes"] >= 2
    assert reload(session, Customer, big.id).tier_id == gold.id
    assert reload(session, Customer, small.id).tier_id == silver.id


def test_segment_jobs_full_then_incremental(session, runtime):
    account = new_account(session)
    rich = new_customer(session, account, points_balance=900)
    save_segment(session, account.id, SegmentDefinition(
        name="Rich", rule={"metric": "points", "op": ">=", "value": 500}))
    session.commit()
    full = run_job(runtime, "segments-full")
    assert full.status == RunStatus.SUCCEEDED and full.counts["mode"] == "full"
    seg = session.exec(select(Segment).where(Segment.account_id == account.id,
                                             Segment.name == "Rich")).one()
    members = lambda: set(session.exec(select(SegmentMember.customer_id).where(  # noqa: E731
        SegmentMember.segment_id == seg.id)).all())
    assert members() == {rich.id}
    newcomer = new_customer(session, account, points_balance=800)
    # stamped before the full run started, committed after it read: the next run still sees it
    straggler = new_customer(session, account, points_balance=700,
                             updated_at=full.started_at - timedelta(minutes=1))
    incremental = run_job(runtime, "segments")
    assert incremental.counts["mode"] == "incremental"
    assert members() == {rich.id, newcomer.id, straggler.id}


def test_clv_without_enough_data_is_not_a_failure(session, runtime):
    new_account(session)
    run = run_job(runtime, "clv")
    assert run.status == RunStatus.SUCCEEDED
    assert run.counts["accounts_without_fit"] >= 1
