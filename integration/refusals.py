"""Contacts a connection refuses for good, kept out of pushes until the answer could change.

A connector reports a platform's documented permanent refusals (a contact Mailchimp permanently
deleted or holds in compliance state, an address the platform calls fake or invalid, ...) in
``PushResult.refused``. Sending again only repeats the refusal and the traffic, so the pushes
record it here and leave the contact out; the run says how many contacts are excluded.

What would change the platform's answer makes a refusal *stale*: the customer's address changed
(a different address is a different contact to the platform), or they gave marketing consent
again since (through the store, or through the platform's own form, which the sync reads back).
A stale refusal's contact is sent once more: accepted, the refusal is lifted and the contact's
segment memberships are queued to catch up; refused again, the refusal stays, dated anew.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, delete, func, not_, or_
from sqlmodel import Session, select

from connectors.sdk.base import ContactRef, Refusal
from integration.db import upsert
from integration.models import (
    Connection,
    Customer,
    PushRefusal,
    SegmentMember,
    SegmentPushRetry,
)
from integration.records import Consent

CATCH_UP = "caught up after a lifted refusal"


@dataclass
class Standing:
    """The refusals among a batch of customers: ``active`` ones keep the contact out, ``stale``
    ones let it be sent once more."""

    active: set[int] = field(default_factory=set)
    stale: set[int] = field(default_factory=set)


# A refusal is stale when the customer's (normalised, lower-case) address is not the one refused,
# or they gave marketing consent again after it was refused.
_STALE = or_(
    func.coalesce(Customer.email, "") != func.coalesce(PushRefusal.email, ""),
    and_(Customer.consent == Consent.SUBSCRIBED.value,
         Customer.consent_updated_at.is_not(None),  # type: ignore[union-attr]
         or_(PushRefusal.consent_seen_at.is_(None),  # type: ignore[union-attr]
             Customer.consent_updated_at > PushRefusal.consent_seen_at)),
)


def _query(*columns):
    return (select(*columns).select_from(PushRefusal)
            .join(Customer, Customer.id == PushRefusal.customer_id)
            .where(Customer.redacted_at.is_(None)))  # type: ignore[union-attr]


def _rows(session: Session, connection_id: int, customer_ids: Iterable[int] | None = None):
    """(refusal, the customer's address now, stale?) for the connection's refused contacts."""
    query = _query(PushRefusal, Customer.email, case((_STALE, True), else_=False)).where(
        PushRefusal.connection_id == connection_id)
    if customer_ids is not None:
        query = query.where(PushRefusal.customer_id.in_(list(customer_ids)))  # type: ignore[attr-defined]
    yield from session.exec(query)


def standing(session: Session, connection_id: int, customer_ids: Sequence[int]) -> Standing:
    result = Standing()
    if customer_ids:
        for refusal, _, stale in _rows(session, connection_id, customer_ids):
            (result.stale if stale else result.active).add(refusal.customer_id)
    return result


def record(session: Session, connection: Connection, refused: Sequence[tuple[ContactRef, Refusal]],
           now: datetime) -> Counter[str]:
    """Store (or renew) the refusals of one push call; returns the *new* ones by reason: a
    contact refused again for the reason already on record is a known refusal, not news."""
    latest = {ref.customer_id: (ref, refusal) for ref, refusal in refused}
    if not latest:
        return Counter()
    ids = list(latest)
    known = dict(session.exec(select(PushRefusal.customer_id, PushRefusal.reason).where(
        PushRefusal.connection_id == connection.id, PushRefusal.customer_id.in_(ids))).all())  # type: ignore[attr-defined]
    consent_at = dict(session.exec(select(Customer.id, Customer.consent_updated_at).where(
        Customer.id.in_(ids))).all())  # type: ignore[union-attr]
    upsert(session, PushRefusal, [
        {"account_id": connection.account_id, "connection_id": connection.id,
         "customer_id": customer_id, "email": ref.email.lower() if ref.email else None,
         "reason": str(refusal.reason), "detail": refusal.detail[:500], "refused_at": now,
         "consent_seen_at": consent_at.get(customer_id)}
        for customer_id, (ref, refusal) in latest.items()
    ], keys=("connection_id", "customer_id"),
        update=("email", "reason", "detail", "refused_at", "consent_seen_at"))
    session.execute(delete(SegmentPushRetry).where(
        SegmentPushRetry.connection_id == connection.id,
        SegmentPushRetry.customer_id.in_(ids)))  # type: ignore[attr-defined]
    return Counter(str(refusal.reason) for customer_id, (_, refusal) in latest.items()
                   if known.get(customer_id) != str(refusal.reason))


def lift(session: Session, connection: Connection, customer_ids: Iterable[int], now: datetime,
         *, catch_up: bool) -> None:
    """The platform accepted these refused contacts after all: forget their refusals and, for a
    connection that takes segments, queue their current memberships (missed while refused)."""
    ids = list(customer_ids)
    if not ids:
        return
    session.execute(delete(PushRefusal).where(
        PushRefusal.connection_id == connection.id, PushRefusal.customer_id.in_(ids)))  # type: ignore[attr-defined]
    if not catch_up:
        return
    memberships = session.exec(select(SegmentMember.segment_id, SegmentMember.customer_id).where(
        SegmentMember.customer_id.in_(ids))).all()  # type: ignore[attr-defined]
    upsert(session, SegmentPushRetry, [
        {"connection_id": connection.id, "segment_id": segment_id, "customer_id": customer_id,
         "account_id": connection.account_id, "reason": CATCH_UP, "since": now}
        for segment_id, customer_id in memberships
    ], keys=("connection_id", "segment_id", "customer_id"), update=("reason",))


def excluded(session: Session, connection_id: int) -> int:
    """How many of the connection's contacts its pushes leave out now (stale refusals are not
    counted: the next push sends those)."""
    return session.exec(_query(func.count()).where(
        PushRefusal.connection_id == connection_id, not_(_STALE))).one()


def by_reason(session: Session, connection_ids: Sequence[int] | None = None
              ) -> dict[int, Counter[str]]:
    """Stored refusals per connection and reason (what the health page and /metrics count)."""
    query = select(PushRefusal.connection_id, PushRefusal.reason, func.count()).group_by(
        PushRefusal.connection_id, PushRefusal.reason)
    if connection_ids is not None:
        query = query.where(PushRefusal.connection_id.in_(list(connection_ids)))  # type: ignore[attr-defined]
    counts: dict[int, Counter[str]] = {}
    for connection_id, reason, count in session.exec(query):
        counts.setdefault(connection_id, Counter())[reason] = count
    return counts


@dataclass(frozen=True)
class RefusedContact:
    customer_id: int
    email: str | None        # the customer's address now
    refused_email: str | None
    reason: str
    detail: str
    refused_at: datetime
    retry_next_push: bool    # stale: the next push sends the contact again


def listing(session: Session, connection_id: int, limit: int = 100) -> dict[str, tuple[int, list[RefusedContact]]]:
    """Refused contacts by reason, each reason's total and its ``limit`` most recent."""
    grouped: dict[str, list[RefusedContact]] = {}
    rows = sorted(_rows(session, connection_id), key=lambda row: row[0].refused_at, reverse=True)
    for refusal, email, stale in rows:
        grouped.setdefault(refusal.reason, []).append(RefusedContact(
            refusal.customer_id, email, refusal.email, refusal.reason, refusal.detail,
            refusal.refused_at, stale))
    return {reason: (len(items), items[:limit]) for reason, items in sorted(grouped.items())}
