"""The public JSON API, ``/api/v1``: what a storefront, a POS or another system asks Sadakat.

Every request carries ``Authorization: Bearer sdk_...``; the token belongs to one account and
everything it can see is scoped to that account: another account's customer is a 404, never a
403, so ids cannot be probed.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import wraps
from typing import Any

from flask import Blueprint, g, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlmodel import Session

from integration import ledger, scope
from integration.api.openapi import spec
from integration.api.tokens import authenticate, has_scope
from integration.app import runtime
from integration.connections import connector_for
from integration.fulfilment import fulfil_redemption
from integration.appendrows import flush_rows
from integration.db import utcnow, write_session
from integration.errors import InsufficientPoints, LedgerConflict, NotFound, RuleError
from integration.models import (
    Account,
    Customer,
    CustomerIdentity,
    Connection,
    LedgerEntry,
    Redemption,
    Reward,
)
from integration.program import program_of
from integration.push import Addressable, loyalty_attributes

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    return jsonify(error={"code": error.code, "message": error.message}), error.status


def _error_for(exc: Exception) -> ApiError:
    if isinstance(exc, NotFound):
        return ApiError(404, "not_found", str(exc))
    if isinstance(exc, InsufficientPoints):
        return ApiError(409, "insufficient_points", str(exc))
    if isinstance(exc, LedgerConflict):
        return ApiError(409, "idempotency_conflict", str(exc))
    if isinstance(exc, RuleError):
        return ApiError(422, "rule", str(exc))
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        return ApiError(422, "invalid", f"{where}: {first['msg']}")
    raise exc


def endpoint(scope_needed: str) -> Callable:
    """Authenticate, check the scope, open one write transaction, map core errors to HTTP."""

    def wrap(fn: Callable) -> Callable:
        @wraps(fn)
        def run(**kwargs: Any):
            header = request.headers.get("Authorization", "")
            if not header.startswith("Bearer "):
                raise ApiError(401, "unauthorized", "missing bearer token")
            with write_session(runtime().engine) as session:
                token = authenticate(session, header[len("Bearer "):].strip())
                if token is None:
                    raise ApiError(401, "unauthorized", "invalid or revoked token")
                if not has_scope(token, scope_needed):
                    raise ApiError(403, "forbidden", f"token lacks the {scope_needed!r} scope")
                g.token = token
                g.account = session.get(Account, token.account_id)
                try:
                    return fn(session, **kwargs)
                except (NotFound, InsufficientPoints, LedgerConflict, RuleError,
                        ValidationError) as exc:
                    session.rollback()
                    raise _error_for(exc) from None

        return run

    return wrap


def _body(model: type[BaseModel]) -> Any:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "expected a JSON object body")
    return model.model_validate(data)


def _summary(session: Session, customer: Customer) -> dict[str, Any]:
    return summary_for(session, g.account, customer)


def summary_for(session: Session, account: Account, customer: Customer) -> dict[str, Any]:
    """What a shopper's loyalty looks like right now (API and storefront alike)."""
    now = utcnow()
    attributes = loyalty_attributes(session, account, [Addressable.of(customer)], now)[customer.id]
    program = program_of(account)
    tiers = ledger.tiers_of(session, account.id)
    value = ledger.qualifying_value(session, program, customer, now) if tiers else Decimal(0)
    upcoming = next((t for t in tiers if t.threshold > value), None)
    return {
        "id": customer.id,
        "email": customer.email,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "points_balance": attributes["points_balance"],
        "pending_points": attributes["pending_points"],
        "tier": attributes["tier"] or None,
        "next_tier": upcoming.name if upcoming else None,
        "to_next_tier": str(upcoming.threshold - value) if upcoming else None,
        "tier_basis": program.tiers.basis,
        "points_expiring": attributes["points_expiring"],
        "points_expiring_at": attributes["points_expiring_at"],
        "referral_code": customer.referral_code,
    }


@bp.get("/openapi.json")
def openapi():
    return jsonify(spec())


@bp.get("/customers/by-email")
@endpoint("read")
def customer_by_email(session: Session):
    email = (request.args.get("email") or "").strip().lower()
    customer = session.exec(
        scope.rows(Customer, g.account.id).where(Customer.email == email)
    ).first() if email else None
    if customer is None:
        raise ApiError(404, "not_found", "no customer with that e-mail")
    return jsonify(_summary(session, customer))


@bp.get("/customers/by-platform-id")
@endpoint("read")
def customer_by_platform_id(session: Session):
    platform, platform_id = request.args.get("platform"), request.args.get("platform_id")
    customer = session.exec(
        scope.rows(Customer, g.account.id)
        .join(CustomerIdentity, CustomerIdentity.customer_id == Customer.id)
        .join(Connection, Connection.id == CustomerIdentity.connection_id)
        .where(Connection.platform == platform, CustomerIdentity.platform_id == platform_id)
    ).first()
    if customer is None:
        raise ApiError(404, "not_found", "no customer with that platform id")
    return jsonify(_summary(session, customer))


@bp.get("/customers/<int:customer_id>")
@endpoint("read")
def get_customer(session: Session, customer_id: int):
    return jsonify(_summary(session, scope.get(session, Customer, g.account.id, customer_id)))


def _entry(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "id": entry.id, "amount": entry.amount, "kind": entry.kind, "reason": entry.reason,
        "source": entry.source, "actor": entry.actor, "shortfall": entry.shortfall,
        "created_at": entry.created_at.isoformat(), "available_at": entry.available_at.isoformat(),
    }


@bp.get("/customers/<int:customer_id>/ledger")
@endpoint("read")
def get_ledger(session: Session, customer_id: int):
    scope.get(session, Customer, g.account.id, customer_id)
    limit = min(max(request.args.get("limit", 50, type=int), 1), 500)
    before = request.args.get("before", type=int)
    query = scope.rows(LedgerEntry, g.account.id).where(LedgerEntry.customer_id == customer_id)
    if before:
        query = query.where(LedgerEntry.id < before)
    entries = session.exec(query.order_by(LedgerEntry.id.desc()).limit(limit)).all()  # type: ignore[union-attr]
    return jsonify(entries=[_entry(e) for e in entries],
                   next_before=entries[-1].id if len(entries) == limit else None)


def _reward(reward: Reward) -> dict[str, Any]:
    return {"id": reward.id, "name": reward.name, "kind": reward.kind,
            "points_cost": reward.points_cost, "value": str(reward.value),
            "product_id": reward.product_id or None, "min_order": str(reward.min_order),
            "valid_days": reward.valid_days}


@bp.get("/rewards")
@endpoint("read")
def list_rewards(session: Session):
    rewards = session.exec(scope.rows(Reward, g.account.id).where(Reward.active == True)  # noqa: E712
                           .order_by(Reward.points_cost)).all()
    return jsonify(rewards=[_reward(r) for r in rewards])


class RedeemBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reward_id: int
    idempotency_key: str = Field(min_length=1, max_length=200)


def _redemption(redemption: Redemption) -> dict[str, Any]:
    return {"id": redemption.id, "reward_id": redemption.reward_id, "points": redemption.points,
            "status": redemption.status, "code": redemption.code or None,
            "expires_at": redemption.expires_at.isoformat() if redemption.expires_at else None,
            "error": redemption.error or None}


@bp.post("/customers/<int:customer_id>/redemptions")
@endpoint("redeem")
def redeem(session: Session, customer_id: int):
    body = _body(RedeemBody)
    store = session.exec(scope.rows(Connection, g.account.id).where(
        Connection.platform.in_(("shopify", "woocommerce")), Connection.status == "active")).first()  # type: ignore[attr-defined]
    redemption = ledger.redeem(
        session, g.account.id, customer_id, body.reward_id,
        key=f"api:{g.token.id}:{body.idempotency_key}",
        connection_id=store.id if store else None,
    )
    session.commit()
    if store is not None:
        # The code is asked for now so the shopper sees it at once; if the store is slow or
        # down the redemption stays pending and the scheduled fulfilment job retries it.
        try:
            connector = connector_for(store, runtime().box)
        except LookupError:
            connector = None
        if connector is not None:
            redemption = fulfil_redemption(runtime().engine, redemption.id, connector)
    return jsonify(_redemption(redemption)), 201


class AdjustBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: int = Field(ge=-1_000_000, le=1_000_000)
    reason: str = Field(min_length=1, max_length=300)
    idempotency_key: str = Field(min_length=1, max_length=200)

    @field_validator("amount")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("must add or remove points")
        return value


@bp.post("/customers/<int:customer_id>/adjustments")
@endpoint("write")
def adjust(session: Session, customer_id: int):
    body = _body(AdjustBody)
    key = f"api:{g.token.id}:{body.idempotency_key}"
    ledger.adjust(session, g.account.id, customer_id, amount=body.amount, reason=body.reason,
                  actor=f"api:{g.token.name}", key=key)
    flush_rows(session)
    stored = session.exec(scope.rows(LedgerEntry, g.account.id).where(
        LedgerEntry.idempotency_key == key)).one()
    return jsonify(_entry(stored)), 201


@bp.get("/redemptions/<int:redemption_id>")
@endpoint("read")
def get_redemption(session: Session, redemption_id: int):
    return jsonify(_redemption(scope.get(session, Redemption, g.account.id, redemption_id)))
