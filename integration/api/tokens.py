"""API tokens: ``sdk_<id>_<secret>``; the id finds the row, the secret is checked against its hash
in constant time, so a database leak does not leak usable tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlmodel import Session

from integration.db import utcnow
from integration.errors import RuleError
from integration.models import ApiToken

SCOPES = frozenset({"read", "write", "redeem"})
PREFIX = "sdk_"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(session: Session, account_id: int, name: str, scopes: set[str]) -> str:
    """Create a token and return it; it cannot be shown again."""
    unknown = scopes - SCOPES
    if unknown or not scopes:
        raise RuleError(f"scopes must be a non-empty subset of {sorted(SCOPES)}, got {sorted(scopes)}")
    secret = secrets.token_urlsafe(24)
    token = ApiToken(account_id=account_id, name=name, secret_hash=_hash(secret),
                     scopes=",".join(sorted(scopes)))
    session.add(token)
    session.flush()
    return f"{PREFIX}{token.id}_{secret}"


def authenticate(session: Session, presented: str) -> ApiToken | None:
    if not presented.startswith(PREFIX):
        return None
    token_id, _, secret = presented[len(PREFIX):].partition("_")
    if not token_id.isdigit() or not secret:
        return None
    token = session.get(ApiToken, int(token_id))
    if token is None or token.revoked_at is not None:
        return None
    if not hmac.compare_digest(token.secret_hash, _hash(secret)):
        return None
    token.last_used_at = utcnow()
    session.add(token)
    return token


def has_scope(token: ApiToken, scope: str) -> bool:
    return scope in token.scopes.split(",")
