"""Recomputing segment membership in SQL, and the change log pushes read.

A run works in temporary tables (``worktables``). For each segment the fresh members go into
``segment_fresh``; anti-joins against ``segment_member`` give who was added and who was removed,
which are appended to ``segment_change`` and applied to ``segment_member``. Nothing is read into
Python but a count per segment.

An incremental run looks only at the customers changed since a time: their row (points, tier,
consent, profile) or one of their orders updated since, found through the ``updated_at`` indexes
and collected once into ``segment_changed``. Every statement after that starts from those
customers, so its cost follows how many changed, not how many there are. Time alone also moves
customers between segments (days since last order, windows, new customers, birthday months), and
an abandoned checkout changes neither customer nor order: the periodic full run catches those.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, delete, exists, func, insert, literal, select, text, tuple_, update
from sqlmodel import Session

from integration.models import Customer, Order, Segment, SegmentChange, SegmentMember
from integration.segments import rfm
from integration.segments.rules import Scope, members_query, parse_rule
from integration.segments.worktables import CHANGED, FRESH, analyze, work_tables

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


def ensure_rfm_segments(session: Session, account_id: int, now: datetime) -> None:
    """The built-in segment per RFM group, created once per account, dated by the run's clock
    (a wall-clock ``updated_at`` after the run's ``now`` would read as an edited rule and make
    every later incremental run redo them in full)."""
    have = set(session.exec(
        select(Segment.name).where(Segment.account_id == account_id, Segment.kind == "rfm")
    ).scalars())
    for group in rfm.GROUPS:
        name = f"RFM: {group}"
        if name not in have:
            session.add(Segment(account_id=account_id, name=name, kind="rfm",
                                rule={"metric": "rfm_group", "in": [group]},
                                created_at=now, updated_at=now))
    session.flush()


def _rule_unchanged(segment: Segment) -> bool:
    """Computed before, and its rule not edited since: an incremental run may do it in part."""
    return segment.computed_at is not None and segment.updated_at <= segment.computed_at


def _collect_changed(session: Session, account_id: int, since: datetime) -> int:
    """Fill ``segment_changed``: two index range scans, one per ``updated_at`` index."""
    by_row = select(Customer.id).where(Customer.account_id == account_id,
                                       Customer.updated_at > since)
    by_order = select(Order.customer_id).where(
        Order.account_id == account_id, Order.updated_at > since,
        Order.customer_id.is_not(None))  # type: ignore[union-attr]
    count = session.execute(
        insert(CHANGED).from_select(["customer_id"], by_row.union(by_order)),
        execution_options=COUNTED,
    ).rowcount
    analyze(session, CHANGED)
    return count


def _evaluate(session: Session, account_id: int, segments: list[Segment], now: datetime,
              partial: set[int]) -> None:
    """Each segment's members into ``segment_fresh``: one INSERT ... SELECT per segment, those
    in ``partial`` for the changed customers alone."""
    for segment in segments:
        scope = Scope(account_id=account_id, now=now,
                      only=CHANGED if segment.id in partial else None)
        fresh = members_query(parse_rule(segment.rule), scope).subquery()
        session.execute(insert(FRESH).from_select(
            ["segment_id", "customer_id"], select(literal(segment.id), fresh.c.id)))


def _looked_at(ids: list[int], partial: set[int]):
    """SELECTs of the current members this run re-evaluated: all members of the segments done
    in full, and the changed customers' memberships of the others (by the customer index)."""
    member = SegmentMember.__table__
    whole = [i for i in ids if i not in partial]
    parts = []
    if whole:
        parts.append(select(member.c.segment_id, member.c.customer_id)
                     .where(member.c.segment_id.in_(whole)))
    if partial:
        parts.append(select(member.c.segment_id, member.c.customer_id)
                     .select_from(CHANGED.join(member, member.c.customer_id == CHANGED.c.customer_id))
                     .where(member.c.segment_id.in_(sorted(partial))))
    return parts


def recompute_segments(session: Session, account_id: int, segments: list[Segment],
                       now: datetime, incremental: bool = False) -> tuple[int, int]:
    """Bring the segments' members up to date; returns (added, removed) over all of them.
    Runs inside ``work_tables`` after the scoring (``recompute_account`` does both).

    Incremental: a segment is re-evaluated for the customers in ``segment_changed`` alone,
    unless its rule changed since it was last computed (then it is done in full).
    """
    if not segments:
        return 0, 0
    ids = [segment.id for segment in segments]
    partial = {sg.id for sg in segments if incremental and _rule_unchanged(sg)}
    member, change_table = SegmentMember.__table__, SegmentChange.__table__
    _evaluate(session, account_id, segments, now, partial)
    analyze(session, FRESH, *([] if incremental else ["segment_member"]))

    at = literal(now, change_table.c.created_at.type)
    change_cols = ["account_id", "segment_id", "customer_id", "change", "created_at"]
    # The anti-joins write the change log; the member table is then brought in line from this
    # run's log entries alone (ids above ``mark``), without diffing it a second time.
    mark = session.execute(select(func.coalesce(func.max(change_table.c.id), 0))).scalar_one()
    is_member = exists().where(member.c.segment_id == FRESH.c.segment_id,
                               member.c.customer_id == FRESH.c.customer_id)
    added = session.execute(insert(change_table).from_select(change_cols, select(
        literal(account_id), FRESH.c.segment_id, FRESH.c.customer_id, literal("added"), at,
    ).where(~is_member).order_by(FRESH.c.segment_id)), execution_options=COUNTED).rowcount
    removed = 0
    for current in _looked_at(ids, partial):
        current = current.subquery()
        in_fresh = exists().where(FRESH.c.segment_id == current.c.segment_id,
                                  FRESH.c.customer_id == current.c.customer_id)
        removed += session.execute(insert(change_table).from_select(change_cols, select(
            literal(account_id), current.c.segment_id, current.c.customer_id, literal("removed"),
            at).where(~in_fresh).order_by(current.c.segment_id)),
            execution_options=COUNTED).rowcount
    this_run = [change_table.c.account_id == account_id, change_table.c.id > mark]
    if removed:
        session.execute(delete(member).where(
            tuple_(member.c.segment_id, member.c.customer_id).in_(
                select(change_table.c.segment_id, change_table.c.customer_id)
                .where(*this_run, change_table.c.change == "removed"))))
    if added:
        session.execute(insert(member).from_select(
            ["segment_id", "customer_id", "account_id", "added_at"],
            select(change_table.c.segment_id, change_table.c.customer_id, literal(account_id),
                   literal(now, member.c.added_at.type))
            .where(*this_run, change_table.c.change == "added")))
    net = dict(session.execute(
        select(change_table.c.segment_id,
               func.sum(case((change_table.c.change == "added", 1), else_=-1)))
        .where(*this_run).group_by(change_table.c.segment_id)).all()) if added or removed else {}
    moved = case(net, value=Segment.id, else_=0) if net else literal(0)
    session.execute(update(Segment).where(Segment.id.in_(ids))  # type: ignore[union-attr]
                    .values(computed_at=now, member_count=Segment.member_count + moved))
    return added, removed


def recompute_account(session: Session, account_id: int, now: datetime,
                      changed_since: datetime | None = None) -> RecomputeResult:
    """RFM scores, then every active segment of the account; incremental when ``changed_since``
    is given (segments whose rule changed since their last run are still done in full)."""
    result = RecomputeResult()
    if session.get_bind().dialect.name == "postgresql":
        # Set-wide aggregates and anti-joins over a million rows want hash tables, not disk sorts.
        session.execute(text("SET LOCAL work_mem = '256MB'"))
        if changed_since is not None:
            # An incremental run reads a few rows per changed customer through the customer
            # indexes, pages that are nearly always cached; at the default cost of a random page
            # (4, a spinning disk) the planner prefers scanning every customer and order instead.
            session.execute(text("SET LOCAL random_page_cost = 1.1"))
    ensure_rfm_segments(session, account_id, now)
    segments = list(session.exec(
        select(Segment).where(Segment.account_id == account_id, Segment.active.is_(True))  # type: ignore[attr-defined]
        .order_by(Segment.id)
    ).scalars().all())
    with work_tables(session):
        if changed_since is not None:
            result.changed_customers = _collect_changed(session, account_id, changed_since)
            if result.changed_customers == 0 and all(map(_rule_unchanged, segments)):
                return result  # nothing moved: no query needed
            result.scored = rfm.score_changed(session, account_id, now)
        else:
            result.scored = rfm.score_all(session, account_id, now)
        result.added, result.removed = recompute_segments(
            session, account_id, segments, now, incremental=changed_since is not None)
    result.segments = len(segments)
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
