"""Generic Store JSON → Sadakat records. Pulls and webhooks carry the same JSON, so both use
these two functions and a webhook and a synced copy of an order become the same record."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from connectors.sdk import (
    Consent,
    CustomerRecord,
    OrderLineRecord,
    OrderRecord,
    OrderStatus,
    RefundRecord,
)

STATUS = {
    "pending": OrderStatus.PENDING,
    "paid": OrderStatus.PAID,
    "fulfilled": OrderStatus.FULFILLED,
    "completed": OrderStatus.COMPLETED,
    "refunded": OrderStatus.REFUNDED,
    "cancelled": OrderStatus.CANCELLED,
    "failed": OrderStatus.FAILED,
}


def when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def customer(data: dict[str, Any]) -> CustomerRecord:
    marketing = data.get("accepts_marketing")
    return CustomerRecord(
        platform_id=str(data["id"]),
        email=data.get("email"),
        first_name=data.get("first_name") or "",
        last_name=data.get("last_name") or "",
        consent=None if marketing is None else Consent.SUBSCRIBED if marketing else Consent.UNSUBSCRIBED,
        created_at=when(data.get("created_at")),
        updated_at=when(data.get("updated_at")),
    )


def order(data: dict[str, Any]) -> OrderRecord:
    try:
        status = STATUS[data["status"]]
    except KeyError:
        raise ValueError(f"unknown order status {data.get('status')!r}") from None
    buyer = data.get("customer")
    return OrderRecord(
        platform_id=str(data["id"]),
        number=str(data.get("number") or ""),
        customer=customer(buyer) if buyer else None,
        email=data.get("email"),
        currency=data["currency"],
        status=status,
        subtotal=Decimal(data.get("subtotal") or 0),
        shipping=Decimal(data.get("shipping") or 0),
        tax=Decimal(data.get("tax") or 0),
        discount_total=Decimal(data.get("discount") or 0),
        total=Decimal(data.get("total") or 0),
        placed_at=when(data["created_at"]),
        updated_at=when(data.get("updated_at")),
        lines=tuple(
            OrderLineRecord(sku=line.get("sku", ""), title=line.get("title", ""),
                            quantity=int(line.get("quantity", 1)), price=Decimal(line.get("price") or 0))
            for line in data.get("lines") or ()
        ),
        refunds=tuple(
            RefundRecord(platform_id=str(r["id"]), amount=Decimal(r["amount"]), created_at=when(r["created_at"]))
            for r in data.get("refunds") or ()
        ),
    )
