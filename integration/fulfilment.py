"""Turning a redemption into a real discount code at the store.

The points were debited when the redemption was made. Here the store connector is asked for the
code: success stores the code; a refusal (the platform said no) gives the points back; a
transient failure (retries exhausted, timeouts) leaves the redemption pending so a later run
retries it. Never points gone and no code.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from sqlalchemy.engine import Engine

from connectors.sdk.base import Connector
from connectors.sdk.http import ApiError, AuthError, RetriableError
from integration import ledger, scope
from integration.db import write_session
from integration.models import Account, Customer, CustomerIdentity, Redemption, RedemptionStatus
from integration.records import RewardRequest

log = logging.getLogger(__name__)


def reward_request(session, redemption: Redemption) -> RewardRequest:
    customer = scope.get(session, Customer, redemption.account_id, redemption.customer_id)
    account = session.get(Account, redemption.account_id)
    identity = session.exec(
        scope.rows(CustomerIdentity, redemption.account_id).where(
            CustomerIdentity.customer_id == customer.id,
            CustomerIdentity.connection_id == redemption.connection_id,
        )
    ).first()
    reward = redemption.reward
    return RewardRequest(
        redemption_id=redemption.id,
        kind=reward["kind"],
        title=reward["name"],
        value=Decimal(str(reward.get("value") or 0)),
        currency=account.currency,
        product_id=reward.get("product_id") or "",
        min_order=Decimal(str(reward.get("min_order") or 0)),
        expires_at=redemption.expires_at,
        customer_email=customer.email,
        customer_platform_id=identity.platform_id if identity else None,
    )


def fulfil_redemption(engine: Engine, redemption_id: int, connector: Connector) -> Redemption:
    """Ask the store for the code of one pending redemption and record the outcome."""
    with write_session(engine) as session:
        redemption = session.get(Redemption, redemption_id)
        if redemption.status != RedemptionStatus.PENDING_CODE:
            return redemption
        request = reward_request(session, redemption)
        redemption.attempts += 1
        session.add(redemption)
    try:
        issued = connector.issue_reward(request)
    except (RetriableError, AuthError) as exc:
        # Nothing was decided by the platform: keep the redemption pending for a retry.
        with write_session(engine) as session:
            redemption = session.get(Redemption, redemption_id)
            redemption.error = f"will retry: {exc}"[:500]
            session.add(redemption)
        log.warning("redemption %s still pending: %s", redemption_id, exc)
        return redemption
    except ApiError as exc:
        with write_session(engine) as session:
            redemption = session.get(Redemption, redemption_id)
            ledger.fail_redemption(session, redemption, str(exc))
        return redemption
    with write_session(engine) as session:
        redemption = session.get(Redemption, redemption_id)
        ledger.complete_redemption(session, redemption, issued.code)
        if issued.expires_at is not None:
            redemption.expires_at = issued.expires_at
        session.add(redemption)
    return redemption
