"""Posting entries: the one place that writes ``ledger_entry`` and the cached balance.

Every entry has an idempotency key. Posting a key again with the same content returns the stored
entry and changes nothing; posting it with different content raises ``LedgerConflict``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from integration.db import utcnow
from integration.errors import LedgerConflict
from integration.models import Customer, EntryKind, LedgerEntry

# Kinds that count as the customer being active (inactivity expiry restarts from them).
ACTIVITY_KINDS = {EntryKind.EARN, EntryKind.BONUS, EntryKind.REDEEM, EntryKind.IMPORT}


def fingerprint(
    customer_id: int, amount: int, kind: EntryKind, order_id: int | None, redemption_id: int | None
) -> str:
    """What makes two postings under one key "the same event": who, how much, what, for what."""
    payload = json.dumps([customer_id, amount, str(kind), order_id, redemption_id])
    return hashlib.sha256(payload.encode()).hexdigest()


def find_entry(session: Session, account_id: int, key: str) -> LedgerEntry | None:
    return session.exec(
        select(LedgerEntry).where(
            LedgerEntry.account_id == account_id, LedgerEntry.idempotency_key == key
        )
    ).first()


def post_entry(
    session: Session,
    customer: Customer,
    *,
    amount: int,
    kind: EntryKind,
    key: str,
    reason: str = "",
    source: str = "",
    actor: str = "",
    order_id: int | None = None,
    redemption_id: int | None = None,
    shortfall: int = 0,
    data: dict[str, Any] | None = None,
    available_at: datetime | None = None,
    now: datetime | None = None,
) -> LedgerEntry:
    """Append one entry and move the cached balance with it, in the caller's transaction.

    The caller holds the customer's lock (``lock_customer``) when the entry is a debit that must
    not overdraw; credits need none.
    """
    digest = fingerprint(customer.id, amount, kind, order_id, redemption_id)
    existing = find_entry(session, customer.account_id, key)
    if existing is not None:
        if existing.fingerprint != digest:
            raise LedgerConflict(
                f"idempotency key {key!r} was already used for a different entry "
                f"({existing.kind} {existing.amount:+d} for customer {existing.customer_id})"
            )
        return existing
    now = now or utcnow()
    entry = LedgerEntry(
        account_id=customer.account_id,
        customer_id=customer.id,
        amount=amount,
        kind=kind,
        reason=reason,
        source=source,
        actor=actor,
        idempotency_key=key,
        fingerprint=digest,
        order_id=order_id,
        redemption_id=redemption_id,
        shortfall=shortfall,
        data=data or {},
        created_at=now,
        available_at=max(now, available_at) if available_at else now,
    )
    session.add(entry)
    customer.points_balance += amount
    if kind in ACTIVITY_KINDS:
        customer.last_activity_at = now
    customer.updated_at = now
    session.add(customer)
    return entry


def lock_customer(session: Session, customer: Customer) -> Customer:
    """Serialize debits of one customer: a row lock on PostgreSQL, a no-op on SQLite (where the
    transaction was opened with BEGIN IMMEDIATE and already holds the write lock).

    The balance is re-read after the lock, so a concurrent debit that committed meanwhile counts.
    """
    session.exec(select(Customer.id).where(Customer.id == customer.id).with_for_update()).first()
    session.refresh(customer)
    return customer


def pending_points(session: Session, customer: Customer, now: datetime | None = None) -> int:
    """Points still inside the return window; only recent entries are scanned (indexed)."""
    now = now or utcnow()
    total = session.exec(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.customer_id == customer.id, LedgerEntry.available_at > now
        )
    ).one()
    return int(total)


def available_points(session: Session, customer: Customer, now: datetime | None = None) -> int:
    return customer.points_balance - pending_points(session, customer, now)
