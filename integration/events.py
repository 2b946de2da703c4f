"""Applying domain events to customers, orders and the ledger.

Webhooks (through the inbox) and syncs (through the connectors' pulls) both end here, with the
same events, so a webhook and a synced record of the same order are one and the same thing.
Each handler is idempotent and order-insensitive:

- an order is upserted from its latest state; a record older than what we stored
  (``updated_at``) changes nothing but may still add refunds, which are kept by refund id;
- a refund for an order we have not seen yet creates a placeholder order that the order's own
  event later fills in;
- the ledger side is settled from the order's state (``ledger.settle_order``).

Nothing here commits: the caller owns the transaction (one inbox row, or one sync page).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, delete, select

from integration import ledger
from integration.db import utcnow
from integration.identity import find_by_email, find_by_platform_id, resolve_customer
from integration.models import (
    Account,
    Connection,
    Customer,
    CustomerIdentity,
    LedgerEntry,
    Order,
    OrderLine,
    OrderStatus,
    Refund,
)
from integration.privacy import erase_connection, export_customer, redact_customer
from integration.program import ProgramSettings, program_of
from integration.records import (
    Consent,
    ConnectionRemoved,
    ConsentChanged,
    ContactUpserted,
    CustomerDataRequested,
    CustomerRecord,
    CustomerRedactRequested,
    CustomerUpserted,
    EmailChanged,
    Event,
    OrderDeleted,
    OrderRecord,
    OrderUpserted,
    RefundCreated,
    RefundRecord,
    ReviewApproved,
)

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What applying one event did; the inbox and the sync jobs record it."""

    entries: list[LedgerEntry] = field(default_factory=list)
    customer_ids: set[int] = field(default_factory=set)
    note: str = ""
    export: dict[str, Any] | None = None


@dataclass
class Context:
    session: Session
    account: Account
    connection: Connection
    program: ProgramSettings
    now: datetime


def apply_event(
    session: Session,
    account: Account,
    connection: Connection,
    event: Event,
    now: datetime | None = None,
) -> Outcome:
    """Apply one event inside the caller's transaction."""
    if connection.account_id != account.id:
        raise ValueError("connection does not belong to the account")
    ctx = Context(session, account, connection, program_of(account), now or utcnow())
    handler = HANDLERS.get(type(event))
    if handler is None:
        log.info("no handler for %s; acknowledged and ignored", type(event).__name__)
        return Outcome(note=f"ignored {type(event).__name__}")
    return handler(ctx, event)


def _customer(ctx: Context, record: CustomerRecord) -> tuple[Customer | None, Outcome]:
    customer, became_member = resolve_customer(
        ctx.session, ctx.account.id, ctx.connection.id, record, ctx.now
    )
    outcome = Outcome()
    if customer is None:
        outcome.note = "customer has neither id nor e-mail; ignored"
        return None, outcome
    outcome.customer_ids.add(customer.id)
    joined_after_launch = (record.created_at or ctx.now) >= ctx.account.created_at
    if became_member and joined_after_launch:
        entry = ledger.award_signup(ctx.session, ctx.program, customer, ctx.now)
        if entry is not None:
            outcome.entries.append(entry)
    return customer, outcome


def on_customer_upserted(ctx: Context, event: CustomerUpserted) -> Outcome:
    return _customer(ctx, event.customer)[1]


def _find_order(ctx: Context, platform_id: str) -> Order | None:
    return ctx.session.exec(
        select(Order)
        .where(Order.connection_id == ctx.connection.id, Order.platform_id == platform_id)
        .with_for_update()
    ).first()


def _add_refunds(ctx: Context, order: Order, refunds: tuple[RefundRecord, ...]) -> None:
    known = set(
        ctx.session.exec(select(Refund.platform_id).where(Refund.order_id == order.id))
    )
    added = False
    for refund in refunds:
        if refund.platform_id in known:
            continue
        ctx.session.add(
            Refund(
                account_id=order.account_id,
                order_id=order.id,
                platform_id=refund.platform_id,
                amount=refund.amount,
                created_at=refund.created_at,
            )
        )
        known.add(refund.platform_id)
        added = True
    if added:
        ctx.session.flush()
        total = sum(
            ctx.session.exec(select(Refund.amount).where(Refund.order_id == order.id)),
            Decimal(0),
        )
        order.refunded_total = total
        ctx.session.add(order)


def _write_order(ctx: Context, order: Order, record: OrderRecord, customer: Customer | None) -> None:
    order.customer_id = customer.id if customer else order.customer_id
    order.number = record.number
    order.email = record.email or (record.customer.email if record.customer else None)
    order.currency = record.currency
    order.status = record.status
    order.subtotal = record.subtotal
    order.shipping = record.shipping
    order.tax = record.tax
    order.discount_total = record.discount_total
    order.points_discount = record.points_discount
    order.total = record.total
    order.discount_codes = ",".join(record.discount_codes)[:500]
    order.placed_at = record.placed_at
    order.cancelled_at = record.cancelled_at
    order.source_updated_at = record.updated_at
    order.updated_at = ctx.now
    ctx.session.add(order)
    ctx.session.flush()
    ctx.session.exec(delete(OrderLine).where(OrderLine.order_id == order.id))  # type: ignore[call-overload]
    for line in record.lines:
        ctx.session.add(
            OrderLine(
                account_id=order.account_id,
                order_id=order.id,
                product_id=line.product_id,
                sku=line.sku,
                title=line.title[:300],
                product_type=line.product_type,
                tags=",".join(line.tags)[:1000],
                quantity=line.quantity,
                price=line.price,
            )
        )


def _settle(ctx: Context, order: Order, outcome: Outcome) -> Outcome:
    if order.customer_id is None:
        return outcome
    customer = ledger.lock_customer(ctx.session, ctx.session.get(Customer, order.customer_id))
    outcome.customer_ids.add(customer.id)
    posted = ledger.settle_order(ctx.session, ctx.account, ctx.program, order, customer, ctx.now)
    outcome.entries.extend(posted)
    if any(entry.kind == "earn" for entry in posted):
        outcome.entries.extend(ledger.complete_referral(ctx.session, ctx.program, customer, ctx.now))
    if posted:
        ledger.evaluate_tier(ctx.session, ctx.program, customer, ctx.now)
    return outcome


def on_order_upserted(ctx: Context, event: OrderUpserted) -> Outcome:
    record = event.order
    buyer = record.customer or CustomerRecord(email=record.email, is_guest=True)
    customer, outcome = _customer(ctx, buyer)
    order = _find_order(ctx, record.platform_id)
    stale = (
        order is not None
        and order.source_updated_at is not None
        and record.updated_at is not None
        and record.updated_at < order.source_updated_at
    )
    if order is None:
        order = Order(
            account_id=ctx.account.id,
            connection_id=ctx.connection.id,
            platform_id=record.platform_id,
            currency=record.currency,
            status=record.status,
            placed_at=record.placed_at,
        )
    if stale:
        outcome.note = "older than the stored order; only new refunds applied"
    else:
        _write_order(ctx, order, record, customer)
    _add_refunds(ctx, order, record.refunds)
    return _settle(ctx, order, outcome)


def on_refund_created(ctx: Context, event: RefundCreated) -> Outcome:
    order = _find_order(ctx, event.order_platform_id)
    outcome = Outcome()
    if order is None:
        order = Order(
            account_id=ctx.account.id,
            connection_id=ctx.connection.id,
            platform_id=event.order_platform_id,
            currency=event.currency,
            status=OrderStatus.PENDING,
            placed_at=event.refund.created_at,
        )
        ctx.session.add(order)
        ctx.session.flush()
        outcome.note = "refund before its order; placeholder order kept until the order arrives"
    _add_refunds(ctx, order, (event.refund,))
    return _settle(ctx, order, outcome)


def on_order_deleted(ctx: Context, event: OrderDeleted) -> Outcome:
    order = _find_order(ctx, event.order_platform_id)
    if order is None:
        return Outcome(note="deleted order was never seen")
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = order.cancelled_at or ctx.now
    ctx.session.add(order)
    return _settle(ctx, order, Outcome())


def on_consent_changed(ctx: Context, event: ConsentChanged) -> Outcome:
    customer = find_by_email(ctx.session, ctx.account.id, event.email)
    if customer is None:
        return Outcome(note="no customer with that e-mail")
    if customer.consent_updated_at is None or customer.consent_updated_at <= event.changed_at:
        customer.consent = event.consent
        customer.consent_updated_at = event.changed_at
        ctx.session.add(customer)
    return Outcome(customer_ids={customer.id})


def on_contact_upserted(ctx: Context, event: ContactUpserted) -> Outcome:
    """Email-platform contacts only enrich known customers: consent and the platform's id."""
    contact = event.contact
    customer = None
    if contact.platform_id:
        customer = find_by_platform_id(ctx.session, ctx.connection.id, contact.platform_id)
    customer = customer or find_by_email(ctx.session, ctx.account.id, contact.email)
    if customer is None:
        return Outcome(note="no customer with that e-mail")
    if contact.platform_id and find_by_platform_id(
        ctx.session, ctx.connection.id, contact.platform_id
    ) is None:
        ctx.session.add(CustomerIdentity(
            account_id=ctx.account.id, customer_id=customer.id,
            connection_id=ctx.connection.id, platform_id=contact.platform_id,
        ))
    changed_at = contact.updated_at or ctx.now
    # UNKNOWN (e.g. Mailchimp's "transactional" members, which our own pushes create) says
    # nothing about consent: it must not erase what the store knows, as in ``_merge_profile``.
    if contact.consent != Consent.UNKNOWN and (
        customer.consent_updated_at is None or customer.consent_updated_at <= changed_at
    ):
        customer.consent = contact.consent
        customer.consent_updated_at = changed_at
        ctx.session.add(customer)
    return Outcome(customer_ids={customer.id})


def on_email_changed(ctx: Context, event: EmailChanged) -> Outcome:
    customer = find_by_email(ctx.session, ctx.account.id, event.old_email)
    if customer is None:
        return Outcome(note="no customer with the old e-mail")
    if find_by_email(ctx.session, ctx.account.id, event.new_email) is not None:
        return Outcome(customer_ids={customer.id}, note="new e-mail belongs to another customer")
    customer.email = event.new_email
    ctx.session.add(customer)
    return Outcome(customer_ids={customer.id})


def on_review_approved(ctx: Context, event: ReviewApproved) -> Outcome:
    customer, outcome = _customer(ctx, event.customer)
    if customer is not None:
        entry = ledger.award_review(ctx.session, ctx.program, customer, event.review_id, ctx.now)
        if entry is not None:
            outcome.entries.append(entry)
    return outcome


def _existing_customer(ctx: Context, record: CustomerRecord) -> Customer | None:
    customer = None
    if record.platform_id:
        customer = find_by_platform_id(ctx.session, ctx.connection.id, record.platform_id)
    return customer or find_by_email(ctx.session, ctx.account.id, record.email)


def on_redact_requested(ctx: Context, event: CustomerRedactRequested) -> Outcome:
    customer = _existing_customer(ctx, event.customer)
    if customer is None:
        return Outcome(note="nothing held about that customer")
    redact_customer(ctx.session, ctx.account.id, customer.id, ctx.now)
    return Outcome(customer_ids={customer.id}, note="customer redacted")


def on_data_requested(ctx: Context, event: CustomerDataRequested) -> Outcome:
    customer = _existing_customer(ctx, event.customer)
    if customer is None:
        return Outcome(note="nothing held about that customer", export={})
    return Outcome(
        customer_ids={customer.id},
        export=export_customer(ctx.session, ctx.account.id, customer.id),
        note=f"data request {event.request_id} exported",
    )


def on_connection_removed(ctx: Context, event: ConnectionRemoved) -> Outcome:
    count = erase_connection(ctx.session, ctx.connection, erase=event.erase, now=ctx.now)
    return Outcome(note=f"connection disabled; {count} customers redacted")


HANDLERS: dict[type[Event], Callable[[Context, Any], Outcome]] = {
    CustomerUpserted: on_customer_upserted,
    OrderUpserted: on_order_upserted,
    RefundCreated: on_refund_created,
    OrderDeleted: on_order_deleted,
    ConsentChanged: on_consent_changed,
    ContactUpserted: on_contact_upserted,
    EmailChanged: on_email_changed,
    ReviewApproved: on_review_approved,
    CustomerRedactRequested: on_redact_requested,
    CustomerDataRequested: on_data_requested,
    ConnectionRemoved: on_connection_removed,
}
