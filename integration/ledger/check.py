"""``sadakat ledger check``: prove an account's ledger adds up, with set-based SQL.

Checked per account:
- issued = balances + redeemed + expired, where issued counts earn, bonus, import, adjustments
  and reversals, and redeemed nets out redemptions given back;
- every cached ``points_balance`` equals the sum of that customer's entries;
- no balance is negative; no order has more taken back than it earned;
- every redemption has exactly its debit, and a failed one exactly its refund.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import case, func
from sqlmodel import Session, select

from integration.models import (
    Customer,
    EntryKind,
    LedgerEntry,
    Redemption,
    RedemptionStatus,
)

ISSUED = (EntryKind.EARN, EntryKind.BONUS, EntryKind.IMPORT, EntryKind.ADJUST, EntryKind.REVERSE)
REDEEMED = (EntryKind.REDEEM, EntryKind.REDEEM_REFUND)


@dataclass
class LedgerReport:
    account_id: int
    issued: int = 0
    redeemed: int = 0
    expired: int = 0
    balances: int = 0
    entries: int = 0
    customers: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _sum_of(kinds: tuple[EntryKind, ...]):
    return func.coalesce(
        func.sum(case((LedgerEntry.kind.in_(kinds), LedgerEntry.amount), else_=0)), 0  # type: ignore[attr-defined]
    )


def check_account(session: Session, account_id: int, limit: int = 20) -> LedgerReport:
    report = LedgerReport(account_id=account_id)
    issued, redeemed, expired, entries = session.exec(
        select(
            _sum_of(ISSUED), _sum_of(REDEEMED), _sum_of((EntryKind.EXPIRE,)), func.count()
        ).where(LedgerEntry.account_id == account_id)
    ).one()
    report.issued, report.redeemed, report.expired = int(issued), -int(redeemed), -int(expired)
    report.entries = int(entries)
    balances, customers = session.exec(
        select(func.coalesce(func.sum(Customer.points_balance), 0), func.count()).where(
            Customer.account_id == account_id
        )
    ).one()
    report.balances, report.customers = int(balances), int(customers)
    if report.balances + report.redeemed + report.expired != report.issued:
        report.problems.append(
            f"balances {report.balances} + redeemed {report.redeemed} + expired {report.expired}"
            f" != issued {report.issued}"
        )

    sums = (
        select(LedgerEntry.customer_id, func.sum(LedgerEntry.amount).label("total"))
        .where(LedgerEntry.account_id == account_id)
        .group_by(LedgerEntry.customer_id)
        .subquery()
    )
    drift = session.exec(
        select(Customer.id, Customer.points_balance, func.coalesce(sums.c.total, 0))
        .outerjoin(sums, sums.c.customer_id == Customer.id)
        .where(
            Customer.account_id == account_id,
            Customer.points_balance != func.coalesce(sums.c.total, 0),
        )
        .limit(limit)
    ).all()
    for customer_id, cached, actual in drift:
        report.problems.append(f"customer {customer_id}: cached balance {cached} != entries {actual}")

    negative = session.exec(
        select(Customer.id, Customer.points_balance)
        .where(Customer.account_id == account_id, Customer.points_balance < 0)
        .limit(limit)
    ).all()
    for customer_id, balance in negative:
        report.problems.append(f"customer {customer_id}: negative balance {balance}")

    over_reversed = session.exec(
        select(LedgerEntry.order_id)
        .where(LedgerEntry.account_id == account_id, LedgerEntry.order_id.is_not(None))  # type: ignore[union-attr]
        .group_by(LedgerEntry.order_id)
        .having(func.sum(LedgerEntry.amount) < 0)
        .limit(limit)
    ).all()
    for order_id in over_reversed:
        report.problems.append(f"order {order_id}: more points taken back than earned")

    debits = (
        select(
            LedgerEntry.redemption_id,
            _sum_of((EntryKind.REDEEM,)).label("debit"),
            _sum_of((EntryKind.REDEEM_REFUND,)).label("refund"),
        )
        .where(LedgerEntry.account_id == account_id, LedgerEntry.redemption_id.is_not(None))  # type: ignore[union-attr]
        .group_by(LedgerEntry.redemption_id)
        .subquery()
    )
    expected_refund = case((Redemption.status == RedemptionStatus.FAILED, Redemption.points), else_=0)
    bad = session.exec(
        select(Redemption.id)
        .outerjoin(debits, debits.c.redemption_id == Redemption.id)
        .where(
            Redemption.account_id == account_id,
            (func.coalesce(debits.c.debit, 0) != -Redemption.points)
            | (func.coalesce(debits.c.refund, 0) != expected_refund),
        )
        .limit(limit)
    ).all()
    for redemption_id in bad:
        report.problems.append(f"redemption {redemption_id}: entries do not match its status")
    return report
