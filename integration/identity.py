"""Identity resolution: one ``Customer`` per shopper per account.

A shopper is found by the id a connection knows them by, else by normalized e-mail, else created.
Guests (buyers without an account, known only from orders) are customers keyed by e-mail; when
they later open an account the same row gains the platform id and keeps every point.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from integration import scope
from integration.db import utcnow
from integration.models import Customer, CustomerIdentity
from integration.records import Consent, CustomerRecord


def find_by_platform_id(session: Session, connection_id: int, platform_id: str) -> Customer | None:
    identity = session.exec(
        select(CustomerIdentity).where(
            CustomerIdentity.connection_id == connection_id,
            CustomerIdentity.platform_id == platform_id,
        )
    ).first()
    return None if identity is None else session.get(Customer, identity.customer_id)


def find_by_email(session: Session, account_id: int, email: str | None) -> Customer | None:
    if not email:
        return None
    return session.exec(scope.rows(Customer, account_id).where(Customer.email == email)).first()


def resolve_customer(
    session: Session,
    account_id: int,
    connection_id: int,
    record: CustomerRecord,
    now: datetime | None = None,
) -> tuple[Customer | None, bool]:
    """Find or create the customer ``record`` describes; returns (customer, became_member).

    ``became_member`` is true the first time we see this shopper holding a store account (not
    a guest), which is when a signup bonus may apply. A record with neither id nor e-mail cannot
    be matched to anyone and yields no customer.
    """
    now = now or utcnow()
    customer = None
    if record.platform_id:
        customer = find_by_platform_id(session, connection_id, record.platform_id)
    if customer is None:
        customer = find_by_email(session, account_id, record.email)
    if customer is None:
        if not record.email and not record.platform_id:
            return None, False
        customer = Customer(
            account_id=account_id, email=record.email, created_at=record.created_at or now
        )
        session.add(customer)
        session.flush()
    if record.platform_id and find_by_platform_id(session, connection_id, record.platform_id) is None:
        session.add(
            CustomerIdentity(
                account_id=account_id,
                customer_id=customer.id,
                connection_id=connection_id,
                platform_id=record.platform_id,
            )
        )
    became_member = customer.is_guest and not record.is_guest and record.platform_id is not None
    _merge_profile(session, account_id, customer, record, now)
    return customer, became_member


def _merge_profile(
    session: Session, account_id: int, customer: Customer, record: CustomerRecord, now: datetime
) -> None:
    if record.email and record.email != customer.email:
        if find_by_email(session, account_id, record.email) is None:
            customer.email = record.email
    for name in ("first_name", "last_name", "phone"):
        value = getattr(record, name)
        if value:
            setattr(customer, name, value)
    if record.birthday is not None:
        customer.birthday = record.birthday
    if record.consent is not None and record.consent != Consent.UNKNOWN:
        stamp = record.updated_at or now
        if customer.consent_updated_at is None or customer.consent_updated_at <= stamp:
            customer.consent = record.consent
            customer.consent_updated_at = stamp
    if not record.is_guest and record.platform_id:
        customer.is_guest = False
    customer.updated_at = now
    session.add(customer)
