"""Shopify App Proxy: a theme asks ``/apps/<prefix>/points`` on the shop's domain; Shopify
forwards it here with a signature, and the logged-in shopper sees their points.

Signature (shopify.dev, "Authenticate app proxies"): drop ``signature``, render each remaining
parameter as ``key=value`` (several values joined with ``,``), sort, concatenate with no
separator, HMAC-SHA256 with the app's secret, hex. A bad or missing signature is a 401.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time

from flask import Blueprint, abort, jsonify, request
from sqlmodel import select

from integration.app import runtime
from integration.db import write_session
from integration.identity import find_by_platform_id
from integration.models import Account, Connection

log = logging.getLogger(__name__)
bp = Blueprint("storefront", __name__, url_prefix="/proxy/shopify")
MAX_AGE_SECONDS = 300


def proxy_signature(params: dict[str, list[str]], secret: str) -> str:
    message = "".join(sorted(f"{key}={','.join(values)}" for key, values in params.items()
                             if key != "signature"))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def _secrets(connection: Connection) -> list[str]:
    credentials = runtime().box.open(connection.credentials)
    found = [credentials.get("api_secret"), runtime().settings.shopify.api_secret]
    return [s for s in found if s]


@bp.get("/points")
def points():
    params = request.args.to_dict(flat=False)
    shop = request.args.get("shop", "")
    presented = request.args.get("signature", "")
    with write_session(runtime().engine) as session:
        connection = session.exec(select(Connection).where(
            Connection.platform == "shopify", Connection.external_id == shop)).first()
        if connection is None or not presented or not any(
            hmac.compare_digest(proxy_signature(params, secret), presented)
            for secret in _secrets(connection)
        ):
            log.warning("app proxy request refused for shop %r: bad signature", shop)
            abort(401)
        if abs(time.time() - request.args.get("timestamp", 0, type=int)) > MAX_AGE_SECONDS:
            abort(401)
        customer_id = request.args.get("logged_in_customer_id", "")
        if not customer_id:
            return jsonify(logged_in=False)
        customer = find_by_platform_id(session, connection.id, customer_id)
        if customer is None:
            return jsonify(logged_in=True, member=False)
        from integration.api.views import summary_for

        account = session.get(Account, connection.account_id)
        return jsonify(logged_in=True, member=True, **summary_for(session, account, customer))
