"""The inbox worker: turn stored deliveries into domain events and apply them, once each.

One row per transaction (a few on SQLite): claim the row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
so several ``sadakat worker`` processes share the inbox; SQLite's ``BEGIN IMMEDIATE`` serializes
writers anyway), parse it with the platform's handler, apply every event, mark it done, commit.
A worker killed mid-row loses nothing: its transaction rolls back and the row is claimable again.

A row that fails (unreadable payload, an error while applying) is rolled back to a savepoint and
kept with its error, retried after an exponential backoff, and marked dead after
``[inbox] max_attempts`` tries; ``sadakat inbox replay`` puts dead rows back in line.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, select

from integration.db import is_sqlite, read_session, utcnow, write_session
from integration.events import apply_event
from integration.models import Account, Connection
from integration.records import ConnectionRemoved
from integration.runtime import Runtime
from integration.settings import InboxSettings
from webhooks.models import DataExport, InboxDelivery, InboxStatus
from webhooks.routing import handler_for
from webhooks.turns import write_turn

log = logging.getLogger(__name__)
PURGE_EVERY = timedelta(hours=1)
SQLITE_BATCH = 10
SQLITE_BATCH_SECONDS = 0.05


def backoff(settings: InboxSettings, attempts: int) -> timedelta:
    """Delay before the next try after ``attempts`` failed ones: base, 2×base, 4×base, ..."""
    seconds = settings.backoff_seconds * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.max_backoff_seconds))


def _claim(session: Session, now: datetime, limit: int) -> list[InboxDelivery]:
    return list(session.exec(
        select(InboxDelivery)
        .where(
            InboxDelivery.status.in_([InboxStatus.RECEIVED, InboxStatus.FAILED]),  # type: ignore[attr-defined]
            InboxDelivery.next_attempt_at <= now,
        )
        .order_by(InboxDelivery.next_attempt_at, InboxDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ))


def _apply(session: Session, row: InboxDelivery, now: datetime) -> str:
    """Parse and apply the row's events; returns a note. Raises whatever went wrong."""
    connection = session.get(Connection, row.connection_id)
    account = session.get(Account, row.account_id)
    events = handler_for(row.platform).parse(row.topic, row.body)
    notes = []
    for event in events:
        outcome = apply_event(session, account, connection, event, now)
        if outcome.note:
            notes.append(outcome.note)
        if outcome.export is not None:
            session.add(DataExport(
                account_id=row.account_id, connection_id=row.connection_id, inbox_id=row.id,
                request_id=getattr(event, "request_id", ""), data=outcome.export, created_at=now,
            ))
        if isinstance(event, ConnectionRemoved) and event.erase:
            _erase_held_payloads(session, row)
    return "; ".join(notes) or f"{len(events)} event(s) applied"


def _erase_held_payloads(session: Session, row: InboxDelivery) -> None:
    """``shop/redact``: the shop's raw payloads and exports hold personal data too."""
    session.exec(delete(DataExport).where(DataExport.connection_id == row.connection_id))  # type: ignore[call-overload]
    session.exec(delete(InboxDelivery).where(  # type: ignore[call-overload]
        InboxDelivery.connection_id == row.connection_id, InboxDelivery.id != row.id))


def process_row(session: Session, row: InboxDelivery, settings: InboxSettings, now: datetime) -> None:
    row.attempts += 1
    try:
        with session.begin_nested():
            note = _apply(session, row, now)
    except Exception as exc:  # anything: the row keeps the reason, the batch goes on
        row.error = f"{type(exc).__name__}: {exc}"[:4000]
        if row.attempts >= settings.max_attempts:
            row.status = InboxStatus.DEAD
        else:
            row.status = InboxStatus.FAILED
            row.next_attempt_at = now + backoff(settings, row.attempts)
        log.warning(
            "inbox row %s (%s %s) failed, attempt %s: %s",
            row.id, row.platform, row.topic, row.attempts, row.error,
        )
    else:
        row.status = InboxStatus.DONE
        row.error = ""
        row.note = note[:500]
        row.processed_at = now
    session.add(row)


def _nothing_due(runtime: Runtime, now: datetime) -> bool:
    """A lock-free look first on SQLite, where claiming takes the database's one write lock and
    an idle worker polling with it would keep the receiver waiting."""
    with read_session(runtime.engine) as session:
        return session.exec(
            select(InboxDelivery.id).where(
                InboxDelivery.status.in_([InboxStatus.RECEIVED, InboxStatus.FAILED]),  # type: ignore[attr-defined]
                InboxDelivery.next_attempt_at <= now,
            ).limit(1)
        ).first() is None


def process_batch(runtime: Runtime, now: datetime | None = None) -> int:
    """Claim and process due rows in one transaction; returns how many (0: nothing due).

    PostgreSQL: one row per transaction, so concurrent workers hold few row locks at a time.
    SQLite: up to ``SQLITE_BATCH`` rows, each in its own savepoint, but no longer than
    ``SQLITE_BATCH_SECONDS``: there is one writer at a time, so a commit per row only adds
    overhead, while a long batch would keep webhook requests waiting for the write lock.
    """
    sqlite = is_sqlite(runtime.engine)
    if sqlite and _nothing_due(runtime, now or utcnow()):
        return 0
    with write_turn(runtime.engine), write_session(runtime.engine) as session:
        rows = _claim(session, now or utcnow(), SQLITE_BATCH if sqlite else 1)
        until = time.monotonic() + SQLITE_BATCH_SECONDS
        done = 0
        for row in rows:
            process_row(session, row, runtime.settings.inbox, now or utcnow())
            done += 1
            if time.monotonic() > until:
                break
        return done


def drain(runtime: Runtime, now: datetime | None = None) -> int:
    """Process every due row; returns how many were processed."""
    count = 0
    while processed := process_batch(runtime, now):
        count += processed
    return count


def purge(runtime: Runtime, now: datetime | None = None) -> int:
    """Delete done rows older than ``[inbox] retention_days``; their dedup keys go with them."""
    cutoff = (now or utcnow()) - timedelta(days=runtime.settings.inbox.retention_days)
    with write_session(runtime.engine) as session:
        result = session.exec(delete(InboxDelivery).where(  # type: ignore[call-overload]
            InboxDelivery.status == InboxStatus.DONE, InboxDelivery.received_at < cutoff))
        return result.rowcount


def replay(runtime: Runtime, row_ids: list[int] | None = None) -> int:
    """Put dead rows (all, or those listed) back in line with a fresh set of attempts."""
    query = update(InboxDelivery).where(InboxDelivery.status == InboxStatus.DEAD)  # type: ignore[arg-type]
    if row_ids:
        query = query.where(InboxDelivery.id.in_(row_ids))  # type: ignore[union-attr]
    with write_session(runtime.engine) as session:
        result = session.exec(query.values(  # type: ignore[call-overload]
            status=InboxStatus.RECEIVED, attempts=0, next_attempt_at=utcnow()))
        return result.rowcount


def run(runtime: Runtime, stop: threading.Event) -> None:
    """Work until ``stop`` is set: process due rows, wait ``poll_seconds`` when there are none,
    purge old rows once an hour.
    """
    settings = runtime.settings.inbox
    next_purge = utcnow()
    log.info("inbox worker started")
    while not stop.is_set():
        try:
            if utcnow() >= next_purge:
                purged = purge(runtime)
                if purged:
                    log.info("purged %s processed deliveries past retention", purged)
                next_purge = utcnow() + PURGE_EVERY
            if not process_batch(runtime):
                stop.wait(settings.poll_seconds)
        except Exception:  # the database went away, ...: keep the worker alive, try again
            log.exception("inbox worker error; retrying shortly")
            stop.wait(max(settings.poll_seconds, 1.0))
    log.info("inbox worker stopped")


def start_embedded(runtime: Runtime, stop: threading.Event) -> threading.Thread:
    """The in-process worker of ``sadakat serve`` on SQLite (see ``webhooks.serve``)."""
    thread = threading.Thread(target=run, args=(runtime, stop), name="sadakat-inbox", daemon=True)
    thread.start()
    return thread
