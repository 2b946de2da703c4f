"""Signing in from inside Shopify admin: the embedded app trusts Shopify's session token.

Shopify loads the app URL (``/admin/``) in an iframe with ``id_token`` in the query; App Bridge
adds ``Authorization: Bearer <token>`` to the page's fetches. A valid token for a shop we have a
live connection for signs its staff member in to that connection's account: no password and no
``AdminUser`` row, Shopify vouches for them. The identity is kept in the signed session cookie,
and re-checked on every request (a shop that uninstalled us is signed out at once).

Pages of an embedded session may only be framed by that shop's admin
(``Content-Security-Policy: frame-ancestors``); every other admin page by nobody.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask, Response, render_template, request, session
from sqlmodel import Session, select

from connectors.shopify.session_token import InvalidSessionToken, verify_session_token
from integration.admin.i18n import LOCALES
from integration.app import runtime
from integration.models import Connection, ConnectionStatus

log = logging.getLogger(__name__)

SESSION_KEY = "shopify_staff"
SHOPIFY_ADMIN = "https://admin.shopify.com"


@dataclass(frozen=True)
class ShopifyStaff:
    """A shop's staff member signed in through a session token (``user_id`` is its ``sub``)."""

    account_id: int
    shop: str
    user_id: str
    locale: str = "en"

    @property
    def email(self) -> str:
        """The name the ledger records as the actor of their adjustments."""
        return f"shopify-staff:{self.user_id}@{self.shop}"


def presented_token() -> str | None:
    """The session token of this request: App Bridge's bearer header, else ``id_token``."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip() or None
    return request.args.get("id_token") or None


def _live_shop(db: Session, shop: str) -> Connection | None:
    return db.exec(select(Connection).where(
        Connection.platform == "shopify", Connection.external_id == shop,
        Connection.status != ConnectionStatus.DISABLED,
    )).first()


def sign_in_with_token(db: Session, token: str) -> ShopifyStaff:
    """Verify ``token`` and sign its staff member in; ``InvalidSessionToken`` if refused."""
    app = runtime().settings.shopify
    staff = verify_session_token(token, api_key=app.api_key, api_secret=app.api_secret)
    connection = _live_shop(db, staff.shop)
    if connection is None:
        raise InvalidSessionToken(f"{staff.shop} is not a connected shop")
    session.clear()
    session[SESSION_KEY] = {"shop": staff.shop, "user_id": staff.user_id,
                            "account_id": connection.account_id}
    language = request.args.get("locale", "")[:2]  # Shopify adds the admin's locale, "tr-TR"
    if language in LOCALES:
        session["lang"] = language
    return ShopifyStaff(connection.account_id, staff.shop, staff.user_id)


def signed_in_staff(db: Session) -> ShopifyStaff | None:
    """The staff member of this session, if their shop is still connected to the same account."""
    data = session.get(SESSION_KEY)
    if data is None:
        return None
    connection = _live_shop(db, data["shop"])
    if connection is None or connection.account_id != data["account_id"]:
        session.clear()
        return None
    return ShopifyStaff(data["account_id"], data["shop"], data["user_id"])


def refuse(exc: InvalidSessionToken) -> Response:
    """401 with the reason; a fetch by App Bridge is told to retry with a fresh token (the
    header Shopify's own app libraries send), a page load is not."""
    log.warning("shopify session token refused: %s (%s %s from %s)", exc, request.method,
                request.path, request.remote_addr)
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    if request.headers.get("Authorization", "").startswith("Bearer "):
        headers["X-Shopify-Retry-Invalid-Session-Request"] = "1"
    return Response(f"Shopify session token refused: {exc}\n", 401, headers,
                    mimetype="text/plain")


def frame_ancestors(response: Response) -> Response:
    """Let only the signed-in shop's admin frame an embedded session; nobody else frames us
    (``session_ended`` sets its own policy)."""
    if "Content-Security-Policy" not in response.headers:
        data = session.get(SESSION_KEY)
        ancestors = f"https://{data['shop']} {SHOPIFY_ADMIN}" if data else "'none'"
        response.headers["Content-Security-Policy"] = f"frame-ancestors {ancestors}"
    return response


def framed() -> bool:
    """The browser is loading this page inside a frame (Shopify admin's, for the embedded app)."""
    return request.headers.get("Sec-Fetch-Dest") == "iframe"


def session_ended() -> Response:
    """A page inside Shopify admin whose session cookie is gone (expired, or the browser dropped
    it): the sign-in page may not be framed and would show as a blocked frame, so say what to do
    instead. Opening the app again from Shopify admin brings a fresh session token. The page
    holds no form or action, so letting Shopify's admin frame it risks nothing."""
    response = Response(render_template("admin/session_ended.html"), 401)
    response.headers["Content-Security-Policy"] = (
        f"frame-ancestors {SHOPIFY_ADMIN} https://*.myshopify.com")
    return response


def configure_cookies(app: Flask) -> None:
    """Cookies a browser keeps inside Shopify admin's iframe: a third-party context needs
    ``SameSite=None``, which browsers accept only with ``Secure`` (and ``Partitioned`` keeps
    them working where third-party cookies are blocked). Over plain http (a laptop, the demo,
    the tests) a ``Secure`` cookie would never come back, so the browser default (Lax) stays:
    Shopify only embeds https apps anyway."""
    if app.extensions["sadakat"].settings.server.public_url.startswith("https://"):
        app.config.update(SESSION_COOKIE_SAMESITE="None", SESSION_COOKIE_SECURE=True,
                          SESSION_COOKIE_PARTITIONED=True)

