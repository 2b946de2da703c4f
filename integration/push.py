"""Pushing loyalty attributes to a connection, changes only.

For every customer the connection can address, the current attributes are computed in batches
and compared with the digest of what the connection last accepted (``PushState``). Only
customers whose attributes changed are sent; a push with nothing changed makes no API call.
State is committed per chunk, so an interrupted push resumes instead of starting over; what the
platform rejected is not marked pushed and is retried next time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from connectors.sdk.base import AttributeUpdate, Connector, ContactRef, PushResult
from integration.db import read_session, utcnow, write_session
from integration.ledger import upcoming_expiry
from integration.models import (
    Account,
    Connection,
    Customer,
    CustomerIdentity,
    LedgerEntry,
    PushState,
    Tier,
)
from integration.program import program_of

ATTRIBUTES = ("points_balance", "pending_points", "tier", "points_expiring_at", "points_expiring")


def loyalty_attributes(
    session: Session, account: Account, customers: list[Customer], now: datetime
) -> dict[int, dict[str, Any]]:
    """The attributes marketers see, for a batch of customers of one account."""
    ids = [c.id for c in customers]
    pending = dict(
        session.exec(
            select(LedgerEntry.customer_id, func.sum(LedgerEntry.amount))
            .where(LedgerEntry.customer_id.in_(ids), LedgerEntry.available_at > now)  # type: ignore[attr-defined]
            .group_by(LedgerEntry.customer_id)
        ).all()
    )
    tiers = dict(session.exec(select(Tier.id, Tier.name).where(Tier.account_id == account.id)).all())
    program = program_of(account)
    result = {}
    for customer in customers:
        held = int(pending.get(customer.id, 0) or 0)
        expiring = upcoming_expiry(session, program, customer, now) if customer.points_balance > 0 else None
        result[customer.id] = {
            "points_balance": customer.points_balance - held,
            "pending_points": held,
            "tier": tiers.get(customer.tier_id, ""),
            "points_expiring_at": expiring.at.date().isoformat() if expiring else None,
            "points_expiring": expiring.points if expiring else 0,
        }
    return result


def digest(attributes: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(attributes, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class PushReport:
    considered: int = 0
    changed: int = 0
    result: PushResult = field(default_factory=PushResult)


def _customers(session: Session, connection: Connection, batch: int) -> Iterator[list[tuple[Customer, str | None]]]:
    """Addressable customers with this connection's id for them, in id order, batch by batch."""
    last_id = 0
    while True:
        rows = session.exec(
            select(Customer, CustomerIdentity.platform_id)
            .outerjoin(
                CustomerIdentity,
                (CustomerIdentity.customer_id == Customer.id)
                & (CustomerIdentity.connection_id == connection.id),
            )
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
        last_id = rows[-1][0].id
        yield list(rows)


def push_attributes(
    engine: Engine, connection_id: int, connector: Connector, *, batch: int = 1000,
    now: datetime | None = None,
) -> PushReport:
    now = now or utcnow()
    report = PushReport()
    with read_session(engine) as reader:
        connection = reader.get(Connection, connection_id)
        account = reader.get(Account, connection.account_id)
        for rows in _customers(reader, connection, batch):
            report.considered += len(rows)
            attributes = loyalty_attributes(reader, account, [c for c, _ in rows], now)
            known = dict(reader.exec(
                select(PushState.customer_id, PushState.digest).where(
                    PushState.connection_id == connection_id,
                    PushState.customer_id.in_([c.id for c, _ in rows]),  # type: ignore[attr-defined]
                )
            ).all())
            updates = [
                AttributeUpdate(
                    ContactRef(customer.id, customer.email, platform_id), attributes[customer.id]
                )
                for customer, platform_id in rows
                if known.get(customer.id) != digest(attributes[customer.id])
            ]
            if not updates:
                continue
            report.changed += len(updates)
            result = connector.push_attributes(updates)
            report.result.merge(result)
            _remember(engine, connection, updates, result, now)
    return report


def _remember(
    engine: Engine, connection: Connection, updates: list[AttributeUpdate], result: PushResult,
    now: datetime,
) -> None:
    failed = {ref.customer_id for ref, _ in result.failed}
    with write_session(engine) as session:
        states = {
            s.customer_id: s for s in session.exec(
                select(PushState).where(
                    PushState.connection_id == connection.id,
                    PushState.customer_id.in_([u.contact.customer_id for u in updates]),  # type: ignore[attr-defined]
                )
            )
        }
        for update in updates:
            if update.contact.customer_id in failed:
                continue
            state = states.get(update.contact.customer_id) or PushState(
                account_id=connection.account_id,
                connection_id=connection.id,
                customer_id=update.contact.customer_id,
                digest="",
            )
            state.digest = digest(dict(update.attributes))
            state.attributes = dict(update.attributes)
            state.pushed_at = now
            session.add(state)
        stored = session.get(Connection, connection.id)
        stored.last_push_at = now
        session.add(stored)
