"""Pushing segment membership changes to a connection, as deltas from the change log.

Each connection keeps how far it has taken ``segment_change`` (``SegmentPushState``). A push
first sends the memberships waiting in ``segment_push_retry``, then reads the net changes after
its mark (``changes_since``) in chunks, sends them per segment (the connector batches them in
the platform's bulk calls) and moves the mark past every chunk it read. Nothing holds the mark
back, so one contact never holds up the others:

- a contact the platform refused for good is recorded (``integration.refusals``) and left out
  from then on (``excluded``), until something that could change the answer happens;
- a contact that failed for now waits in the retry table, as does one not on the platform yet
  (for a connector that pushes attributes, a contact exists there once an attribute push was
  accepted: Mailchimp ignores tags for addresses not in the audience without saying so). A
  failed contact's attributes are marked unsent too, so the next attribute push puts them on
  the platform again if it lost them (a profile deleted there).

A retry sends what the membership is when it runs (member: add; not: remove), never stale news.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from connectors.sdk.base import Capability, Connector, ContactRef, PushResult, SegmentChange
from integration import refusals
from integration.db import read_session, upsert, utcnow, write_session
from integration.models import (
    Connection,
    Customer,
    CustomerIdentity,
    PushState,
    Segment,
    SegmentMember,
    SegmentPushRetry,
    SegmentPushState,
)
from integration.segments.membership import changes_since

# Changes read per step: large enough that each segment's share fills the platforms' bulk calls
# (Mailchimp 500, Klaviyo 1,000 per call) rather than ending in many part-filled ones.
CHUNK = 20_000
NOT_THERE_YET = "not on the platform yet (its attribute push has not been accepted)"


@dataclass
class SegmentPushReport:
    changes: int = 0    # net changes read from the log
    retried: int = 0    # memberships sent again from the retry table
    excluded: int = 0   # left out: the contact is refused for good
    deferred: int = 0   # waiting: the contact is not on the platform yet
    result: PushResult = field(default_factory=PushResult)
    refused: Counter[str] = field(default_factory=Counter)  # new refusals, by reason
    last_change_id: int = 0


@dataclass(frozen=True)
class _Item:
    segment_id: int
    customer_id: int
    change: str  # "added" | "removed"


def push_segments(engine: Engine, connection_id: int, connector: Connector, *,
                  now: datetime | None = None, chunk: int = CHUNK) -> SegmentPushReport:
    now = now or utcnow()
    report = SegmentPushReport()
    with read_session(engine) as session:
        connection = session.get(Connection, connection_id)
        state = session.get(SegmentPushState, connection_id)
        mark = state.last_change_id if state else 0
        retries = _retries(session, connection)
    pusher = _Pusher(engine, connection, connector, report, now)
    for start in range(0, len(retries), chunk):
        pusher.push(retries[start:start + chunk])
    report.retried = len(retries)
    while True:
        with read_session(engine) as session:
            changes = changes_since(session, connection.account_id, mark, limit=chunk)
        if not changes:
            break
        report.changes += len(changes)
        mark = changes[-1].id
        pusher.push([_Item(c.segment_id, c.customer_id, c.change) for c in changes], mark=mark)
        if len(changes) < chunk:
            break
    report.last_change_id = mark
    return report


def _retries(session: Session, connection: Connection) -> list[_Item]:
    """The waiting memberships, as they stand now (rows of a segment since deleted come too:
    the push finds nothing to send for them and drops them)."""
    rows = session.exec(
        select(SegmentPushRetry.segment_id, SegmentPushRetry.customer_id, SegmentMember.customer_id)
        .outerjoin(SegmentMember, and_(SegmentMember.segment_id == SegmentPushRetry.segment_id,
                                       SegmentMember.customer_id == SegmentPushRetry.customer_id))
        .where(SegmentPushRetry.connection_id == connection.id)
        .order_by(SegmentPushRetry.segment_id, SegmentPushRetry.customer_id)
    ).all()
    return [_Item(segment_id, customer_id, "removed" if member is None else "added")
            for segment_id, customer_id, member in rows]


@dataclass
class _Pusher:
    engine: Engine
    connection: Connection
    connector: Connector
    report: SegmentPushReport
    now: datetime

    def push(self, items: Sequence[_Item], mark: int | None = None) -> None:
        """Send one chunk of items and record, in one transaction, what became of each."""
        ids = {item.customer_id for item in items}
        with read_session(self.engine) as session:
            names = dict(session.exec(select(Segment.id, Segment.name).where(
                Segment.id.in_({item.segment_id for item in items}))).all())  # type: ignore[union-attr]
            contacts = _contacts(session, self.connection, ids)
            standing = refusals.standing(session, self.connection.id, list(ids))
            present = (_present(session, self.connection.id, ids)
                       if Capability.PUSH_ATTRIBUTES in self.connector.capabilities else None)
        waiting: dict[tuple[int, int], str] = {}   # (segment, customer) → why it waits
        by_segment: dict[int, list[_Item]] = defaultdict(list)
        for item in items:
            if item.customer_id not in contacts or item.segment_id not in names:
                continue  # erased, unaddressable, or the segment is gone: nothing to send
            if item.customer_id in standing.active:
                self.report.excluded += 1
            elif present is not None and item.customer_id not in present:
                self.report.deferred += 1
                waiting[(item.segment_id, item.customer_id)] = NOT_THERE_YET
            else:
                by_segment[item.segment_id].append(item)
        result = PushResult()
        for segment_id, segment_items in by_segment.items():
            sent = self.connector.push_segment(SegmentChange(
                segment=names[segment_id],
                added=[contacts[i.customer_id] for i in segment_items if i.change == "added"],
                removed=[contacts[i.customer_id] for i in segment_items if i.change == "removed"],
            ))
            failed = {ref.customer_id: reason for ref, reason in sent.failed}
            for item in segment_items:
                if item.customer_id in failed:
                    waiting[(segment_id, item.customer_id)] = failed[item.customer_id][:500]
            result.merge(sent)
        self.report.result.merge(result)
        self._record(items, waiting, result, standing.stale, mark)

    def _record(self, items: Sequence[_Item], waiting: dict[tuple[int, int], str],
                result: PushResult, stale: set[int], mark: int | None) -> None:
        refused = {ref.customer_id for ref, _ in result.refused}
        failed = {ref.customer_id for ref, _ in result.failed}
        done: dict[int, list[int]] = defaultdict(list)
        for item in items:
            if (item.segment_id, item.customer_id) not in waiting:
                done[item.segment_id].append(item.customer_id)
        with write_session(self.engine) as session:
            for segment_id, customer_ids in done.items():
                session.execute(delete(SegmentPushRetry).where(
                    SegmentPushRetry.connection_id == self.connection.id,
                    SegmentPushRetry.segment_id == segment_id,
                    SegmentPushRetry.customer_id.in_(customer_ids)))  # type: ignore[attr-defined]
            upsert(session, SegmentPushRetry, [
                {"connection_id": self.connection.id, "segment_id": segment_id,
                 "customer_id": customer_id, "account_id": self.connection.account_id,
                 "reason": reason, "since": self.now}
                for (segment_id, customer_id), reason in waiting.items()
            ], keys=("connection_id", "segment_id", "customer_id"), update=("reason",))
            if failed:  # so the next attribute push puts them back if the platform lost them
                session.execute(delete(PushState).where(
                    PushState.connection_id == self.connection.id,
                    PushState.customer_id.in_(failed)))  # type: ignore[attr-defined]
            self.report.refused.update(
                refusals.record(session, self.connection, result.refused, self.now))
            accepted = {i.customer_id for i in items if i.customer_id in stale} - refused - failed
            refusals.lift(session, self.connection, accepted, self.now, catch_up=True)
            if mark is not None:
                state = session.get(SegmentPushState, self.connection.id) or SegmentPushState(
                    connection_id=self.connection.id, account_id=self.connection.account_id)
                state.last_change_id, state.pushed_at = mark, self.now
                session.add(state)


def _present(session: Session, connection_id: int, customer_ids: set[int]) -> set[int]:
    """Customers an attribute push to the connection has been accepted for."""
    return set(session.exec(select(PushState.customer_id).where(
        PushState.connection_id == connection_id,
        PushState.customer_id.in_(customer_ids))).all())  # type: ignore[attr-defined]


def _contacts(session: Session, connection: Connection, customer_ids: set[int]) -> dict[int, ContactRef]:
    """How the connection can address each customer; erased customers are left out."""
    rows = session.exec(
        select(Customer.id, Customer.email, CustomerIdentity.platform_id)
        .outerjoin(CustomerIdentity, (CustomerIdentity.customer_id == Customer.id)
                   & (CustomerIdentity.connection_id == connection.id))
        .where(Customer.id.in_(customer_ids), Customer.redacted_at.is_(None))  # type: ignore[union-attr]
    ).all()
    return {cid: ContactRef(cid, email, platform_id) for cid, email, platform_id in rows
            if email or platform_id}
