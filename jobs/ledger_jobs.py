"""Ledger jobs: pending points coming due, expiry (and the warning before it), birthdays, tiers.

Each sweeps every active account in small transactions (``BATCH`` customers each), so a long run
never holds SQLite's write lock for long and a crash loses at most one batch, which the next run
redoes: every ledger write here has a natural idempotency key.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, or_, select

from integration import ledger
from integration.db import read_session, write_session
from integration.ledger.entries import find_entry
from integration.ledger.periods import months
from integration.models import Account, Customer, CustomerInsight, LedgerEntry, Order
from integration.program import ProgramSettings, program_of
from integration.sqlfuncs import month_day
from jobs.registry import job
from jobs.runs import JobContext, last_success

BATCH = 200
BIRTHDAY_CATCH_UP_DAYS = 7  # a scheduler down for a few days still pays the birthdays it missed


def active_accounts(session: Session) -> list[Account]:
    return list(session.exec(select(Account).where(Account.status == "active").order_by(Account.id)))


def _batches(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start:start + BATCH]


@job("points-due", minutes=15)
def points_due(ctx: JobContext) -> None:
    """Mark customers whose pending points became available, so pushes send the new balance.

    Pending is derived (``available_at`` in the future), so nothing moves in the ledger: the job
    bumps ``customer.updated_at`` of every customer with an entry that came due since the last
    successful run, which is what pushes look at.
    """
    with read_session(ctx.runtime.engine) as session:
        last = last_success(session, "points-due")
    since = (datetime.fromisoformat(last.counts["through"]) if last and "through" in last.counts
             else ctx.now - timedelta(days=366))
    came_due = (
        select(LedgerEntry.customer_id)
        .where(LedgerEntry.available_at > since, LedgerEntry.available_at <= ctx.now,
               LedgerEntry.available_at > LedgerEntry.created_at)
        .distinct()
    )
    with write_session(ctx.runtime.engine) as session:
        result = session.execute(
            update(Customer).where(Customer.id.in_(came_due)).values(updated_at=ctx.now)  # type: ignore[union-attr]
        )
    ctx.count("customers", result.rowcount)
    ctx.counts["through"] = ctx.now.isoformat()  # type: ignore[assignment]


def _save_expiry(session: Session, customer: Customer, expiring: ledger.Expiring | None,
                 now: datetime) -> bool:
    points, at = (expiring.points, expiring.at) if expiring else (0, None)
    insight = session.get(CustomerInsight, customer.id)
    if insight is None:
        insight = CustomerInsight(customer_id=customer.id, account_id=customer.account_id)
    elif insight.points_expiring == points and insight.points_expiring_at == at:
        return False
    insight.points_expiring, insight.points_expiring_at, insight.updated_at = points, at, now
    session.add(insight)
    return True


@job("points-expiry", minutes=60)
def points_expiry(ctx: JobContext) -> None:
    """Expire points that are due and store each customer's next expiry (points_expiring_at)."""
    with read_session(ctx.runtime.engine) as session:
        accounts = [(a.id, program_of(a)) for a in active_accounts(session)]
    for account_id, program in accounts:
        if program.expiry.mode == "none":
            continue
        with read_session(ctx.runtime.engine) as session:
            ids = list(session.exec(
                select(Customer.id).where(
                    Customer.account_id == account_id,
                    or_(Customer.points_balance > 0, Customer.id.in_(  # type: ignore[union-attr]
                        select(CustomerInsight.customer_id).where(
                            CustomerInsight.account_id == account_id,
                            CustomerInsight.points_expiring > 0))),
                ).order_by(Customer.id)
            ))
        ctx.progress(0, len(ids))
        for chunk in _batches(ids):
            with write_session(ctx.runtime.engine) as session:
                for customer in ledger.lock_customers(session, chunk):
                    entry = ledger.expire_points(session, program, customer, ctx.now)
                    if entry is not None:
                        ctx.count("expired_entries")
                        ctx.count("expired_points", -entry.amount)
                    expiring = ledger.upcoming_expiry(session, program, customer, ctx.now)
                    if _save_expiry(session, customer, expiring, ctx.now):
                        ctx.count("warnings_updated")
            ctx.progress(len(chunk))


def _birthday_keys(day: date) -> list[str]:
    """'MM-DD' values celebrated on ``day``: 29 February birthdays fall on 28 February in common
    years."""
    keys = [day.strftime("%m-%d")]
    if day.month == 2 and day.day == 28 and not _is_leap(day.year):
        keys.append("02-29")
    return keys


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


@job("birthdays", minutes=60)
def birthdays(ctx: JobContext) -> None:
    """Award birthday bonuses, once per customer per year, on the day in the account's time zone."""
    with read_session(ctx.runtime.engine) as session:
        accounts = [(a.id, a.timezone, program_of(a)) for a in active_accounts(session)]
    for account_id, timezone, program in accounts:
        if program.bonuses.birthday <= 0:
            continue
        today = ctx.now.astimezone(ZoneInfo(timezone)).date()
        for back in range(BIRTHDAY_CATCH_UP_DAYS):
            day = today - timedelta(days=back)
            _award_birthdays_on(ctx, account_id, program, day)


def _award_birthdays_on(ctx: JobContext, account_id: int, program: ProgramSettings,
                        day: date) -> None:
    with read_session(ctx.runtime.engine) as session:
        ids = list(session.exec(
            select(Customer.id).where(
                Customer.account_id == account_id,
                Customer.birthday.is_not(None),  # type: ignore[union-attr]
                Customer.redacted_at.is_(None),  # type: ignore[union-attr]
                month_day(Customer.birthday).in_(_birthday_keys(day)),
            )
        ))
    for chunk in _batches(ids):
        with write_session(ctx.runtime.engine) as session:
            for customer in ledger.lock_customers(session, chunk):
                already = find_entry(session, account_id, f"bonus:birthday:{customer.id}:{day.year}")
                if already is None and ledger.award_birthday(
                        session, program, customer, day.year, ctx.now):
                    ctx.count("birthday_bonuses")


@job("tiers", minutes=360)
def tiers(ctx: JobContext) -> None:
    """Re-evaluate VIP tiers over the rolling window (upgrades, and demotions after retention)."""
    with read_session(ctx.runtime.engine) as session:
        accounts = [(a.id, program_of(a)) for a in active_accounts(session)]
    for account_id, program in accounts:
        with read_session(ctx.runtime.engine) as session:
            tier_list = ledger.tiers_of(session, account_id)
            if not tier_list:
                continue
            since = ctx.now - months(program.tiers.window_months)
            ids = list(session.exec(
                select(Customer.id).where(
                    Customer.account_id == account_id,
                    or_(
                        Customer.tier_id.is_not(None),  # type: ignore[union-attr]
                        Customer.id.in_(select(Order.customer_id).where(  # type: ignore[union-attr]
                            Order.account_id == account_id, Order.placed_at >= since)),
                        Customer.id.in_(select(LedgerEntry.customer_id).where(  # type: ignore[union-attr]
                            LedgerEntry.account_id == account_id, LedgerEntry.created_at >= since)),
                    ),
                ).order_by(Customer.id)
            ))
        ctx.progress(0, len(ids))
        for chunk in _batches(ids):
            with write_session(ctx.runtime.engine) as session:
                tier_list = ledger.tiers_of(session, account_id)
                customers = ledger.lock_customers(session, chunk)
                values = ledger.qualifying_values(
                    session, program, account_id, [c.id for c in customers], ctx.now
                )
                changes = []
                for customer in customers:
                    fields = ledger.tier_changes(
                        program, customer, ctx.now, tier_list, values[customer.id]
                    )
                    if "tier_id" in fields:
                        fields["updated_at"] = ctx.now  # segments recompute changed customers
                        ctx.count("tier_changes")
                    changes.append((customer, fields))
                    ctx.count("evaluated")
                ledger.write_tier_changes(session, changes)
            ctx.progress(len(chunk))
