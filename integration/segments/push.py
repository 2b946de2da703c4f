"""Pushing segment membership changes to a connection, as deltas from the change log.

Each connection keeps how far it has taken ``segment_change`` (``SegmentPushState``). A push
reads the net changes after that id (``changes_since``) in chunks, sends them per segment, and
advances the mark after each chunk. When the platform refuses some contacts, the mark stops just
before the first refused change, so the next push retries from there (re-sending what already
went through is harmless: adding a tag or list member twice is a no-op on every platform).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import select

from connectors.sdk.base import Connector, ContactRef, PushResult, SegmentChange
from integration.db import read_session, utcnow, write_session
from integration.models import Connection, Customer, CustomerIdentity, Segment, SegmentPushState
from integration.segments.membership import changes_since

CHUNK = 5000


@dataclass
class SegmentPushReport:
    changes: int = 0
    result: PushResult = field(default_factory=PushResult)
    last_change_id: int = 0


def push_segments(engine: Engine, connection_id: int, connector: Connector, *,
                  now: datetime | None = None, chunk: int = CHUNK) -> SegmentPushReport:
    now = now or utcnow()
    report = SegmentPushReport()
    with read_session(engine) as session:
        connection = session.get(Connection, connection_id)
        state = session.get(SegmentPushState, connection_id)
        mark = state.last_change_id if state else 0
    while True:
        with read_session(engine) as session:
            changes = changes_since(session, connection.account_id, mark, limit=chunk)
            if not changes:
                break
            names = dict(session.exec(select(Segment.id, Segment.name).where(
                Segment.id.in_({c.segment_id for c in changes}))).all())  # type: ignore[union-attr]
            contacts = _contacts(session, connection, {c.customer_id for c in changes})
        by_segment: dict[int, list] = defaultdict(list)
        for change in changes:
            by_segment[change.segment_id].append(change)
        first_failed: int | None = None
        for segment_id, items in by_segment.items():
            refs = {c.id: contacts[c.customer_id] for c in items if c.customer_id in contacts}
            result = connector.push_segment(SegmentChange(
                segment=names[segment_id],
                added=[refs[c.id] for c in items if c.change == "added" and c.id in refs],
                removed=[refs[c.id] for c in items if c.change == "removed" and c.id in refs],
            ))
            report.result.merge(result)
            refused = {ref.customer_id for ref, _ in result.failed}
            for change in items:
                if change.customer_id in refused:
                    first_failed = min(first_failed or change.id, change.id)
        report.changes += len(changes)
        mark = first_failed - 1 if first_failed is not None else changes[-1].id
        _save(engine, connection, mark, now)
        if first_failed is not None or len(changes) < chunk:
            break
    report.last_change_id = mark
    return report


def _contacts(session, connection: Connection, customer_ids: set[int]) -> dict[int, ContactRef]:
    """How the connection can address each customer; erased customers are left out."""
    rows = session.exec(
        select(Customer.id, Customer.email, CustomerIdentity.platform_id)
        .outerjoin(CustomerIdentity, (CustomerIdentity.customer_id == Customer.id)
                   & (CustomerIdentity.connection_id == connection.id))
        .where(Customer.id.in_(customer_ids), Customer.redacted_at.is_(None))  # type: ignore[union-attr]
    ).all()
    return {cid: ContactRef(cid, email, platform_id) for cid, email, platform_id in rows
            if email or platform_id}


def _save(engine: Engine, connection: Connection, mark: int, now: datetime) -> None:
    with write_session(engine) as session:
        state = session.get(SegmentPushState, connection.id) or SegmentPushState(
            connection_id=connection.id, account_id=connection.account_id)
        state.last_change_id, state.pushed_at = mark, now
        session.add(state)
