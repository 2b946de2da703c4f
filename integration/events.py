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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, delete, select

from integration import ledger
from integration.appendrows import append_row, flush_rows
from integration.models.fast import new_row, set_fields
from integration.db import utcnow
from integration.ids import next_id
from integration.identity import CustomerDirectory
from integration.keylocks import lock_keys
from integration.models import (
    Account,
    Connection,
    Customer,
    EntryKind,
    LedgerEntry,
    Order,
    OrderLine,
    OrderStatus,
    Referral,
    Refund,
    Tier,
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
    customers: list[Customer] = field(default_factory=list)
    note: str = ""
    export: dict[str, Any] | None = None

    @property
    def customer_ids(self) -> set[int]:
        """Ids of the customers the event touched (known once the transaction is flushed)."""
        return {c.id for c in self.customers if c.id is not None}


@dataclass
class Context:
    """One transaction's view of an account and connection, with the rows a batch needs.

    ``preload`` reads (and on PostgreSQL locks, in id order) every customer and order a batch of
    events names, in a handful of queries, after locking the keys of those it may create
    (``integration.keylocks``); handlers then work from these caches and the session
    flushes once. Without a preload the same handlers load what they need one by one.
    """

    session: Session
    account: Account
    connection: Connection
    program: ProgramSettings
    now: datetime
    customers: CustomerDirectory
    orders: dict[str, Order | None] = field(default_factory=dict)
    order_entries: dict[str, list[LedgerEntry]] = field(default_factory=dict)
    refund_ids: dict[str, set[str]] = field(default_factory=dict)
    pending_referrals: set[str] = field(default_factory=set)
    touched: dict[int, Customer] = field(default_factory=dict)  # id(customer) -> customer
    tiers: dict[int, Tier] = field(default_factory=dict)

    def preload(self, events: Sequence[Event]) -> None:
        platform_ids, emails, order_ids = set(), set(), set()
        for event in events:
            buyer = None
            if isinstance(event, OrderUpserted):
                order_ids.add(event.order.platform_id)
                buyer = event.order.customer or CustomerRecord(email=event.order.email)
                emails.add(event.order.email)
            elif isinstance(event, RefundCreated | OrderDeleted):
                order_ids.add(event.order_platform_id)
            elif isinstance(event, CustomerUpserted):
                buyer = event.customer
            if buyer is not None:
                platform_ids.add(buyer.platform_id)
                emails.add(buyer.email)
        platform_ids.discard(None)
        emails.discard(None)
        lock_keys(self.session, [
            *(f"customer:{self.connection.id}:{p}" for p in platform_ids),
            *(f"email:{self.account.id}:{e}" for e in emails),
            *(f"order:{self.connection.id}:{o}" for o in order_ids),
        ])
        self.tiers = {t.id: t for t in ledger.tiers_of(self.session, self.account.id)}
        self.customers.preload(platform_ids, emails)
        self._load_orders(order_ids)
        self._lock_buyers()
        if emails:
            self.pending_referrals |= set(self.session.exec(
                select(Referral.referee_email).where(
                    Referral.account_id == self.account.id,
                    Referral.status == "pending",
                    Referral.referee_email.in_(sorted(emails)),  # type: ignore[attr-defined]
                )
            ))

    def _load_orders(self, platform_ids: set[str]) -> None:
        wanted = sorted(platform_ids - self.orders.keys())
        if not wanted:
            return
        self.orders.update(dict.fromkeys(wanted))
        rows = self.session.exec(
            select(Order)
            .where(Order.connection_id == self.connection.id, Order.platform_id.in_(wanted))  # type: ignore[attr-defined]
            .order_by(Order.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
        by_id = {}
        for order in rows:
            self.orders[order.platform_id] = order
            self.order_entries[order.platform_id] = []
            self.refund_ids[order.platform_id] = set()
            by_id[order.id] = order.platform_id
        if not by_id:
            return
        for entry in self.session.exec(
            select(LedgerEntry)
            .where(LedgerEntry.order_id.in_(list(by_id)))  # type: ignore[union-attr]
            .order_by(LedgerEntry.id)
        ):
            self.order_entries[by_id[entry.order_id]].append(entry)
        for order_id, refund_id in self.session.exec(
            select(Refund.order_id, Refund.platform_id).where(Refund.order_id.in_(list(by_id)))  # type: ignore[attr-defined]
        ):
            self.refund_ids[by_id[order_id]].add(refund_id)

    def _lock_buyers(self) -> None:
        """Lock the customers of the loaded orders too: a refund or a deletion names only its
        order, and two workers settling two orders of one shopper would otherwise both move the
        same cached balance from the same stale value (one update lost)."""
        buyer_ids = {order.customer_id for order in self.orders.values()
                     if order is not None and order.customer_id is not None}
        if buyer_ids:
            ledger.lock_customers(self.session, buyer_ids)

    def order(self, platform_id: str) -> Order | None:
        self._load_orders({platform_id})
        return self.orders[platform_id]

    def new_order(self, **fields: Any) -> Order:
        order = new_row(Order, id=next_id(self.session, Order), account_id=self.account.id,
                        connection_id=self.connection.id, **fields)
        self.session.add(order)
        self.orders[order.platform_id] = order
        self.order_entries[order.platform_id] = []
        self.refund_ids[order.platform_id] = set()
        return order


def apply_event(
    session: Session,
    account: Account,
    connection: Connection,
    event: Event,
    now: datetime | None = None,
) -> Outcome:
    """Apply one event inside the caller's transaction."""
    return apply_events(session, account, connection, [event], now)[0]


def apply_events(
    session: Session,
    account: Account,
    connection: Connection,
    events: Sequence[Event],
    now: datetime | None = None,
) -> list[Outcome]:
    """Apply events in order inside the caller's transaction (one sync page, one inbox batch).

    Tiers of the customers whose points moved are re-evaluated once, after the batch.
    """
    if connection.account_id != account.id:
        raise ValueError("connection does not belong to the account")
    ctx = Context(
        session, account, connection, program_of(account), now or utcnow(),
        CustomerDirectory(session, account.id, connection.id),
    )
    outcomes = []
    session.flush()  # the preload re-reads rows under lock; unsaved changes must not be lost
    with session.no_autoflush:
        ctx.preload(events)
        for event in events:
            handler = HANDLERS.get(type(event))
            if handler is None:
                log.info("no handler for %s; acknowledged and ignored", type(event).__name__)
                outcomes.append(Outcome(note=f"ignored {type(event).__name__}"))
            else:
                outcomes.append(handler(ctx, event))
    flush_rows(session)
    _evaluate_tiers(ctx)
    return outcomes


def _evaluate_tiers(ctx: Context) -> None:
    tiers = sorted(ctx.tiers.values(), key=lambda tier: tier.threshold)
    if not tiers or not ctx.touched:
        return
    customers = list(ctx.touched.values())
    values = ledger.qualifying_values(
        ctx.session, ctx.program, ctx.account.id, [c.id for c in customers], ctx.now
    )
    ledger.write_tier_changes(ctx.session, [
        (c, ledger.tier_changes(ctx.program, c, ctx.now, tiers, values[c.id])) for c in customers
    ])


def _customer(ctx: Context, record: CustomerRecord) -> tuple[Customer | None, Outcome]:
    customer, became_member = ctx.customers.resolve(record, ctx.now)
    outcome = Outcome()
    if customer is None:
        outcome.note = "customer has neither id nor e-mail; ignored"
        return None, outcome
    outcome.customers.append(customer)
    joined_after_launch = (record.created_at or ctx.now) >= ctx.account.created_at
    if became_member and joined_after_launch:
        entry = ledger.award_signup(ctx.session, ctx.program, customer, ctx.now)
        if entry is not None:
            outcome.entries.append(entry)
            ctx.touched[id(customer)] = customer
    return customer, outcome


def on_customer_upserted(ctx: Context, event: CustomerUpserted) -> Outcome:
    return _customer(ctx, event.customer)[1]


def _add_refunds(ctx: Context, order: Order, refunds: tuple[RefundRecord, ...]) -> None:
    known = ctx.refund_ids[order.platform_id]
    for refund in refunds:
        if refund.platform_id in known:
            continue
        append_row(
            ctx.session,
            Refund,
            dict(
                account_id=order.account_id,
                platform_id=refund.platform_id,
                amount=refund.amount,
                created_at=refund.created_at,
            ),
            order=order,
        )
        known.add(refund.platform_id)
        order.refunded_total = (order.refunded_total or Decimal(0)) + refund.amount


def _order_fields(record: OrderRecord) -> dict[str, Any]:
    return dict(
        number=record.number,
        email=record.email or (record.customer.email if record.customer else None),
        currency=record.currency,
        status=record.status,
        subtotal=record.subtotal,
        shipping=record.shipping,
        tax=record.tax,
        discount_total=record.discount_total,
        points_discount=record.points_discount,
        total=record.total,
        discount_codes=",".join(record.discount_codes)[:500],
        placed_at=record.placed_at,
        cancelled_at=record.cancelled_at,
        source_updated_at=record.updated_at,
    )


def _set_buyer(order: Order, customer: Customer | None) -> None:
    """Point the order at its customer by id (customers get their ids before they are saved).

    Assigning the relationship instead makes the unit of work synchronise the pair on every
    flush, a fifth of the CPU of applying an order; ``order.customer`` still answers, from the
    object handed over.
    """
    set_fields(order, customer_id=customer.id if customer is not None else None)
    set_committed_value(order, "customer", customer)


def _write_order(ctx: Context, order: Order, record: OrderRecord, customer: Customer | None) -> None:
    """Overwrite an existing order with a newer state of it."""
    if customer is not None:
        _set_buyer(order, customer)
    set_fields(order, updated_at=ctx.now, **_order_fields(record))
    flush_rows(ctx.session)
    ctx.session.exec(delete(OrderLine).where(OrderLine.order_id == order.id))  # type: ignore[call-overload]
    _write_lines(ctx, order, record)


def _write_lines(ctx: Context, order: Order, record: OrderRecord) -> None:
    for line in record.lines:
        append_row(
            ctx.session,
            OrderLine,
            dict(
                account_id=order.account_id,
                product_id=line.product_id,
                sku=line.sku,
                title=line.title[:300],
                product_type=line.product_type,
                tags=",".join(line.tags)[:1000],
                quantity=line.quantity,
                price=line.price,
            ),
            order=order,
        )


def _settle(ctx: Context, order: Order, outcome: Outcome) -> Outcome:
    customer = order.customer
    if customer is None:
        return outcome
    if customer not in outcome.customers:
        outcome.customers.append(customer)
    posted = ledger.settle_order(
        ctx.session, ctx.program, order, customer, ctx.now, ctx.order_entries[order.platform_id],
        ctx.tiers,
    )
    outcome.entries.extend(posted)
    earned = any(entry.kind == EntryKind.EARN for entry in posted)
    if earned and customer.email in ctx.pending_referrals:
        ctx.pending_referrals.discard(customer.email)
        outcome.entries.extend(ledger.complete_referral(ctx.session, ctx.program, customer, ctx.now))
    if posted:
        ctx.touched[id(customer)] = customer
    return outcome


def on_order_upserted(ctx: Context, event: OrderUpserted) -> Outcome:
    record = event.order
    buyer = record.customer or CustomerRecord(email=record.email, is_guest=True)
    customer, outcome = _customer(ctx, buyer)
    order = ctx.order(record.platform_id)
    if order is None:
        order = ctx.new_order(platform_id=record.platform_id, updated_at=ctx.now, **_order_fields(record))
        _set_buyer(order, customer)
        _write_lines(ctx, order, record)
    elif order.source_updated_at is not None and record.updated_at is not None and (
        record.updated_at <= order.source_updated_at
    ):
        outcome.note = "not newer than the stored order; only new refunds applied"
    else:
        _write_order(ctx, order, record, customer)
    _add_refunds(ctx, order, record.refunds)
    return _settle(ctx, order, outcome)


def on_refund_created(ctx: Context, event: RefundCreated) -> Outcome:
    order = ctx.order(event.order_platform_id)
    outcome = Outcome()
    if order is None:
        order = ctx.new_order(
            platform_id=event.order_platform_id,
            currency=event.currency,
            status=OrderStatus.PENDING,
            placed_at=event.refund.created_at,
        )
        outcome.note = "refund before its order; placeholder order kept until the order arrives"
    _add_refunds(ctx, order, (event.refund,))
    return _settle(ctx, order, outcome)


def on_order_deleted(ctx: Context, event: OrderDeleted) -> Outcome:
    order = ctx.order(event.order_platform_id)
    if order is None:
        return Outcome(note="deleted order was never seen")
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = order.cancelled_at or ctx.now
    ctx.session.add(order)
    return _settle(ctx, order, Outcome())


def on_consent_changed(ctx: Context, event: ConsentChanged) -> Outcome:
    customer = ctx.customers.by_email(event.email)
    if customer is None:
        return Outcome(note="no customer with that e-mail")
    if customer.consent_updated_at is None or customer.consent_updated_at <= event.changed_at:
        customer.consent = event.consent
        customer.consent_updated_at = event.changed_at
        ctx.session.add(customer)
    return Outcome(customers=[customer])


def on_contact_upserted(ctx: Context, event: ContactUpserted) -> Outcome:
    """Email-platform contacts only enrich known customers: consent and the platform's id."""
    contact = event.contact
    customer = ctx.customers.find(CustomerRecord(platform_id=contact.platform_id, email=contact.email))
    if customer is None:
        return Outcome(note="no customer with that e-mail")
    if contact.platform_id:
        ctx.customers.link(customer, contact.platform_id)
    changed_at = contact.updated_at or ctx.now
    # UNKNOWN (e.g. Mailchimp's "transactional" members, which our own pushes create) says
    # nothing about consent: it must not erase what the store knows, as in ``_merge_profile``.
    if contact.consent != Consent.UNKNOWN and (
        customer.consent_updated_at is None or customer.consent_updated_at <= changed_at
    ):
        customer.consent = contact.consent
        customer.consent_updated_at = changed_at
        ctx.session.add(customer)
    return Outcome(customers=[customer])


def on_email_changed(ctx: Context, event: EmailChanged) -> Outcome:
    customer = ctx.customers.by_email(event.old_email)
    if customer is None:
        return Outcome(note="no customer with the old e-mail")
    if ctx.customers.by_email(event.new_email) is not None:
        return Outcome(customers=[customer], note="new e-mail belongs to another customer")
    customer.email = event.new_email
    ctx.session.add(customer)
    return Outcome(customers=[customer])


def on_review_approved(ctx: Context, event: ReviewApproved) -> Outcome:
    customer, outcome = _customer(ctx, event.customer)
    if customer is not None:
        entry = ledger.award_review(ctx.session, ctx.program, customer, event.review_id, ctx.now)
        if entry is not None:
            outcome.entries.append(entry)
    return outcome


def on_redact_requested(ctx: Context, event: CustomerRedactRequested) -> Outcome:
    customer = ctx.customers.find(event.customer)
    if customer is None:
        return Outcome(note="nothing held about that customer")
    ctx.session.flush()
    redact_customer(ctx.session, ctx.account.id, customer.id, ctx.now)
    return Outcome(customers=[customer], note="customer redacted")


def on_data_requested(ctx: Context, event: CustomerDataRequested) -> Outcome:
    customer = ctx.customers.find(event.customer)
    if customer is None:
        return Outcome(note="nothing held about that customer", export={})
    ctx.session.flush()
    return Outcome(
        customers=[customer],
        export=export_customer(ctx.session, ctx.account.id, customer.id),
        note=f"data request {event.request_id} exported",
    )


def on_connection_removed(ctx: Context, event: ConnectionRemoved) -> Outcome:
    ctx.session.flush()
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
