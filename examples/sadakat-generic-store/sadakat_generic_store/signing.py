"""Standard Webhooks signatures (https://www.standardwebhooks.com/), standard library only.

A delivery carries three headers: ``webhook-id`` (unique per message, the same on retries),
``webhook-timestamp`` (integer Unix seconds) and ``webhook-signature`` (space-separated
``v1,<base64>`` entries). Each signature is the base64 HMAC-SHA256, keyed with the secret's
bytes (``whsec_`` prefix dropped, the rest base64-decoded), of ``{id}.{timestamp}.{raw body}``.
A receiver refuses a timestamp more than five minutes from its clock, which stops replays.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as random_secrets
import time
from collections.abc import Mapping, Sequence

PREFIX = "whsec_"
TOLERANCE_SECONDS = 5 * 60


def new_secret() -> str:
    """A fresh ``whsec_`` secret of 24 random bytes, as the store shows it to the merchant."""
    return PREFIX + base64.b64encode(random_secrets.token_bytes(24)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret; ``ValueError`` if it is not one."""
    if not secret.startswith(PREFIX):
        raise ValueError("a Standard Webhooks secret starts with 'whsec_'")
    try:
        key = base64.b64decode(secret[len(PREFIX):], validate=True)
    except ValueError:
        raise ValueError("the part after 'whsec_' is not base64") from None
    if len(key) < 16:
        raise ValueError("the secret is shorter than 16 bytes")
    return key


def signature(secret: str, msg_id: str, timestamp: int | str, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sign(secret: str, msg_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The three headers a sender adds to a delivery."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": signature(secret, msg_id, ts, body),
    }


def verify(
    headers: Mapping[str, str], body: bytes, secrets: Sequence[str], now: float | None = None
) -> bool:
    """True if the timestamp is fresh and any ``v1`` signature matches any of ``secrets``."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, ts, sent = (lower.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and ts and sent):
        return False
    try:
        stamp = int(ts)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - stamp) > TOLERANCE_SECONDS:
        return False
    offered = [part.split(",", 1)[1] for part in sent.split() if part.startswith("v1,")]
    for secret in secrets:
        try:
            expected = signature(secret, msg_id, ts, body).split(",", 1)[1]
        except ValueError:
            continue
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return True
    return False
