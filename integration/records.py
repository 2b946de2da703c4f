"""Normalized records and domain events: the only shapes the core accepts from connectors.

A connector turns a platform's JSON (webhook payload or API page) into these; the core never sees
platform JSON. A webhook and a synced copy of the same order become the same ``OrderUpserted``
event, which is what makes missed webhooks harmless: applying an order's latest state converges.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from integration.models.orders import OrderStatus


def normalize_email(value: str | None) -> str | None:
    """Lower-cased and stripped; the key that unifies a shopper across platforms."""
    if value is None:
        return None
    value = value.strip().lower()
    return value or None


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("datetimes must carry a time zone")
    return value


Email = Annotated[str | None, AfterValidator(normalize_email)]
Aware = Annotated[datetime, AfterValidator(_aware)]
MaybeAware = Annotated[datetime | None, AfterValidator(_aware)]


class Consent(StrEnum):
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    CLEANED = "cleaned"        # address bounced (Mailchimp)
    SUPPRESSED = "suppressed"  # Klaviyo suppression
    UNKNOWN = "unknown"


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CustomerRecord(Record):
    platform_id: str | None = None
    email: Email = None
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    birthday: date | None = None
    consent: Consent | None = None
    is_guest: bool = False
    created_at: MaybeAware = None
    updated_at: MaybeAware = None


class OrderLineRecord(Record):
    product_id: str = ""
    sku: str = ""
    title: str = ""
    product_type: str = ""
    tags: tuple[str, ...] = ()
    quantity: int = 1
    price: Decimal = Decimal(0)


class RefundRecord(Record):
    platform_id: str
    amount: Decimal = Field(ge=0)
    created_at: Aware


class OrderRecord(Record):
    """An order's state as the platform reports it. Amounts are in ``currency``.

    ``subtotal`` is the lines before discounts; ``discount_total`` includes ``points_discount``
    (the part paid with Sadakat reward codes, which never earns points).
    """

    platform_id: str
    number: str = ""
    customer: CustomerRecord | None = None
    email: Email = None
    currency: str = Field(min_length=3, max_length=3)
    status: OrderStatus
    subtotal: Decimal = Decimal(0)
    shipping: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    discount_total: Decimal = Decimal(0)
    points_discount: Decimal = Decimal(0)
    total: Decimal = Decimal(0)
    discount_codes: tuple[str, ...] = ()
    placed_at: Aware
    updated_at: MaybeAware = None
    cancelled_at: MaybeAware = None
    lines: tuple[OrderLineRecord, ...] = ()
    refunds: tuple[RefundRecord, ...] = ()


class Event(Record):
    """Base of domain events. ``kind`` makes them round-trip through JSON (inbox, replays)."""


class CustomerUpserted(Event):
    kind: Literal["customer_upserted"] = "customer_upserted"
    customer: CustomerRecord


class OrderUpserted(Event):
    kind: Literal["order_upserted"] = "order_upserted"
    order: OrderRecord


class RefundCreated(Event):
    """A refund known before (or without) the full order, e.g. Shopify's ``refunds/create``."""

    kind: Literal["refund_created"] = "refund_created"
    order_platform_id: str
    currency: str = Field(min_length=3, max_length=3)
    refund: RefundRecord


class OrderDeleted(Event):
    kind: Literal["order_deleted"] = "order_deleted"
    order_platform_id: str


class ConsentChanged(Event):
    kind: Literal["consent_changed"] = "consent_changed"
    email: Email
    consent: Consent
    changed_at: Aware


class EmailChanged(Event):
    kind: Literal["email_changed"] = "email_changed"
    old_email: Email
    new_email: Email


class ReviewApproved(Event):
    kind: Literal["review_approved"] = "review_approved"
    review_id: str
    customer: CustomerRecord


class CustomerRedactRequested(Event):
    kind: Literal["customer_redact_requested"] = "customer_redact_requested"
    customer: CustomerRecord


class CustomerDataRequested(Event):
    kind: Literal["customer_data_requested"] = "customer_data_requested"
    request_id: str
    customer: CustomerRecord


class ConnectionRemoved(Event):
    """The platform told us we were uninstalled (``app/uninstalled``) or must erase the shop."""

    kind: Literal["connection_removed"] = "connection_removed"
    erase: bool = False




class RewardRequest(Record):
    """What a store connector needs to turn a redemption into a discount code or coupon."""

    redemption_id: int
    kind: Literal["fixed_amount", "percent", "free_shipping", "free_product"]
    title: str
    value: Decimal = Decimal(0)
    currency: str
    product_id: str = ""
    min_order: Decimal = Decimal(0)
    expires_at: MaybeAware = None
    customer_email: Email = None
    customer_platform_id: str | None = None


class ContactRecord(Record):
    """A contact of an email platform; matched to a customer by e-mail, never creating one."""

    platform_id: str | None = None
    email: Email
    consent: Consent
    updated_at: MaybeAware = None


class ContactUpserted(Event):
    kind: Literal["contact_upserted"] = "contact_upserted"
    contact: ContactRecord


AnyEvent = Annotated[
    CustomerUpserted
    | OrderUpserted
    | RefundCreated
    | OrderDeleted
    | ConsentChanged
    | EmailChanged
    | ReviewApproved
    | CustomerRedactRequested
    | CustomerDataRequested
    | ConnectionRemoved
    | ContactUpserted,
    Field(discriminator="kind"),
]
