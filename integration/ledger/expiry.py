"""Points expiry, by entries.

- ``inactivity``: when a customer has neither earned nor spent for N months, the available
  balance expires.
- ``fixed_age``: each credit expires N months after it became available. Debits consume the
  oldest credits first (FIFO), so what expires is the part of old credits nothing has used.

``upcoming_expiry`` tells marketers what will leave and when, before it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from integration.db import utcnow
from integration.ledger.entries import available_points, lock_customer, post_entry
from integration.ledger.periods import months
from integration.models import Customer, EntryKind, LedgerEntry
from integration.program import ProgramSettings


@dataclass(frozen=True)
class Expiring:
    at: datetime
    points: int


def _unused_credits(session: Session, customer: Customer) -> list[tuple[LedgerEntry, int]]:
    """Credits with the part of each that debits have not consumed yet, oldest first."""
    entries = session.exec(
        select(LedgerEntry)
        .where(LedgerEntry.customer_id == customer.id)
        .order_by(LedgerEntry.available_at, LedgerEntry.id)
    ).all()
    debit = -sum(e.amount for e in entries if e.amount < 0)
    unused = []
    for entry in entries:
        if entry.amount <= 0:
            continue
        used = min(debit, entry.amount)
        debit -= used
        if entry.amount > used:
            unused.append((entry, entry.amount - used))
    return unused


def upcoming_expiry(
    session: Session, program: ProgramSettings, customer: Customer, now: datetime | None = None
) -> Expiring | None:
    now = now or utcnow()
    span = months(program.expiry.months)
    if program.expiry.mode == "inactivity":
        if customer.last_activity_at is None or customer.points_balance <= 0:
            return None
        return Expiring(customer.last_activity_at + span, customer.points_balance)
    if program.expiry.mode == "fixed_age":
        unused = _unused_credits(session, customer)
        if not unused:
            return None
        first = (unused[0][0].available_at + span).date()
        points = sum(left for e, left in unused if (e.available_at + span).date() == first)
        return Expiring(unused[0][0].available_at + span, points)
    return None


def expire_points(
    session: Session, program: ProgramSettings, customer: Customer, now: datetime | None = None
) -> LedgerEntry | None:
    """Post the expiry entry that is due now, if any. Idempotent: a rerun posts nothing."""
    now = now or utcnow()
    mode = program.expiry.mode
    if mode == "none":
        return None
    customer = lock_customer(session, customer)
    available = available_points(session, customer, now)
    if available <= 0:
        return None
    span = months(program.expiry.months)
    if mode == "inactivity":
        if customer.last_activity_at is None or customer.last_activity_at + span > now:
            return None
        amount = available
        key = f"expire:{customer.id}:inactive:{customer.last_activity_at.isoformat()}"
    else:
        due = [(e, left) for e, left in _unused_credits(session, customer)
               if e.available_at + span <= now]
        if not due:
            return None
        amount = min(available, sum(left for _, left in due))
        key = f"expire:{customer.id}:age:{due[-1][0].id}"
    activity = customer.last_activity_at
    entry = post_entry(
        session, customer, amount=-amount, kind=EntryKind.EXPIRE, key=key,
        reason=f"points expired ({mode})", source="expiry", now=now,
    )
    customer.last_activity_at = activity  # expiry is not activity
    return entry
