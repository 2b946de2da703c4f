"""WooCommerce's app-authorization flow (``/wc-auth/v1/authorize``) as a Flask blueprint.

1. ``begin_authorization`` records a pending request with a random nonce and returns the site's
   authorize URL (``app_name``, ``scope=read_write``, ``user_id=<nonce>``, ``return_url``,
   ``callback_url``). The admin page (or ``sadakat woocommerce authorize``) sends the merchant
   there; starting a request is an admin action, which is why it is a function and not a route.
2. The merchant approves; the site POSTs ``consumer_key``/``consumer_secret``/``key_permissions``/
   ``user_id`` as JSON to ``/woocommerce/auth/callback``. Keys are accepted only for a pending,
   unexpired, unused nonce and ``read_write`` permission, then stored encrypted on the
   connection.
3. The merchant's browser comes back to ``/woocommerce/auth/return``, where the webhooks are
   registered (not in the callback: the site is still waiting on that request).
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from urllib.parse import urlencode

from flask import Blueprint, Flask, current_app, request
from pydantic import ValidationError
from sqlmodel import Session, select

from connectors.sdk import ApiError
from connectors.woocommerce.connector import INSECURE_HTTP, WooCommerceSettings, normalize_site
from connectors.woocommerce.models import WooAuthRequest
from connectors.woocommerce.setup import SiteTaken, save_connection
from integration.connections import register_webhooks
from integration.db import read_session, utcnow, write_session
from integration.models import Account
from integration.runtime import Runtime

log = logging.getLogger(__name__)
blueprint = Blueprint("woocommerce", __name__, url_prefix="/woocommerce")
REQUEST_TTL = timedelta(hours=1)
RETURN_PATH = "/woocommerce/auth/return"
APP_NAME = "Sadakat"


def runtime() -> Runtime:
    return current_app.extensions["sadakat"]


def begin_authorization(session: Session, *, account_id: int, site_url: str, public_url: str,
                        allow_insecure_http: bool = False, return_path: str = RETURN_PATH) -> str:
    """Record a pending request and return the URL to send the merchant to. ``return_path`` is
    where the site sends the browser back (the admin brings the merchant back to its pages)."""
    site = normalize_site(site_url)
    if site.startswith("http://") and not allow_insecure_http:
        raise ValueError(INSECURE_HTTP.format(url=site))
    nonce = secrets.token_urlsafe(24)
    session.add(WooAuthRequest(account_id=account_id, nonce=nonce, site_url=site,
                               allow_insecure_http=allow_insecure_http))
    public = public_url.rstrip("/")
    query = urlencode({
        "app_name": APP_NAME, "scope": "read_write", "user_id": nonce,
        "return_url": f"{public}{return_path}",
        "callback_url": f"{public}/woocommerce/auth/callback",
    })
    return f"{site}/wc-auth/v1/authorize?{query}"


def _pending(session: Session, nonce: str) -> WooAuthRequest | None:
    return session.exec(
        select(WooAuthRequest).where(WooAuthRequest.nonce == nonce).with_for_update()
    ).first()


@blueprint.post("/auth/callback")
def callback():
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not data.get("user_id"):
        return {"error": "expected the JSON key hand-over of /wc-auth/v1/authorize"}, 400
    rt = runtime()
    with write_session(rt.engine) as session:
        pending = _pending(session, str(data["user_id"]))
        if (pending is None or pending.completed_at is not None
                or utcnow() - pending.created_at > REQUEST_TTL):
            log.warning("WooCommerce key hand-over for an unknown, used or expired request refused")
            return {"error": "unknown, used or expired authorization request"}, 403
        if data.get("key_permissions") != "read_write":
            return {"error": "Sadakat needs read_write keys"}, 400
        try:
            settings = WooCommerceSettings(
                url=pending.site_url, consumer_key=str(data.get("consumer_key") or ""),
                consumer_secret=str(data.get("consumer_secret") or ""),
                allow_insecure_http=pending.allow_insecure_http,
            )
            connection = save_connection(session, rt.box, session.get(Account, pending.account_id),
                                         settings)
        except (ValidationError, SiteTaken) as exc:
            return {"error": str(exc)}, 400
        pending.completed_at = utcnow()
        pending.connection_id = connection.id
        session.add(pending)
    log.info("WooCommerce site %s connected (connection %s)", pending.site_url, connection.id)
    return {"status": "connected"}


class NotAuthorized(Exception):
    """The merchant declined, or no keys arrived for the request; nothing was connected."""


def finish_authorization(rt: Runtime, nonce: str, success: bool,
                         account_id: int | None = None) -> tuple[str, list[str]]:
    """The browser is back from the site: register the webhooks of the connection its keys made.

    Returns the site and the topics registered; raises ``NotAuthorized`` when nothing was
    connected (or, given ``account_id``, the request was another account's), ``ApiError`` when
    the site refused the webhooks (the connection stays).
    """
    if not success:
        raise NotAuthorized("The store did not grant access; nothing was connected.")
    with read_session(rt.engine) as session:
        pending = session.exec(select(WooAuthRequest).where(WooAuthRequest.nonce == nonce)).first()
    if pending is None or pending.connection_id is None or (
        account_id is not None and pending.account_id != account_id
    ):
        raise NotAuthorized("No keys were received from the store for this request; please try again.")
    topics = register_webhooks(rt.engine, rt.box, pending.connection_id, rt.settings.server.public_url)
    return pending.site_url, topics


@blueprint.get("/auth/return")
def back():
    try:
        site, topics = finish_authorization(runtime(), request.args.get("user_id", ""),
                                            request.args.get("success") == "1")
    except NotAuthorized as exc:
        return str(exc), 400 if request.args.get("success") == "1" else 200
    except ApiError as exc:
        return ("Connected, but the site's webhooks could not be registered: "
                f"{exc}. Retry with `sadakat woocommerce webhooks`."), 502
    return f"Connected {site}; webhooks registered: {', '.join(topics)}.", 200


def init_app(app: Flask) -> None:
    app.register_blueprint(blueprint)
