"""GDPR / KVKK: what we hold about a shopper, and forgetting them without breaking the ledger.

Redaction removes personal data (e-mail, names, phone, birthday, platform ids, order e-mails,
the addresses an email tool refused); ledger entries stay, attached to the now anonymous customer row, so account totals still add up.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, delete, select

from integration import scope
from integration.db import utcnow
from integration.models import (
    Connection,
    ConnectionStatus,
    Customer,
    CustomerIdentity,
    LedgerEntry,
    Order,
    PushRefusal,
    Redemption,
    Referral,
)


def export_customer(session: Session, account_id: int, customer_id: int) -> dict[str, Any]:
    """Everything held about one customer, as JSON-ready data."""
    customer = scope.get(session, Customer, account_id, customer_id)

    def dump(rows) -> list[dict[str, Any]]:
        return [row.model_dump(mode="json") for row in rows]

    return {
        "customer": customer.model_dump(mode="json"),
        "identities": dump(
            session.exec(scope.rows(CustomerIdentity, account_id).where(
                CustomerIdentity.customer_id == customer_id))
        ),
        "orders": dump(
            session.exec(scope.rows(Order, account_id).where(Order.customer_id == customer_id))
        ),
        "ledger": dump(
            session.exec(scope.rows(LedgerEntry, account_id).where(
                LedgerEntry.customer_id == customer_id).order_by(LedgerEntry.id))
        ),
        "redemptions": dump(
            session.exec(scope.rows(Redemption, account_id).where(
                Redemption.customer_id == customer_id))
        ),
        "referrals": dump(
            session.exec(scope.rows(Referral, account_id).where(
                (Referral.referrer_id == customer_id) | (Referral.referee_id == customer_id)))
        ),
    }


def redact_customer(
    session: Session, account_id: int, customer_id: int, now: datetime | None = None
) -> Customer:
    customer = scope.get(session, Customer, account_id, customer_id)
    email = customer.email
    customer.email = None
    customer.first_name = customer.last_name = customer.phone = ""
    customer.birthday = None
    customer.referral_code = None
    customer.redacted_at = customer.updated_at = now or utcnow()  # incremental segments drop them
    session.add(customer)
    session.exec(delete(CustomerIdentity).where(  # type: ignore[call-overload]
        CustomerIdentity.account_id == account_id, CustomerIdentity.customer_id == customer_id))
    session.exec(delete(PushRefusal).where(  # type: ignore[call-overload]
        PushRefusal.account_id == account_id, PushRefusal.customer_id == customer_id))
    for order in session.exec(scope.rows(Order, account_id).where(Order.customer_id == customer_id)):
        order.email = None
        session.add(order)
    if email:
        for referral in session.exec(
            scope.rows(Referral, account_id).where(Referral.referee_email == email)
        ):
            referral.referee_email = f"redacted-{referral.id}"
            session.add(referral)
    return customer


def erase_connection(
    session: Session, connection: Connection, *, erase: bool, now: datetime | None = None
) -> int:
    """The platform removed us: stop using the credentials; with ``erase``, redact its shoppers.

    Returns how many customers were redacted.
    """
    connection.status = ConnectionStatus.DISABLED
    connection.status_message = "removed by the platform (uninstalled)"
    connection.credentials = ""
    session.add(connection)
    if not erase:
        return 0
    customer_ids = set(
        session.exec(
            select(CustomerIdentity.customer_id).where(
                CustomerIdentity.connection_id == connection.id
            )
        )
    )
    customer_ids |= {
        cid for cid in session.exec(
            select(Order.customer_id).where(Order.connection_id == connection.id)
        ) if cid is not None
    }
    for customer_id in sorted(customer_ids):
        redact_customer(session, connection.account_id, customer_id, now)
    return len(customer_ids)
