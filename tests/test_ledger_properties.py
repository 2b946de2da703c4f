"""Stateful property test: random store histories against a simple model of what is owed.

Hypothesis drives orders, status changes (paid ⇄ cancelled), partial refunds, duplicate and
stale deliveries, redemptions and clock moves through ``apply_event`` on the real database. The
model knows only each order's latest logical state and computes what it should be worth from
scratch; after every step the ledger must agree with it and with its own invariants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test
from sqlmodel import Session, func, select

from integration import ledger
from integration.db import write_session
from integration.errors import InsufficientPoints
from integration.events import apply_event
from integration.models import Customer, LedgerEntry, OrderStatus, Reward, RewardKind
from integration.program import ProgramSettings
from integration.records import OrderUpserted, RefundCreated, RefundRecord
from tests.factories import T0, order, shop

CUSTOMERS = ("ana", "bo")


@dataclass
class ModelOrder:
    customer: str
    amount: int
    status: OrderStatus
    refunds: dict[str, int] = field(default_factory=dict)
    version: int = 0

    def worth(self) -> int:
        """Points this order should be worth now: earned once at 1/unit, less what was taken."""
        if self.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
            return 0
        if self.status == OrderStatus.PENDING and self.version == 0:
            return 0
        refunded = min(Decimal(sum(self.refunds.values())), Decimal(self.amount))
        taken = (Decimal(self.amount) * refunded / Decimal(self.amount)).quantize(
            Decimal(1), rounding=ROUND_HALF_UP)
        return self.amount - int(taken)


def make_machine(engine, box):
    class Ledger(RuleBasedStateMachine):
        @initialize()
        def open_shop(self):
            with Session(engine, expire_on_commit=False) as session:
                self.account, self.connection = shop(
                    session, box, ProgramSettings(return_window_days=3))
                reward = Reward(account_id=self.account.id, name="r", kind=RewardKind.PERCENT,
                                points_cost=40, value=Decimal(10))
                session.add(reward)
                session.commit()
                self.reward_id = reward.id
            self.now = T0
            self.orders: dict[str, ModelOrder] = {}
            self.last_event = None
            self.redeemed = {c: 0 for c in CUSTOMERS}
            self.redeemed_log: list[str] = []
            self.ever_paid: set[str] = set()

        def deliver(self, event, remember=True):
            with write_session(engine) as session:
                apply_event(session, self.account, self.connection, event, now=self.now)
            if remember:
                self.last_event = event

        def send_order(self, pid: str):
            o = self.orders[pid]
            record = order(pid, Decimal(o.amount), status=o.status, customer=o.customer,
                           placed_at=T0, updated_at=T0 + timedelta(minutes=o.version))
            self.deliver(OrderUpserted(order=record))

        @rule(customer=st.sampled_from(CUSTOMERS), amount=st.integers(1, 300),
              paid=st.booleans())
        def new_order(self, customer, amount, paid):
            pid = f"o{len(self.orders)}"
            status = OrderStatus.PAID if paid else OrderStatus.PENDING
            self.orders[pid] = ModelOrder(customer, amount, status)
            if paid:
                self.ever_paid.add(pid)
            self.send_order(pid)

        @precondition(lambda self: self.orders)
        @rule(data=st.data(), status=st.sampled_from([OrderStatus.PAID, OrderStatus.CANCELLED,
                                                      OrderStatus.COMPLETED]))
        def change_status(self, data, status):
            pid = data.draw(st.sampled_from(sorted(self.orders)))
            o = self.orders[pid]
            o.status, o.version = status, o.version + 1
            if status != OrderStatus.CANCELLED:
                self.ever_paid.add(pid)
            self.send_order(pid)

        @precondition(lambda self: self.orders)
        @rule(data=st.data(), share=st.integers(1, 60))
        def refund(self, data, share):
            pid = data.draw(st.sampled_from(sorted(self.orders)))
            o = self.orders[pid]
            amount = max(1, o.amount * share // 100)
            rid = f"{pid}-r{len(o.refunds)}"
            o.refunds[rid] = amount
            self.deliver(RefundCreated(order_platform_id=pid, currency="USD", refund=RefundRecord(
                platform_id=rid, amount=Decimal(amount), created_at=self.now)))

        @precondition(lambda self: self.last_event is not None)
        @rule()
        def duplicate_delivery(self):
            self.deliver(self.last_event)

        @precondition(lambda self: self.orders)
        @rule(data=st.data())
        def stale_copy(self, data):
            pid = data.draw(st.sampled_from(sorted(self.orders)))
            o = self.orders[pid]
            if o.version == 0:
                return
            stale = order(pid, Decimal(o.amount), status=OrderStatus.CANCELLED, customer=o.customer,
                          placed_at=T0, updated_at=T0 + timedelta(minutes=o.version - 1) - timedelta(seconds=1))
            self.deliver(OrderUpserted(order=stale), remember=False)

        @rule(customer=st.sampled_from(CUSTOMERS))
        def redeem(self, customer):
            with write_session(engine) as session:
                row = session.exec(select(Customer).where(
                    Customer.account_id == self.account.id,
                    Customer.email == f"{customer}@example.com")).first()
                if row is None:
                    return
                available = ledger.available_points(session, row, self.now)
                try:
                    ledger.redeem(session, self.account.id, row.id, self.reward_id,
                                  key=f"attempt-{len(self.redeemed_log)}", now=self.now)
                except InsufficientPoints:
                    assert available < 40
                    return
            assert available >= 40
            self.redeemed[customer] += 40
            self.redeemed_log.append(customer)

        @rule(days=st.integers(1, 5))
        def advance_clock(self, days):
            self.now += timedelta(days=days)

        @invariant()
        def ledger_matches_model(self):
            if not hasattr(self, "account"):
                return
            with Session(engine) as session:
                report = ledger.check_account(session, self.account.id)
                assert report.ok, report.problems
                for name in CUSTOMERS:
                    row = session.exec(select(Customer).where(
                        Customer.account_id == self.account.id,
                        Customer.email == f"{name}@example.com")).first()
                    if row is None:
                        continue
                    written_off = session.exec(select(func.coalesce(func.sum(
                        LedgerEntry.shortfall), 0)).where(LedgerEntry.customer_id == row.id)).one()
                    owed = sum(o.worth() for pid, o in self.orders.items()
                               if o.customer == name and (pid in self.ever_paid))
                    # shortfall: points a reversal could not take back (already spent)
                    assert row.points_balance == owed - self.redeemed[name] + written_off
                    assert row.points_balance >= 0
                    assert ledger.available_points(session, row, self.now) >= 0

    return Ledger


def test_ledger_follows_the_model(engine, box):
    machine = make_machine(engine, box)
    run_state_machine_as_test(machine, settings=settings(
        max_examples=12, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))
