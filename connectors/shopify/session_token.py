"""Shopify admin session tokens: the JWT that proves a request comes from a shop's staff member
inside the embedded app (shopify.dev, "About session tokens", anatomy of a session token).

Shopify signs it HS256 with the app's client secret; it lives one minute. Embedded pages receive
it as ``id_token`` on the initial load URL, and App Bridge sends it as ``Authorization: Bearer``
on fetches. What is checked, and why each check:

- the signature (HS256 only, so a token cannot choose ``none`` or another algorithm);
- ``exp`` and ``nbf``, with ``LEEWAY_SECONDS`` of clock skew (App Bridge often mints tokens whose
  ``nbf`` is a second in our future, as Shopify's own libraries note);
- ``aud`` is our app's client id: a token minted for another app on the same shop is refused;
- ``dest`` is ``https://<shop>.myshopify.com`` and ``iss`` is exactly ``dest + "/admin"``;
- ``sub`` (the staff user id) is present.

``ShopifyAPI``'s ``shopify.session_token`` does most of this too, but it only compares the
hosts of ``iss`` and ``dest``, needs the ``Bearer`` prefix (an ``id_token`` has none) and turns
every failure into one exception type; this module keeps the reason of each refusal for the
401 and the log line. Whether the shop is one we know is the caller's check: it needs the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

from connectors.shopify.connector import valid_shop

ALGORITHM = "HS256"
LEEWAY_SECONDS = 10  # the figure Shopify's Python, Ruby and Node libraries all use
REQUIRED_CLAIMS = ("exp", "nbf", "iss", "dest", "aud", "sub")


class InvalidSessionToken(Exception):
    """The token is forged, expired, for another app or malformed; the message says which."""


@dataclass(frozen=True)
class StaffSession:
    """Who the token speaks for: a staff member (``user_id``, Shopify's ``sub``) of ``shop``."""

    shop: str
    user_id: str
    expires_at: datetime


def verify_session_token(token: str, *, api_key: str, api_secret: str) -> StaffSession:
    """Check ``token`` as described above; raise ``InvalidSessionToken`` with the reason."""
    if not api_key or not api_secret:
        raise InvalidSessionToken("the Shopify app is not configured ([shopify] api_key/api_secret)")
    try:
        claims = jwt.decode(token, api_secret, algorithms=[ALGORITHM], audience=api_key,
                            leeway=LEEWAY_SECONDS, options={"require": list(REQUIRED_CLAIMS)})
    except jwt.ExpiredSignatureError:
        raise InvalidSessionToken("the session token has expired") from None
    except jwt.ImmatureSignatureError:
        raise InvalidSessionToken("the session token is not valid yet (nbf)") from None
    except jwt.InvalidAudienceError:
        raise InvalidSessionToken("the session token is for another app (aud)") from None
    except jwt.InvalidSignatureError:
        raise InvalidSessionToken("the session token's signature does not match") from None
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidSessionToken(f"the session token has no {exc.claim} claim") from None
    except jwt.PyJWTError as exc:
        raise InvalidSessionToken(f"not a valid session token: {exc}") from None
    return StaffSession(shop=_shop_of(claims), user_id=str(claims["sub"]),
                        expires_at=datetime.fromtimestamp(claims["exp"], UTC))


def _shop_of(claims: dict[str, Any]) -> str:
    """The shop domain from ``dest``, after checking ``iss`` is that shop's admin."""
    dest, iss = str(claims["dest"]), str(claims["iss"])
    if not dest.startswith("https://"):
        raise InvalidSessionToken("the session token's dest is not an https shop URL")
    try:
        shop = valid_shop(dest.removeprefix("https://"))
    except ValueError:
        raise InvalidSessionToken("the session token's dest is not a *.myshopify.com shop") from None
    if iss != f"https://{shop}/admin":
        raise InvalidSessionToken("the session token's iss is not the admin of its dest shop")
    return shop
