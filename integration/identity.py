"""Identity resolution: one ``Customer`` per shopper per account.

A shopper is found by the id a connection knows them by, else by normalized e-mail, else created.
Guests (buyers without an account, known only from orders) are customers keyed by e-mail; when
they later open an account the same row gains the platform id and keeps every point.

``CustomerDirectory`` answers these look-ups for one connection within one transaction. It can
``preload`` a whole batch of events' customers in two queries, and it locks the rows it loads
(PostgreSQL) so a concurrent redemption and a refund of the same customer serialize.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, select

from integration import scope
from integration.appendrows import append_row
from integration.db import utcnow
from integration.ids import next_id
from integration.models import Customer, CustomerIdentity
from integration.models.fast import new_row, set_fields
from integration.records import Consent, CustomerRecord


def find_by_platform_id(session: Session, connection_id: int, platform_id: str) -> Customer | None:
    identity = session.exec(
        select(CustomerIdentity).where(
            CustomerIdentity.connection_id == connection_id,
            CustomerIdentity.platform_id == platform_id,
        )
    ).first()
    return None if identity is None else session.get(Customer, identity.customer_id)


class CustomerDirectory:
    """Customers of one account as one connection knows them, cached for one transaction."""

    def __init__(self, session: Session, account_id: int, connection_id: int) -> None:
        self.session = session
        self.account_id = account_id
        self.connection_id = connection_id
        self._by_platform_id: dict[str, Customer | None] = {}
        self._by_email: dict[str, Customer | None] = {}

    def preload(self, platform_ids: Iterable[str], emails: Iterable[str]) -> None:
        platform_ids = sorted(set(platform_ids) - self._by_platform_id.keys())
        emails = sorted(set(emails) - self._by_email.keys())
        if platform_ids:
            self._by_platform_id.update(dict.fromkeys(platform_ids))
            rows = self.session.exec(
                select(CustomerIdentity.platform_id, Customer)
                .join(Customer, Customer.id == CustomerIdentity.customer_id)
                .where(
                    CustomerIdentity.connection_id == self.connection_id,
                    CustomerIdentity.platform_id.in_(platform_ids),  # type: ignore[attr-defined]
                )
                .order_by(Customer.id)
                .with_for_update(of=Customer)
                .execution_options(populate_existing=True)
            ).all()
            for platform_id, customer in rows:
                self._remember(customer, platform_id)
        if emails:
            self._by_email.update(dict.fromkeys(emails))
            rows = self.session.exec(
                scope.rows(Customer, self.account_id)
                .where(Customer.email.in_(emails))  # type: ignore[union-attr]
                .order_by(Customer.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            ).all()
            for customer in rows:
                self._remember(customer)

    def _remember(self, customer: Customer, platform_id: str | None = None) -> None:
        if platform_id:
            self._by_platform_id[platform_id] = customer
        if customer.email:
            self._by_email[customer.email] = customer

    def by_platform_id(self, platform_id: str) -> Customer | None:
        if platform_id not in self._by_platform_id:
            self.preload([platform_id], [])
        return self._by_platform_id[platform_id]

    def by_email(self, email: str | None) -> Customer | None:
        if not email:
            return None
        if email not in self._by_email:
            self.preload([], [email])
        return self._by_email[email]

    def find(self, record: CustomerRecord) -> Customer | None:
        customer = self.by_platform_id(record.platform_id) if record.platform_id else None
        return customer or self.by_email(record.email)

    def resolve(
        self, record: CustomerRecord, now: datetime | None = None
    ) -> tuple[Customer | None, bool]:
        """Find or create the customer ``record`` describes; returns (customer, became_member).

        ``became_member`` is true the first time we see this shopper holding a store account (not
        a guest), which is when a signup bonus may apply. A record with neither id nor e-mail
        cannot be matched to anyone and yields no customer.
        """
        now = now or utcnow()
        customer = self.find(record)
        if customer is None:
            if not record.email and not record.platform_id:
                return None, False
            customer = new_row(
                Customer, id=next_id(self.session, Customer), account_id=self.account_id,
                email=record.email, created_at=record.created_at or now,
            )
            self.session.add(customer)
            self._remember(customer)
        if record.platform_id:
            self.link(customer, record.platform_id)
        became_member = customer.is_guest and not record.is_guest and record.platform_id is not None
        self._merge_profile(customer, record, now)
        return customer, became_member

    def link(self, customer: Customer, platform_id: str) -> None:
        """Record that this connection knows ``customer`` as ``platform_id``."""
        if self.by_platform_id(platform_id) is not None:
            return
        append_row(self.session, CustomerIdentity, {
            "account_id": self.account_id, "customer_id": customer.id,
            "connection_id": self.connection_id, "platform_id": platform_id,
        })
        self._remember(customer, platform_id)

    def _merge_profile(self, customer: Customer, record: CustomerRecord, now: datetime) -> None:
        changes: dict[str, object] = {"updated_at": now}
        if record.email and record.email != customer.email and self.by_email(record.email) is None:
            if customer.email:
                self._by_email[customer.email] = None
            changes["email"] = record.email
            self._by_email[record.email] = customer
        for name in ("first_name", "last_name", "phone"):
            value = getattr(record, name)
            if value and value != getattr(customer, name):
                changes[name] = value
        if record.birthday is not None:
            changes["birthday"] = record.birthday
        if record.consent is not None and record.consent != Consent.UNKNOWN:
            stamp = record.updated_at or now
            if customer.consent_updated_at is None or customer.consent_updated_at <= stamp:
                changes.update(consent=record.consent, consent_updated_at=stamp)
        if not record.is_guest and record.platform_id:
            changes["is_guest"] = False
        set_fields(customer, **changes)
