"""``sadakat demo``: the loyalty program run end to end on generated store data, on SQLite.

Deterministic (seeded) so two runs print the same figures. The store events go through the same
``apply_event`` as webhooks and syncs, duplicates and all.
"""

from __future__ import annotations

import random
import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.progress import track
from rich.table import Table
from sqlmodel import func, select

from integration import ledger
from integration.accounts import add_connection, create_account
from integration.db import make_engine, write_session
from integration.events import apply_event
from integration.migrate import upgrade
from integration.models import (
    Customer,
    LedgerEntry,
    OrderStatus,
    Redemption,
    Reward,
    RewardKind,
    Tier,
)
from integration.program import Bonuses, EarnRule, Expiry, ProgramSettings
from integration.crypto import SecretBox
from integration.records import (
    CustomerRecord,
    CustomerUpserted,
    Event,
    OrderRecord,
    OrderUpserted,
    RefundCreated,
    RefundRecord,
)
from integration.settings import generate_key

START = datetime(2026, 1, 1, tzinfo=UTC)


def demo_program() -> ProgramSettings:
    return ProgramSettings(
        earn=EarnRule(points_per_unit=Decimal(1), rounding="down"),
        award_on="paid",
        return_window_days=14,
        expiry=Expiry(mode="fixed_age", months=12),
        bonuses=Bonuses(signup=50, birthday=100, referral_referrer=200, referral_referee=100),
    )


def store_events(customers: int, seed: int = 7) -> list[Event]:
    """Customers and orders as a store would report them, with refunds and repeats."""
    rng = random.Random(seed)
    events: list[Event] = []
    for n in range(customers):
        guest = rng.random() < 0.2
        buyer = CustomerRecord(
            platform_id=None if guest else f"c{n}",
            email=f"shopper{n}@example.com",
            first_name=f"Shopper{n}",
            is_guest=guest,
            created_at=START + timedelta(days=rng.randint(0, 90)),
        )
        if not guest:
            events.append(CustomerUpserted(customer=buyer))
        for k in range(max(1, int(rng.expovariate(0.6)))):
            subtotal = Decimal(rng.randint(1500, 25000)) / 100
            order = OrderRecord(
                platform_id=f"o{n}-{k}",
                number=f"#{1000 + len(events)}",
                customer=buyer,
                email=buyer.email,
                currency="USD",
                status=OrderStatus.PAID,
                subtotal=subtotal,
                shipping=Decimal("4.90"),
                total=subtotal + Decimal("4.90"),
                placed_at=START + timedelta(days=rng.randint(0, 300)),
            )
            events.append(OrderUpserted(order=order))
            if rng.random() < 0.3:
                events.append(OrderUpserted(order=order))  # duplicate delivery
            roll = rng.random()
            if roll < 0.05:
                events.append(OrderUpserted(order=order.model_copy(update={
                    "status": OrderStatus.CANCELLED, "updated_at": order.placed_at + timedelta(days=1)})))
            elif roll < 0.15:
                refund = RefundRecord(platform_id=f"r{n}-{k}", amount=(subtotal / 3).quantize(
                    Decimal("0.01")), created_at=order.placed_at + timedelta(days=3))
                events.append(RefundCreated(order_platform_id=order.platform_id, currency="USD",
                                            refund=refund))
    return events


def run_demo(directory: str, *, customers: int, console: Console) -> None:
    folder = Path(directory)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    engine = make_engine(f"sqlite:///{folder / 'demo.db'}")
    upgrade(engine)
    box = SecretBox(generate_key())
    now = START + timedelta(days=330)
    with write_session(engine) as session:
        account = create_account(session, "Demo Store", currency="USD", program=demo_program())
        account.created_at = START
        connection = add_connection(
            session, box, account, platform="shopify", external_id="demo-store.myshopify.com",
            credentials={"access_token": "demo"},
        )
        session.add_all([
            Tier(account_id=account.id, name="Bronze", threshold=Decimal(0)),
            Tier(account_id=account.id, name="Silver", threshold=Decimal(300), multiplier=Decimal("1.25")),
            Tier(account_id=account.id, name="Gold", threshold=Decimal(800), multiplier=Decimal("1.5")),
            Reward(account_id=account.id, name="$5 off", kind=RewardKind.FIXED_AMOUNT,
                   points_cost=500, value=Decimal(5)),
            Reward(account_id=account.id, name="Free shipping", kind=RewardKind.FREE_SHIPPING,
                   points_cost=300),
        ])
    events = store_events(customers)
    with write_session(engine) as session:
        for event in track(events, description="Applying store events", console=console):
            apply_event(session, account, connection, event, now=now)
    with write_session(engine) as session:
        reward = session.exec(select(Reward).where(Reward.account_id == account.id)).first()
        richest = session.exec(
            select(Customer).where(Customer.account_id == account.id)
            .order_by(Customer.points_balance.desc()).limit(20)  # type: ignore[attr-defined]
        ).all()
        for customer in richest:
            if ledger.available_points(session, customer, now) < reward.points_cost:
                continue
            redemption = ledger.redeem(session, account.id, customer.id, reward.id,
                                       key=f"demo:{customer.id}", now=now)
            ledger.complete_redemption(session, redemption, f"SADAKAT-{redemption.id:05d}", now)
        program = demo_program()
        expired = 0
        for customer in session.exec(select(Customer).where(Customer.account_id == account.id)):
            if ledger.expire_points(session, program, customer, now + timedelta(days=400)):
                expired += 1
    _summary(engine, account.id, len(events), expired, console, folder)


def _summary(engine, account_id: int, events: int, expired: int, console: Console, folder: Path) -> None:
    with write_session(engine) as session:
        report = ledger.check_account(session, account_id)
        members = session.exec(select(func.count()).select_from(Customer).where(
            Customer.account_id == account_id)).one()
        redemptions = session.exec(select(func.count()).select_from(Redemption).where(
            Redemption.account_id == account_id)).one()
        tiers = session.exec(
            select(Tier.name, func.count(Customer.id))
            .join(Customer, Customer.tier_id == Tier.id)
            .where(Tier.account_id == account_id)
            .group_by(Tier.name)
        ).all()
        entries = session.exec(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.account_id == account_id)).one()
    table = Table(title="Sadakat demo", show_header=False)
    table.add_row("store events applied (with duplicates)", str(events))
    table.add_row("customers", str(members))
    table.add_row("ledger entries", str(entries))
    table.add_row("points issued (net of refunds)", str(report.issued))
    table.add_row("points redeemed", f"{report.redeemed} in {redemptions} redemptions")
    table.add_row("points expired", f"{report.expired} ({expired} customers, one year later)")
    table.add_row("points outstanding", str(report.balances))
    table.add_row("tiers", ", ".join(f"{name}: {count}" for name, count in tiers) or "-")
    table.add_row("ledger check", "ok" if report.ok else "; ".join(report.problems))
    table.add_row("database", str(folder / "demo.db"))
    console.print(table)
