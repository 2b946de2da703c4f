"""Recomputing segment membership in SQL, and the change log pushes read.

For each segment the fresh members go into ``segment_scratch``; two anti-joins against
``segment_member`` give who was added and who was removed, which are appended to
``segment_change`` and applied to ``segment_member``. Nothing is read into Python.

An incremental run looks only at customers changed since a time (their row or one of their
orders updated), collected once into ``segment_scratch`` under segment id ``-account_id``;
time alone also moves customers between segments (days since last order, windows), which the
periodic full run catches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, insert, literal, or_, select, text, tuple_, update
from sqlmodel import Session

from integration.models import Customer, Order, Segment, SegmentChange, SegmentMember, SegmentScratch
from integration.segments import rfm
from integration.segments.rules import Scope, members_query, parse_rule

# SQLAlchemy reports an INSERT ... SELECT's row count only when asked to keep it.
COUNTED = {"preserve_rowcount": True}


@dataclass
class RecomputeResult:
    """``scored``: customers whose order statistics or RFM scores changed in this run."""

    segments: int = 0
    added: int = 0
    removed: int = 0
    scored: int = 0
    changed_customers: int | None = None


def ensure_rfm_segments(session: Session, account_id: int) -> None:
    """The built-in segment per RFM group, created once per account."""
    have = set(session.exec(
        select(Segment.name).where(Segment.account_id == account_id, Segment.kind == "rfm")
    ).scalars())
    for group in rfm.GROUPS:
        name = f"RFM: {group}"
        if name not in have:
            session.add(Segment(account_id=account_id, name=name, kind="rfm",
                                rule={"metric": "rfm_group", "in": [group]}))
    session.flush()


def _dirty_key(account_id: int) -> int:
    return -account_id


def _collect_changed(session: Session, account_id: int, since: datetime) -> int:
    key = _dirty_key(account_id)
    session.execute(delete(SegmentScratch).where(SegmentScratch.segment_id == key))
    changed = select(literal(key), Customer.id).where(
        Customer.account_id == account_id,
        or_(
            Customer.updated_at > since,
            Customer.id.in_(select(Order.customer_id).where(  # type: ignore[union-attr]
                Order.account_id == account_id, Order.updated_at > since,
                Order.customer_id.is_not(None))),  # type: ignore[union-attr]
        ),
    )
    count = session.execute(
        insert(SegmentScratch.__table__).from_select(["segment_id", "customer_id"], changed),
        execution_options=COUNTED,
    ).rowcount
    _analyze(session, "segment_scratch")
    return count


def _analyze(session: Session, tables: str) -> None:
    """On PostgreSQL, fresh statistics for work tables just filled in this transaction, or the
    planner takes them for empty and picks nested loops for the joins on them."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"ANALYZE {tables}"))


def recompute_segments(session: Session, account_id: int, segments: list[Segment],
                       now: datetime, only: Any = None) -> tuple[int, int]:
    """Bring the segments' members up to date; returns (added, removed) over all of them.

    One INSERT ... SELECT per segment evaluates its rule; the diff against ``segment_member``
    and its application are then a handful of statements for all segments together. With
    ``only`` (a subquery of customer ids) a segment is re-evaluated for those customers alone,
    unless its rule changed since it was last computed (then it is done in full).
    """
    if not segments:
        return 0, 0
    ids = [segment.id for segment in segments]
    stale = [sg.id for sg in segments if sg.computed_at is None or sg.updated_at > sg.computed_at]
    scratch, member = SegmentScratch.__table__, SegmentMember.__table__
    change_table = SegmentChange.__table__
    session.execute(delete(scratch).where(scratch.c.segment_id.in_(ids)))
    for segment in segments:
        limit = None if segment.id in stale else only
        fresh = members_query(parse_rule(segment.rule),
                              Scope(account_id=account_id, now=now, only=limit)).subquery()
        session.execute(insert(scratch).from_select(
            ["segment_id", "customer_id"], select(literal(segment.id), fresh.c.id)))

    _analyze(session, "segment_scratch, segment_member")
    is_member = exists().where(member.c.segment_id == scratch.c.segment_id,
                               member.c.customer_id == scratch.c.customer_id)
    in_scratch = exists().where(scratch.c.segment_id == member.c.segment_id,
                                scratch.c.customer_id == member.c.customer_id)
    looked_at = [member.c.segment_id.in_(ids)]
    if only is not None:
        looked_at.append(or_(member.c.segment_id.in_(stale), member.c.customer_id.in_(only)))
    at = literal(now, change_table.c.created_at.type)
    change_cols = ["account_id", "segment_id", "customer_id", "change", "created_at"]
    # The two anti-joins write the change log; the member table is then brought in line from
    # this run's log entries alone (ids above ``mark``), without diffing it a second time.
    mark = session.execute(select(func.coalesce(func.max(change_table.c.id), 0))).scalar_one()
    added = session.execute(insert(change_table).from_select(change_cols, select(
        literal(account_id), scratch.c.segment_id, scratch.c.customer_id, literal("added"), at,
    ).where(scratch.c.segment_id.in_(ids), ~is_member).order_by(scratch.c.segment_id)),
        execution_options=COUNTED).rowcount
    removed = session.execute(insert(change_table).from_select(change_cols, select(
        literal(account_id), member.c.segment_id, member.c.customer_id, literal("removed"), at,
    ).where(*looked_at, ~in_scratch).order_by(member.c.segment_id)),
        execution_options=COUNTED).rowcount
    this_run = [change_table.c.id > mark, change_table.c.account_id == account_id]
    if removed:
        session.execute(delete(member).where(
            *looked_at,
            tuple_(member.c.segment_id, member.c.customer_id).in_(
                select(change_table.c.segment_id, change_table.c.customer_id)
                .where(*this_run, change_table.c.change == "removed"))))
    if added:
        session.execute(insert(member).from_select(
            ["segment_id", "customer_id", "account_id", "added_at"],
            select(change_table.c.segment_id, change_table.c.customer_id, literal(account_id),
                   literal(now, member.c.added_at.type))
            .where(*this_run, change_table.c.change == "added")))
    session.execute(delete(scratch).where(scratch.c.segment_id.in_(ids)))
    counted = (select(func.count()).select_from(member)
               .where(member.c.segment_id == Segment.id).scalar_subquery())
    session.execute(update(Segment).where(Segment.id.in_(ids))  # type: ignore[union-attr]
                    .values(computed_at=now, member_count=counted))
    return added, removed


def recompute_account(session: Session, account_id: int, now: datetime,
                      changed_since: datetime | None = None) -> RecomputeResult:
    """RFM scores, then every active segment of the account; incremental when ``changed_since``
    is given (segments whose rule changed since their last run are still done in full)."""
    result = RecomputeResult()
    if session.get_bind().dialect.name == "postgresql":
        # Set-wide aggregates and NOT IN over a million ids want hash tables, not disk sorts.
        session.execute(text("SET LOCAL work_mem = '256MB'"))
    ensure_rfm_segments(session, account_id)
    segments = session.exec(
        select(Segment).where(Segment.account_id == account_id, Segment.active.is_(True))  # type: ignore[attr-defined]
        .order_by(Segment.id)
    ).scalars().all()
    only = only_sql = None
    if changed_since is not None:
        result.changed_customers = _collect_changed(session, account_id, changed_since)
        if result.changed_customers == 0 and all(
                s.computed_at is not None and s.updated_at <= s.computed_at for s in segments):
            return result  # nothing moved: no query needed
        key = _dirty_key(account_id)
        only = select(SegmentScratch.customer_id).where(SegmentScratch.segment_id == key)
        only_sql = f"SELECT customer_id FROM segment_scratch WHERE segment_id = {key}"
        result.scored = rfm.score_changed(session, account_id, only_sql, now)
    else:
        result.scored = rfm.score_all(session, account_id, now)
    result.added, result.removed = recompute_segments(session, account_id, list(segments), now,
                                                      only)
    result.segments = len(segments)
    if only is not None:
        session.execute(delete(SegmentScratch.__table__).where(
            SegmentScratch.segment_id == _dirty_key(account_id)))
    return result


@dataclass(frozen=True)
class MemberChange:
    id: int
    segment_id: int
    customer_id: int
    change: str  # "added" or "removed"


def changes_since(session: Session, account_id: int, after_id: int = 0,
                  segment_id: int | None = None, limit: int | None = None) -> list[MemberChange]:
    """Net membership changes after change id ``after_id``: for each (segment, customer) changed
    since, only the latest change, in id order. A push sends these and stores the last ``id``.

    Added-then-removed inside the window comes out as ``removed`` (harmless to send: platforms
    treat removing a non-member as a no-op).
    """
    conditions = [SegmentChange.account_id == account_id, SegmentChange.id > after_id]
    if segment_id is not None:
        conditions.append(SegmentChange.segment_id == segment_id)
    latest = (
        select(func.max(SegmentChange.id))
        .where(*conditions)
        .group_by(SegmentChange.segment_id, SegmentChange.customer_id)
    )
    query = (
        select(SegmentChange.id, SegmentChange.segment_id, SegmentChange.customer_id,
               SegmentChange.change)
        .where(SegmentChange.account_id == account_id, SegmentChange.id.in_(latest))  # type: ignore[union-attr]
        .order_by(SegmentChange.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return [MemberChange(*row) for row in session.execute(query).all()]
