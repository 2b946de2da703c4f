"""Small builders for records and program set-ups used across the core's tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlmodel import Session

from integration.accounts import add_connection, create_account, set_program
from integration.crypto import SecretBox
from integration.events import apply_event
from integration.models import Account, Connection, Customer, OrderStatus
from integration.program import ProgramSettings
from integration.records import CustomerRecord, OrderRecord, OrderUpserted, RefundRecord

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def shop(session: Session, box: SecretBox, program: ProgramSettings | None = None,
         created_at: datetime = T0 - timedelta(days=365), platform: str = "shopify",
         credentials: dict | None = None) -> tuple[Account, Connection]:
    account = create_account(session, f"Shop {uuid.uuid4().hex[:6]}", program=program)
    account.created_at = created_at
    connection = add_connection(
        session, box, account, platform=platform,
        external_id=f"{uuid.uuid4().hex[:10]}.myshopify.com",
        credentials=credentials or {"access_token": "t"},
    )
    session.commit()
    return account, connection


def reprogram(session: Session, account: Account, program: ProgramSettings) -> None:
    set_program(session, account, program)
    session.commit()


def order(
    platform_id: str,
    amount: str | Decimal = "100.00",
    *,
    status: OrderStatus = OrderStatus.PAID,
    customer: str | None = "c1",
    email: str | None = None,
    guest: bool = False,
    placed_at: datetime = T0,
    updated_at: datetime | None = None,
    refunds: tuple[RefundRecord, ...] = (),
    **amounts: Decimal,
) -> OrderRecord:
    amount = Decimal(amount)
    email = email if email is not None else f"{customer or 'guest'}@example.com"
    buyer = CustomerRecord(
        platform_id=None if guest else customer, email=email, is_guest=guest,
        created_at=T0 - timedelta(days=30),
    )
    return OrderRecord(
        platform_id=platform_id, number=f"#{platform_id}", customer=buyer, email=email,
        currency="USD", status=status, subtotal=amounts.pop("subtotal", amount),
        total=amounts.pop("total", amount), placed_at=placed_at,
        updated_at=updated_at, refunds=refunds, **amounts,
    )


def refund(platform_id: str, amount: str, at: datetime = T0 + timedelta(days=2)) -> RefundRecord:
    return RefundRecord(platform_id=platform_id, amount=Decimal(amount), created_at=at)


def apply(session: Session, account: Account, connection: Connection, event, now=T0):
    outcome = apply_event(session, account, connection, event, now=now)
    session.commit()
    return outcome


def place(session, account, connection, record: OrderRecord, now=T0):
    return apply(session, account, connection, OrderUpserted(order=record), now)


def customer_of(session: Session, account: Account, email: str) -> Customer:
    from sqlmodel import select

    session.commit()  # end the read snapshot: see what other transactions committed
    session.expire_all()
    return session.exec(
        select(Customer).where(Customer.account_id == account.id, Customer.email == email)
    ).one()


def segments(engine, account_id: int, rules: dict[str, dict]) -> None:
    """Define the account's segments (name → rule) and compute them, as the segments job does."""
    from integration.db import utcnow, write_session
    from integration.segments import SegmentDefinition, recompute_account, save_segment

    with write_session(engine) as session:
        for name, rule in rules.items():
            save_segment(session, account_id, SegmentDefinition(name=name, rule=rule))
    with write_session(engine) as session:
        recompute_account(session, account_id, utcnow())
