"""Posting entries: the one place that writes ``ledger_entry`` and the cached balance.

Every entry has an idempotency key. Posting a key again with the same content returns the stored
entry and changes nothing; posting it with different content raises ``LedgerConflict``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import event, func
from sqlmodel import Session, select

from integration.appendrows import append_row, before_insert, queued_rows
from integration.db import utcnow
from integration.errors import LedgerConflict
from integration.models import Customer, EntryKind, LedgerEntry, Order
from integration.models.fast import new_row, set_fields

# Kinds that count as the customer being active (inactivity expiry restarts from them).
ACTIVITY_KINDS = {EntryKind.EARN, EntryKind.BONUS, EntryKind.REDEEM, EntryKind.IMPORT}
_POSTED = "sadakat.posted_entries"  # session.info key: entries posted in this transaction


def fingerprint(
    customer_id: int | None, amount: int, kind: str, order_id: int | None,
    redemption_id: int | None,
) -> str:
    """What makes two postings under one key "the same event": who, how much, what, for what."""
    payload = json.dumps([customer_id, amount, str(kind), order_id, redemption_id])
    return hashlib.sha256(payload.encode()).hexdigest()


@before_insert(LedgerEntry)
def _seal(entry: LedgerEntry, values: dict[str, Any]) -> None:
    # Ids of customers and orders created in the same transaction are known only now.
    values["fingerprint"] = fingerprint(
        values["customer_id"], entry.amount, entry.kind, values["order_id"], entry.redemption_id
    )
    set_fields(entry, fingerprint=values["fingerprint"], customer_id=values["customer_id"],
               order_id=values["order_id"])


def find_entry(session: Session, account_id: int, key: str) -> LedgerEntry | None:
    """The entry posted under ``key``: this session's unflushed ones first, then the database."""
    pending = session.info.get(_POSTED, {}).get((account_id, key))
    if pending is not None:
        return pending[0]
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
    order: Order | None = None,
    redemption_id: int | None = None,
    shortfall: int = 0,
    data: dict[str, Any] | None = None,
    available_at: datetime | None = None,
    now: datetime | None = None,
    known_new: bool = False,
) -> LedgerEntry:
    """Append one entry and move the cached balance with it, in the caller's transaction.

    ``known_new`` skips the look-up of ``key`` when the caller has just read every entry the key
    could belong to (an order's entries); the unique constraint still guards it.
    ``customer`` is a row of ``session`` (loaded or added), so its balance change is saved with
    the entry. The caller holds the customer's lock (``lock_customer``) when the entry is a debit that must
    not overdraw; credits need none.
    """
    if not known_new:
        existing = find_entry(session, customer.account_id, key)
        if existing is not None:
            order_id = order.id if order is not None else None
            if existing.fingerprint != fingerprint(
                customer.id, amount, kind, order_id, redemption_id
            ) and not _same_unsaved(session, key, customer, amount, kind, order, redemption_id):
                raise LedgerConflict(
                    f"idempotency key {key!r} was already used for a different entry "
                    f"({existing.kind} {existing.amount:+d} for customer {existing.customer_id})"
                )
            return existing
    now = now or utcnow()
    values = dict(
        account_id=customer.account_id,
        amount=amount,
        kind=str(kind),
        reason=reason,
        source=source,
        actor=actor,
        idempotency_key=key,
        fingerprint="",
        redemption_id=redemption_id,
        shortfall=shortfall,
        data=data or {},
        created_at=now,
        available_at=max(now, available_at) if available_at else now,
    )
    entry = new_row(LedgerEntry, **values)
    append_row(session, LedgerEntry, values, obj=entry, customer=customer, order=order)
    session.info.setdefault(_POSTED, {})[(customer.account_id, key)] = (entry, customer, order)
    set_fields(customer, points_balance=customer.points_balance + amount, updated_at=now)
    if kind in ACTIVITY_KINDS:
        set_fields(customer, last_activity_at=now)
    return entry


def _same_unsaved(
    session: Session, key: str, customer: Customer, amount: int, kind: str,
    order: Order | None, redemption_id: int | None,
) -> bool:
    """An entry of this transaction not inserted yet has no fingerprint; compare its fields."""
    posted = session.info.get(_POSTED, {}).get((customer.account_id, key))
    if posted is None:
        return False
    entry, posted_customer, posted_order = posted
    return (
        entry.fingerprint == ""
        and posted_customer is customer
        and posted_order is order
        and entry.amount == amount
        and entry.kind == kind
        and entry.redemption_id == redemption_id
    )


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_posted(session: Session) -> None:
    session.info.pop(_POSTED, None)


def lock_customer(session: Session, customer: Customer) -> Customer:
    """Serialize debits of one customer: a row lock on PostgreSQL, a no-op on SQLite (where the
    transaction was opened with BEGIN IMMEDIATE and already holds the write lock).

    The balance is re-read after the lock, so a concurrent debit that committed meanwhile counts.
    """
    session.exec(select(Customer.id).where(Customer.id == customer.id).with_for_update()).first()
    session.refresh(customer)
    return customer


def lock_customers(session: Session, ids: Iterable[int]) -> list[Customer]:
    """``lock_customer`` for many: what a batch or a job that moves balances takes, so it waits
    for the inbox workers instead of losing an update to them. Rows are locked in id order (two
    batches queue rather than deadlock) and re-read after the lock."""
    return list(session.exec(
        select(Customer).where(Customer.id.in_(sorted(set(ids))))  # type: ignore[union-attr]
        .order_by(Customer.id).with_for_update().execution_options(populate_existing=True)
    ))


def pending_points(session: Session, customer: Customer, now: datetime | None = None) -> int:
    """Points still inside the return window; only recent entries are scanned (indexed).

    Entries this transaction has queued but not inserted are added from memory: flushing them
    first, as this once did, cut a sync page into a flush per refunded order (half its time).
    """
    now = now or utcnow()
    stored = session.exec(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.customer_id == customer.id, LedgerEntry.available_at > now
        )
    ).one()
    unsaved = sum(
        values["amount"] for values, parents in queued_rows(session, LedgerEntry)
        if parents.get("customer") is customer and values["available_at"] > now
    )
    return int(stored) + unsaved


def available_points(session: Session, customer: Customer, now: datetime | None = None) -> int:
    return customer.points_balance - pending_points(session, customer, now)
