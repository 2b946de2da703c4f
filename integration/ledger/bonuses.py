"""Points not tied to an order: program bonuses and manual adjustments.

Each bonus has a natural idempotency key (signup once per customer, birthday once per year,
referral once per friend, review once per review), so jobs and webhooks can repeat freely.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlmodel import Session, select

from integration import scope
from integration.db import utcnow
from integration.errors import InsufficientPoints, RuleError
from integration.ledger.entries import available_points, lock_customer, post_entry
from integration.models import Customer, EntryKind, LedgerEntry, Referral
from integration.program import ProgramSettings
from integration.records import normalize_email


def _bonus(
    session: Session, customer: Customer, points: int, key: str, reason: str, now: datetime | None
) -> LedgerEntry | None:
    if points <= 0:
        return None
    return post_entry(
        session, customer, amount=points, kind=EntryKind.BONUS, key=key, reason=reason,
        source="program", now=now,
    )


def award_signup(
    session: Session, program: ProgramSettings, customer: Customer, now: datetime | None = None
) -> LedgerEntry | None:
    return _bonus(
        session, customer, program.bonuses.signup, f"bonus:signup:{customer.id}", "signup bonus", now
    )


def award_birthday(
    session: Session, program: ProgramSettings, customer: Customer, year: int,
    now: datetime | None = None,
) -> LedgerEntry | None:
    return _bonus(
        session, customer, program.bonuses.birthday,
        f"bonus:birthday:{customer.id}:{year}", f"birthday bonus {year}", now,
    )


def award_review(
    session: Session, program: ProgramSettings, customer: Customer, review_id: str,
    now: datetime | None = None,
) -> LedgerEntry | None:
    return _bonus(
        session, customer, program.bonuses.review, f"bonus:review:{review_id}", "product review", now
    )


def referral_code(customer: Customer) -> str:
    """The customer's shareable code, created on first use."""
    if not customer.referral_code:
        customer.referral_code = secrets.token_urlsafe(6).replace("-", "x").replace("_", "y").upper()
    return customer.referral_code


def refer_friend(
    session: Session, account_id: int, referrer_id: int, friend_email: str
) -> Referral:
    """Record an invitation; nobody earns until the friend's first paid order."""
    email = normalize_email(friend_email)
    if not email:
        raise RuleError("a referral needs the friend's e-mail")
    referrer = scope.get(session, Customer, account_id, referrer_id)
    if referrer.email == email:
        raise RuleError("customers cannot refer themselves")
    existing = session.exec(
        scope.rows(Referral, account_id).where(Referral.referee_email == email)
    ).first()
    if existing is not None:
        if existing.referrer_id != referrer.id:
            raise RuleError(f"{email} was already referred by another customer")
        return existing
    friend = session.exec(
        scope.rows(Customer, account_id).where(Customer.email == email)
    ).first()
    if friend is not None and friend.last_activity_at is not None:
        raise RuleError(f"{email} is already a customer")
    referral = Referral(account_id=account_id, referrer_id=referrer.id, referee_email=email)
    session.add(referral)
    return referral


def complete_referral(
    session: Session, program: ProgramSettings, friend: Customer, now: datetime | None = None
) -> list[LedgerEntry]:
    """Called when ``friend``'s first order earns: both sides get their bonus, once."""
    if not friend.email:
        return []
    referral = session.exec(
        scope.rows(Referral, friend.account_id).where(
            Referral.referee_email == friend.email, Referral.status == "pending"
        )
    ).first()
    if referral is None:
        return []
    now = now or utcnow()
    referral.status, referral.referee_id, referral.completed_at = "completed", friend.id, now
    session.add(referral)
    # Locked like every customer whose balance a batch moves (an inbox worker may be settling
    # the referrer's own order); an object this session already holds keeps its changes.
    referrer = session.exec(
        scope.rows(Customer, friend.account_id).where(Customer.id == referral.referrer_id)
        .with_for_update()
    ).one()
    posted = [
        _bonus(session, referrer, program.bonuses.referral_referrer,
               f"referral:{referral.id}:referrer", "referred a friend", now),
        _bonus(session, friend, program.bonuses.referral_referee,
               f"referral:{referral.id}:referee", "referred by a friend", now),
    ]
    return [entry for entry in posted if entry is not None]


def adjust(
    session: Session,
    account_id: int,
    customer_id: int,
    *,
    amount: int,
    reason: str,
    actor: str,
    key: str | None = None,
    now: datetime | None = None,
) -> LedgerEntry:
    """A person's correction. Debits cannot take the available balance below zero."""
    if amount == 0:
        raise RuleError("an adjustment must add or remove points")
    if not reason.strip() or not actor.strip():
        raise RuleError("an adjustment needs a reason and who made it")
    customer = lock_customer(session, scope.get(session, Customer, account_id, customer_id))
    if amount < 0:
        available = available_points(session, customer, now)
        if available + amount < 0:
            raise InsufficientPoints(f"cannot remove {-amount} points; {available} available")
    return post_entry(
        session, customer, amount=amount, kind=EntryKind.ADJUST,
        key=key or f"adjust:{secrets.token_hex(12)}", reason=reason.strip(),
        source="manual", actor=actor.strip(), now=now,
    )


def customer_history(session: Session, account_id: int, customer_id: int) -> list[LedgerEntry]:
    scope.get(session, Customer, account_id, customer_id)
    return list(
        session.exec(
            select(LedgerEntry)
            .where(LedgerEntry.account_id == account_id, LedgerEntry.customer_id == customer_id)
            .order_by(LedgerEntry.id)
        )
    )
