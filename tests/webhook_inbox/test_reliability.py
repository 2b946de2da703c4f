"""10,000 Shopify deliveries: 30% duplicates, shuffled, 5% forged, a worker SIGKILLed mid-run.

The deliveries go through the real receiver; two real ``sadakat worker`` processes work the inbox
meanwhile (one on SQLite, the embedded deployment). One is killed with SIGKILL
while it works and a new one is started. At the end every customer's points equal a model
computed here from the orders' final states, every genuine delivery is stored once and done, and
no forged one is stored.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from integration.db import read_session
from integration.ledger import check_account
from integration.models import Customer, CustomerIdentity, LedgerEntry
from tests.webhook_inbox import shopify_payloads as sp
from tests.webhook_inbox.conftest import SHOP_SECRET, shopify_headers
from webhooks.models import InboxDelivery, InboxStatus

TOTAL = 10_000
DUPLICATE_SHARE = 0.30
FORGED_SHARE = 0.05
CUSTOMERS = 250
POSTERS = 4
ROOT = Path(__file__).resolve().parents[2]

WORKER = (
    "from connectors.shopify.webhooks import ShopifyWebhooks\n"
    "from webhooks.routing import register_handler\n"
    "register_handler(ShopifyWebhooks())\n"
    "from integration.cli import main\n"
    "main(['worker'], prog_name='sadakat')\n"
)


@dataclass
class Delivery:
    topic: str
    body: bytes
    event_id: str


@dataclass
class PlannedOrder:
    order_id: int
    customer_id: int
    lines_total: Decimal
    discount: Decimal
    refunds: list[Decimal] = field(default_factory=list)
    cancelled: bool = False

    @property
    def total(self) -> Decimal:
        return self.lines_total - self.discount + Decimal("10.00")  # + shipping

    def points(self) -> int:
        """The program's default rule, computed independently: one point per unit spent after
        discounts (rounded down), nothing if cancelled, pro rata back on partial refunds."""
        if self.cancelled:
            return 0
        earned = int((self.lines_total - self.discount).quantize(Decimal(1), rounding=ROUND_FLOOR))
        share = min(Decimal(1), sum(self.refunds, Decimal(0)) / self.total)
        taken = int((earned * share).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        return earned - taken


def _plan(rng: random.Random, unique: int) -> tuple[list[Delivery], dict[int, int]]:
    """Genuine deliveries (one per event) and the expected points per Shopify customer id."""
    base = datetime(2026, 10, 1, tzinfo=UTC)
    iso = lambda t: t.isoformat()  # noqa: E731
    customers = {cid: sp.customer(cid, f"buyer{cid}@example.com") for cid in range(1, CUSTOMERS + 1)}
    deliveries = [Delivery("customers/create", json.dumps(c).encode(), uuid.uuid4().hex)
                  for c in customers.values()]
    expected = dict.fromkeys(customers, 0)
    order_id = 100_000
    while len(deliveries) < unique:
        order_id += 1
        cid = rng.randint(1, CUSTOMERS)
        plan = PlannedOrder(order_id, cid, Decimal(rng.randint(1000, 40000)) / 100,
                            Decimal(rng.choice([0, 0, 0, 500, 1000])) / 100)
        t0 = base + timedelta(minutes=order_id - 100_000)
        common = dict(customer_payload=customers[cid], lines_total=plan.lines_total,
                      discount=plan.discount, created_at=iso(t0))
        events = [
            ("orders/create", sp.order(order_id, financial_status="pending", updated_at=iso(t0), **common)),
            ("orders/paid", sp.order(order_id, updated_at=iso(t0 + timedelta(minutes=5)), **common)),
        ]
        refunds = []
        if rng.random() < 0.3:
            amount = (plan.total * Decimal(rng.randint(10, 60)) / 100).quantize(Decimal("0.01"))
            refund = sp.refund(order_id * 10, order_id, amount, created_at=iso(t0 + timedelta(days=1)))
            refunds.append(refund)
            plan.refunds.append(amount)
            events.append(("refunds/create", refund))
            events.append(("orders/updated", sp.order(
                order_id, financial_status="partially_refunded", refunds=refunds,
                updated_at=iso(t0 + timedelta(days=1, minutes=1)), **common)))
        if rng.random() < 0.15:
            plan.cancelled = True
            events.append(("orders/cancelled", sp.order(
                order_id, financial_status="refunded" if refunds else "voided", refunds=refunds,
                cancelled_at=iso(t0 + timedelta(days=2)), updated_at=iso(t0 + timedelta(days=2)),
                **common)))
        deliveries += [Delivery(topic, json.dumps(p).encode(), uuid.uuid4().hex) for topic, p in events]
        expected[cid] += plan.points()
    return deliveries, expected


def _start_worker(settings) -> subprocess.Popen:
    env = {
        **os.environ,
        "SADAKAT_DATABASE__URL": settings.database.url,
        "SADAKAT_SECURITY__SECRET_KEY": settings.security.secret_key,
        "SADAKAT_SECURITY__ENCRYPTION_KEY": settings.security.encryption_key,
        "SADAKAT_INBOX__BACKOFF_SECONDS": "0.2",   # a lock timeout retried quickly, not in 30 s
        "SADAKAT_INBOX__POLL_SECONDS": "0.05",
        "SADAKAT_LOGGING__LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen([sys.executable, "-c", WORKER], env=env, cwd=ROOT)


def _counts(engine, connection_id: int) -> dict[str, int]:
    with read_session(engine) as session:
        return dict(session.exec(
            select(InboxDelivery.status, func.count())
            .where(InboxDelivery.connection_id == connection_id)
            .group_by(InboxDelivery.status)
        ).all())


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_ten_thousand_deliveries_with_duplicates_forgeries_and_a_killed_worker(
    app, settings, engine, shop, is_postgres
):
    rng = random.Random(20261123)
    forged_count = int(TOTAL * FORGED_SHARE)
    duplicate_count = int(TOTAL * DUPLICATE_SHARE)
    genuine, expected = _plan(rng, TOTAL - forged_count - duplicate_count)
    stream = [(d, SHOP_SECRET) for d in genuine]
    stream += [(rng.choice(genuine), SHOP_SECRET) for _ in range(TOTAL - forged_count - len(genuine))]
    for _ in range(forged_count):  # a copy with its amounts changed, signed with a guessed key
        victim = rng.choice(genuine)
        body = victim.body.replace(b'"paid"', b'"refunded"').replace(b".00", b".99")
        stream.append((Delivery(victim.topic, body, uuid.uuid4().hex), "guessed-secret"))
    rng.shuffle(stream)
    assert len(stream) == TOTAL

    # PostgreSQL: two workers sharing the inbox. SQLite: one, as `sadakat serve` runs there.
    workers = [_start_worker(settings) for _ in range(2 if is_postgres else 1)]
    killed = False
    started = time.monotonic()

    def post(chunk: list[tuple[Delivery, str]]) -> Counter[int]:
        own = app.test_client()  # a receiver per thread, as gunicorn has several workers
        answers: Counter[int] = Counter()
        for delivery, secret in chunk:
            headers = shopify_headers(shop.external_id, delivery.topic, delivery.body,
                                      secret=secret, event_id=delivery.event_id)
            answers[own.post("/webhooks/shopify", data=delivery.body, headers=headers).status_code] += 1
        return answers

    try:
        with ThreadPoolExecutor(POSTERS) as pool:
            posting = [pool.submit(post, stream[i::POSTERS]) for i in range(POSTERS)]
            deadline = time.monotonic() + 1500
            while time.monotonic() < deadline:
                counts = _counts(engine, shop.id)
                if not killed and counts.get("done", 0) > len(genuine) // 3:
                    workers[0].send_signal(signal.SIGKILL)  # mid-batch: it is processing now
                    workers[0].wait()
                    workers[0] = _start_worker(settings)
                    killed = True
                posted = all(f.done() for f in posting)
                if posted and counts.get("done", 0) + counts.get("dead", 0) == len(genuine):
                    break
                time.sleep(0.1)
            statuses = sum((f.result() for f in posting), Counter())
        print(f"posted and processed {TOTAL} deliveries in {time.monotonic() - started:.1f} s")
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=30)
    assert statuses == {200: TOTAL - forged_count, 401: forged_count}
    assert killed

    assert _counts(engine, shop.id) == {InboxStatus.DONE: len(genuine)}  # nothing forged, lost or twice
    with read_session(engine) as session:
        stored = set(session.exec(select(InboxDelivery.delivery_id).where(
            InboxDelivery.connection_id == shop.id)))
        assert stored == {f"{d.topic}:{d.event_id}" for d in genuine}
        balances = dict(session.exec(
            select(CustomerIdentity.platform_id, Customer.points_balance)
            .join(Customer, Customer.id == CustomerIdentity.customer_id)
            .where(CustomerIdentity.connection_id == shop.id)
        ).all())
        ledger = dict(session.exec(
            select(CustomerIdentity.platform_id, func.coalesce(func.sum(LedgerEntry.amount), 0))
            .join(LedgerEntry, LedgerEntry.customer_id == CustomerIdentity.customer_id)
            .where(CustomerIdentity.connection_id == shop.id)
            .group_by(CustomerIdentity.platform_id)
        ).all())
        report = check_account(session, shop.account_id)
    assert balances == {str(cid): points for cid, points in expected.items()}
    assert {k: int(v) for k, v in ledger.items()} == {
        str(cid): points for cid, points in expected.items() if str(cid) in ledger
    }
    assert report.ok, report.problems


