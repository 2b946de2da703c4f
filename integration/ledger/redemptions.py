"""Spending points on catalogue rewards.

A redemption debits the points and waits for the store connector to issue the code. If the store
refuses, ``fail_redemption`` gives the points back by a new entry; a redemption is never left with
points gone and no code: it is either issued, failed-and-refunded, or pending and retryable.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from integration import scope
from integration.db import utcnow
from integration.errors import InsufficientPoints, RuleError
from integration.ledger.entries import available_points, lock_customer, post_entry
from integration.models import (
    Customer,
    EntryKind,
    Redemption,
    RedemptionStatus,
    Reward,
)


def redeem(
    session: Session,
    account_id: int,
    customer_id: int,
    reward_id: int,
    *,
    key: str,
    connection_id: int | None = None,
    now: datetime | None = None,
) -> Redemption:
    """Debit the reward's cost and open a redemption; safe against concurrent redemptions.

    Call inside ``write_session`` (BEGIN IMMEDIATE on SQLite); on PostgreSQL the customer row is
    locked here. ``key`` makes a retried request return the first redemption.
    """
    now = now or utcnow()
    reward = scope.get(session, Reward, account_id, reward_id)
    if not reward.active:
        raise RuleError(f"reward {reward.name!r} is not available")
    customer = lock_customer(session, scope.get(session, Customer, account_id, customer_id))
    existing = session.exec(
        scope.rows(Redemption, account_id).where(Redemption.idempotency_key == key)
    ).first()
    if existing is not None:
        return existing
    available = available_points(session, customer, now)
    if available < reward.points_cost:
        raise InsufficientPoints(
            f"{reward.name!r} costs {reward.points_cost} points; {available} available"
        )
    redemption = Redemption(
        account_id=account_id,
        customer_id=customer.id,
        reward_id=reward.id,
        connection_id=connection_id,
        points=reward.points_cost,
        idempotency_key=key,
        reward=reward.model_dump(mode="json", exclude={"account_id"}, warnings=False),
        created_at=now,
        expires_at=now + timedelta(days=reward.valid_days),
    )
    session.add(redemption)
    session.flush()
    post_entry(
        session,
        customer,
        amount=-reward.points_cost,
        kind=EntryKind.REDEEM,
        key=f"redemption:{redemption.id}:debit",
        reason=f"redeemed {reward.name}",
        source=f"redemption:{redemption.id}",
        redemption_id=redemption.id,
        now=now,
    )
    return redemption


def complete_redemption(
    session: Session, redemption: Redemption, code: str, now: datetime | None = None
) -> Redemption:
    if redemption.status == RedemptionStatus.ISSUED:
        return redemption
    if redemption.status != RedemptionStatus.PENDING_CODE:
        raise RuleError(f"redemption {redemption.id} is {redemption.status}, not awaiting a code")
    redemption.status = RedemptionStatus.ISSUED
    redemption.code = code
    redemption.issued_at = now or utcnow()
    redemption.error = ""
    session.add(redemption)
    return redemption


def fail_redemption(
    session: Session, redemption: Redemption, error: str, now: datetime | None = None
) -> Redemption:
    """The store could not issue a code: give the points back, keep the reason."""
    if redemption.status == RedemptionStatus.FAILED:
        return redemption
    if redemption.status != RedemptionStatus.PENDING_CODE:
        raise RuleError(f"redemption {redemption.id} is {redemption.status}; cannot fail it")
    customer = scope.get(session, Customer, redemption.account_id, redemption.customer_id)
    post_entry(
        session,
        customer,
        amount=redemption.points,
        kind=EntryKind.REDEEM_REFUND,
        key=f"redemption:{redemption.id}:refund",
        reason=f"reward not issued: {error}"[:300],
        source=f"redemption:{redemption.id}",
        redemption_id=redemption.id,
        now=now,
    )
    redemption.status = RedemptionStatus.FAILED
    redemption.error = error[:500]
    session.add(redemption)
    return redemption

