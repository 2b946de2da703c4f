"""The public app's install: ``/auth/shopify/install`` → Shopify's consent screen → callback.

Checks, in order (shopify.dev authorization-code grant):
1. ``shop`` is a ``*.myshopify.com`` domain (nothing else is ever redirected to);
2. a launch request's ``hmac`` is verified when Shopify sent one;
3. on the callback, ``state`` equals the nonce we put in this browser's signed session (once);
4. the callback's ``hmac`` and ``timestamp`` are valid (``shopify.Session.validate_params``);
5. the code is exchanged for an offline token, which is stored encrypted by ``connect_shop``.

The shop's new connection goes to the account whose admin started the install for that shop
(``ACCOUNT_KEY``, also set only by our admin in the signed session), else to a new account.
Then the merchant is sent on: back to the page that started a reconnect (``RETURN_KEY``, set in
this browser's signed session by our own admin, so never a URL a request supplied), or else to
the app inside the Shopify admin (``/admin/apps/<api key>``), which Shopify opens with a session
token.

``SHOPIFY_ENDPOINT`` in the Flask config points the flow at a fake Shopify (tests, demo).
"""

from __future__ import annotations

import logging
import secrets
import urllib.parse

import shopify
from flask import Blueprint, Flask, current_app, jsonify, redirect, request, session

from connectors.sdk import ApiError, HttpClient
from connectors.shopify.connector import ShopifySettings, valid_shop
from connectors.shopify.install import connect_shop
from integration.app import runtime

log = logging.getLogger(__name__)
bp = Blueprint("shopify_auth", __name__, url_prefix="/auth/shopify")
SESSION_KEY = "shopify_oauth"
RETURN_KEY = "shopify_oauth_return"
ACCOUNT_KEY = "shopify_oauth_account"


def init_app(app: Flask) -> None:
    app.config.setdefault("SHOPIFY_ENDPOINT", "")
    app.register_blueprint(bp)


def _app_session() -> type[shopify.Session]:
    """The SDK's Session carrying this deployment's app key and secret, without touching the
    SDK's process-wide class attributes."""
    app = runtime().settings.shopify
    return type("AppSession", (shopify.Session,), {"api_key": app.api_key,
                                                   "secret": app.api_secret})


def _base_url(shop: str) -> str:
    return current_app.config["SHOPIFY_ENDPOINT"].rstrip("/") or f"https://{shop}"


def _refuse(message: str, status: int = 400):
    log.warning("shopify install refused: %s (%s)", message, request.remote_addr)
    return jsonify({"error": message}), status


def _shop() -> str | None:
    try:
        return valid_shop(request.args.get("shop", ""))
    except ValueError:
        return None


@bp.get("/install")
def install():
    app = runtime().settings.shopify
    if not app.api_key or not app.api_secret:
        return _refuse("the Shopify app is not configured ([shopify] api_key/api_secret)", 503)
    shop = _shop()
    if shop is None:
        return _refuse("shop must be a *.myshopify.com domain")
    if "hmac" in request.args and not _app_session().validate_params(dict(request.args)):
        return _refuse("invalid hmac", 401)
    state = secrets.token_urlsafe(24)
    session[SESSION_KEY] = {"state": state, "shop": shop}
    query = urllib.parse.urlencode({
        "client_id": app.api_key, "scope": app.scopes, "state": state,
        "redirect_uri": runtime().settings.server.public_url.rstrip("/") + bp.url_prefix + "/callback",
    })
    return redirect(f"{_base_url(shop)}/admin/oauth/authorize?{query}")


@bp.get("/callback")
def callback():
    expected = session.pop(SESSION_KEY, None)
    shop = _shop()
    if shop is None:
        return _refuse("shop must be a *.myshopify.com domain")
    if not expected or not secrets.compare_digest(expected["state"], request.args.get("state", "")) \
            or expected["shop"] != shop:
        return _refuse("state does not match this install", 403)
    if not _app_session().validate_params(dict(request.args)):
        return _refuse("invalid hmac or expired timestamp", 401)
    rt = runtime()
    app = rt.settings.shopify
    try:
        token = HttpClient(timeout=15).post(
            f"{_base_url(shop)}/admin/oauth/access_token",
            data={"client_id": app.api_key, "client_secret": app.api_secret,
                  "code": request.args.get("code", "")},
        ).json()["access_token"]
    except (ApiError, KeyError, ValueError) as exc:
        return _refuse(f"the code could not be exchanged for a token: {exc}", 502)
    settings = ShopifySettings(shop=shop, access_token=token, api_secret=app.api_secret,
                               endpoint=current_app.config["SHOPIFY_ENDPOINT"])
    chosen = session.pop(ACCOUNT_KEY, None) or {}
    installed = connect_shop(rt.engine, rt.box, settings, public_url=rt.settings.server.public_url,
                             account_id=chosen.get("account_id") if chosen.get("shop") == shop else None)
    log.info("shopify: %s %s (account %s, connection %s), webhooks %s", shop,
             "installed" if installed.created else "reinstalled", installed.account_id,
             installed.connection_id, ", ".join(installed.webhooks))
    return redirect(session.pop(RETURN_KEY, None) or f"{_base_url(shop)}/admin/apps/{app.api_key}")
