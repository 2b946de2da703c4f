"""A reward redeemed the way a shopper's click does it: ``ledger.redeem`` debits the points, then
``fulfil_redemption`` asks the store for a real discount code."""

from __future__ import annotations

from sqlmodel import select

from integration import ledger
from integration.connections import connector_for
from integration.db import read_session, write_session
from integration.fulfilment import fulfil_redemption
from integration.models import Connection, Customer, CustomerIdentity, RedemptionStatus, Reward
from integration.runtime import Runtime


def redeem_best(runtime: Runtime, account_id: int, connection_id: int, *, key: str) -> str:
    """Redeem the dearest reward the richest shopper of this store can afford; returns the code."""
    with write_session(runtime.engine) as session:
        rewards = session.exec(select(Reward).where(Reward.account_id == account_id, Reward.active)
                               .order_by(Reward.points_cost.desc())).all()  # type: ignore[attr-defined]
        shoppers = session.exec(
            select(Customer).join(CustomerIdentity, CustomerIdentity.customer_id == Customer.id)
            .where(CustomerIdentity.connection_id == connection_id)
            .order_by(Customer.points_balance.desc(), Customer.id).limit(20)  # type: ignore[attr-defined]
        ).all()
        choice = next(((customer, reward) for customer in shoppers for reward in rewards
                       if ledger.available_points(session, customer) >= reward.points_cost), None)
        if choice is None:
            raise RuntimeError(f"no shopper of connection {connection_id} can afford a reward")
        customer, reward = choice
        redemption = ledger.redeem(session, account_id, customer.id, reward.id, key=key,
                                   connection_id=connection_id)
        session.flush()
        redemption_id = redemption.id
    with read_session(runtime.engine) as session:
        connector = connector_for(session.get(Connection, connection_id), runtime.box)
    done = fulfil_redemption(runtime.engine, redemption_id, connector)
    if done.status != RedemptionStatus.ISSUED:
        raise RuntimeError(f"redemption {redemption_id} ended {done.status}: {done.error}")
    return done.code
