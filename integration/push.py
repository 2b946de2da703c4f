"""Pushing loyalty attributes to a connection, changes only.

For every customer the connection can address, the current attributes are computed in batches
(set-based queries, plain rows) and compared with the digest of what the connection last
accepted (``PushState``). Only customers whose attributes changed are sent, gathered into calls
as large as the platform takes; a push with nothing changed makes no API call. State is written
after each call in one statement, so an interrupted push resumes instead of starting over; what
the platform failed for now is not marked pushed and is sent again next time. Contacts it
refused for good are recorded (``integration.refusals``) and left out until the refusal is
stale; then they are sent once more, changed or not.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from connectors.sdk.base import AttributeUpdate, Capability, Connector, ContactRef, PushResult
from integration import refusals
from integration.db import read_session, upsert, utcnow, write_session
from integration.ledger import upcoming_expiry
from integration.models import (
    Account,
    Connection,
    Customer,
    CustomerIdentity,
    CustomerInsight,
    LedgerEntry,
    PushState,
    Tier,
)
from integration.program import ProgramSettings, program_of

@dataclass(frozen=True)
class Addressable:
    """A customer as a push needs them: who, and the cached figures the attributes start from."""

    customer_id: int
    email: str | None
    platform_id: str | None
    points_balance: int
    tier_id: int | None
    predicted_clv: float | None = None

    @classmethod
    def of(cls, customer: Customer, platform_id: str | None = None) -> Addressable:
        return cls(customer.id, customer.email, platform_id, customer.points_balance,
                   customer.tier_id)


def _expiring(
    session: Session, program: ProgramSettings, account_id: int, rows: list[Addressable],
    now: datetime,
) -> dict[int, tuple[str | None, int]]:
    if program.expiry.mode == "none":
        return {}
    ids = [row.customer_id for row in rows if row.points_balance > 0]
    if not ids:
        return {}
    customers = session.exec(
        select(Customer).where(Customer.account_id == account_id, Customer.id.in_(ids))  # type: ignore[union-attr]
    ).all()
    result = {}
    for customer in customers:
        upcoming = upcoming_expiry(session, program, customer, now)
        if upcoming is not None:
            result[customer.id] = (upcoming.at.date().isoformat(), upcoming.points)
    return result


def loyalty_attributes(
    session: Session, account: Account, rows: list[Addressable], now: datetime
) -> dict[int, dict[str, Any]]:
    """The attributes marketers see, for a batch of customers of one account."""
    ids = [row.customer_id for row in rows]
    pending = dict(
        session.exec(
            select(LedgerEntry.customer_id, func.sum(LedgerEntry.amount))
            .where(LedgerEntry.customer_id.in_(ids), LedgerEntry.available_at > now)  # type: ignore[attr-defined]
            .group_by(LedgerEntry.customer_id)
        ).all()
    )
    tiers = dict(session.exec(select(Tier.id, Tier.name).where(Tier.account_id == account.id)).all())
    expiring = _expiring(session, program_of(account), account.id, rows, now)
    result = {}
    for row in rows:
        held = int(pending.get(row.customer_id, 0) or 0)
        expires_at, expires = expiring.get(row.customer_id, (None, 0))
        result[row.customer_id] = {
            "points_balance": row.points_balance - held,
            "pending_points": held,
            "tier": tiers.get(row.tier_id, ""),
            "points_expiring_at": expires_at,
            "points_expiring": expires,
            "predicted_clv": None if row.predicted_clv is None else round(row.predicted_clv, 2),
        }
    return result


def digest(attributes: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(attributes, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class PushReport:
    considered: int = 0
    changed: int = 0
    calls: int = 0
    excluded: int = 0  # left out: refused for good earlier
    result: PushResult = field(default_factory=PushResult)
    refused: Counter[str] = field(default_factory=Counter)  # new refusals, by reason


def addressable(session: Session, connection: Connection, batch: int) -> Iterator[list[Addressable]]:
    """Customers of the connection's account, with this connection's id for them, by id."""
    last_id = 0
    while True:
        rows = session.exec(
            select(Customer.id, Customer.email, CustomerIdentity.platform_id,
                   Customer.points_balance, Customer.tier_id, CustomerInsight.predicted_clv)
            .outerjoin(
                CustomerIdentity,
                (CustomerIdentity.customer_id == Customer.id)
                & (CustomerIdentity.connection_id == connection.id),
            )
            .outerjoin(CustomerInsight, CustomerInsight.customer_id == Customer.id)
            .where(
                Customer.account_id == connection.account_id,
                Customer.redacted_at.is_(None),  # type: ignore[union-attr]
                Customer.id > last_id,
            )
            .order_by(Customer.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        last_id = rows[-1][0]
        yield [Addressable(*row) for row in rows]


def push_attributes(
    engine: Engine, connection_id: int, connector: Connector, *, batch: int = 1000,
    now: datetime | None = None,
) -> PushReport:
    now = now or utcnow()
    report = PushReport()
    per_call = max(batch, connector.push_batch_size)
    waiting: list[AttributeUpdate] = []
    stale: set[int] = set()  # refused earlier, but something changed the answer since
    with read_session(engine) as reader:
        connection = reader.get(Connection, connection_id)
        account = reader.get(Account, connection.account_id)
        for rows in addressable(reader, connection, batch):
            report.considered += len(rows)
            ids = [row.customer_id for row in rows]
            standing = refusals.standing(reader, connection_id, ids)
            stale |= standing.stale
            attributes = loyalty_attributes(reader, account, rows, now)
            known = dict(reader.exec(
                select(PushState.customer_id, PushState.digest).where(
                    PushState.connection_id == connection_id,
                    PushState.customer_id.in_(ids),  # type: ignore[attr-defined]
                )
            ).all())
            for row in rows:
                if row.customer_id in standing.active:
                    report.excluded += 1
                    continue
                values = attributes[row.customer_id]
                if known.get(row.customer_id) != digest(values) or row.customer_id in standing.stale:
                    waiting.append(AttributeUpdate(
                        ContactRef(row.customer_id, row.email, row.platform_id), values))
            while len(waiting) >= per_call:
                _send(engine, connection, connector, waiting[:per_call], report, now, stale)
                del waiting[:per_call]
    if waiting:
        _send(engine, connection, connector, waiting, report, now, stale)
    return report


def _send(
    engine: Engine, connection: Connection, connector: Connector, updates: list[AttributeUpdate],
    report: PushReport, now: datetime, stale: set[int],
) -> None:
    report.changed += len(updates)
    report.calls += 1
    result = connector.push_attributes(updates)
    report.result.merge(result)
    not_taken = {ref.customer_id for ref, _ in result.failed} | {
        ref.customer_id for ref, _ in result.refused}
    accepted = [update for update in updates if update.contact.customer_id not in not_taken]
    with write_session(engine) as session:
        upsert(session, PushState, [
            {"account_id": connection.account_id, "connection_id": connection.id,
             "customer_id": update.contact.customer_id, "digest": digest(dict(update.attributes)),
             "attributes": dict(update.attributes), "pushed_at": now}
            for update in accepted
        ], keys=("connection_id", "customer_id"), update=("digest", "attributes", "pushed_at"))
        report.refused.update(refusals.record(session, connection, result.refused, now))
        refusals.lift(session, connection, stale & {u.contact.customer_id for u in accepted}, now,
                      catch_up=Capability.PUSH_SEGMENTS in connector.capabilities)
        stored = session.get(Connection, connection.id)
        stored.last_push_at = now
        session.add(stored)
