"""The webhook endpoints: verify, insert into the inbox, answer. Nothing else happens here.

Platforms give a receiver little time (Shopify: 5 s) and punish failures (Shopify deletes the
subscription, WooCommerce disables the webhook), so the request does the least that makes the
event durable. A request that cannot be authenticated is answered 401, logged and not stored.

Answers: 200 stored or duplicate; 401 forged, unsigned, stale or unknown connection; 404 no
handler for the platform; 413 too big (``[server] max_webhook_bytes``); 415 wrong content type.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping

from flask import Blueprint, Response, request
from sqlalchemy.dialects import postgresql, sqlite
from werkzeug.exceptions import RequestEntityTooLarge

from connectors.sdk.base import WebhookRejected
from integration.app import runtime
from integration.db import utcnow
from webhooks import metrics
from webhooks.models import InboxDelivery, InboxStatus
from webhooks.routing import Target, find_target, handler_for
from webhooks.turns import write_turn

log = logging.getLogger(__name__)
blueprint = Blueprint("webhooks", __name__, url_prefix="/webhooks")

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
# Headers kept with the row: the platform's own (topic, ids, signature for a later audit) and
# what says how to read the body.
KEPT_HEADER_PREFIXES = ("x-shopify-", "x-wc-webhook-", "klaviyo-")
KEPT_HEADERS = ("content-type", "user-agent")


class Refused(Exception):
    def __init__(self, status: int, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.status, self.reason, self.detail = status, reason, detail


@blueprint.errorhandler(Refused)
def _refused(exc: Refused) -> tuple[dict[str, str], int]:
    platform = request.path.split("/")[2] if request.path.count("/") >= 2 else "?"
    metrics.REJECTED.labels(platform, exc.reason).inc()
    log.warning(
        "webhook refused: %s %s from %s: %s %s",
        request.method, request.path, request.remote_addr, exc.reason, exc.detail,
    )
    return {"error": exc.reason}, exc.status


@blueprint.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge) -> tuple[dict[str, str], int]:
    return _refused(Refused(413, "too_large", f"over {request.max_content_length} bytes"))


@blueprint.post("/shopify")
def shopify() -> tuple[dict[str, str], int]:
    return _receive("shopify", JSON, connection_id=None)


@blueprint.post("/woocommerce/<int:connection_id>")
def woocommerce(connection_id: int) -> tuple[dict[str, str], int]:
    if _is_woocommerce_ping():
        return {"status": "pong"}, 200
    return _receive("woocommerce", JSON, connection_id=connection_id)


@blueprint.post("/klaviyo/<int:connection_id>")
def klaviyo(connection_id: int) -> tuple[dict[str, str], int]:
    return _receive("klaviyo", JSON, connection_id=connection_id)


@blueprint.route("/mailchimp/<int:connection_id>/<secret>", methods=["GET", "POST"])
def mailchimp(connection_id: int, secret: str) -> tuple[dict[str, str], int] | Response:
    if request.method == "GET":  # Mailchimp checks the URL answers before it saves the webhook
        return {"status": "ok"}, 200
    return _receive("mailchimp", FORM, connection_id=connection_id, url_secret=secret)


def _is_woocommerce_ping() -> bool:
    """WooCommerce posts ``webhook_id=<id>`` (form-encoded, unsigned) when a webhook is saved;
    answering anything but 2xx would count as a failed delivery."""
    if request.mimetype != FORM or request.content_length is None or request.content_length > 64:
        return False
    body = request.get_data(cache=True)
    key, _, value = body.partition(b"=")
    return key == b"webhook_id" and value.isdigit()


def _receive(
    platform: str,
    content_type: str,
    *,
    connection_id: int | None,
    url_secret: str | None = None,
) -> tuple[dict[str, str], int]:
    if request.mimetype != content_type:
        raise Refused(415, "content_type", f"{request.mimetype!r}, expected {content_type}")
    body = request.get_data(cache=False)  # over [server] max_webhook_bytes: 413 from Flask
    headers = request.headers
    try:
        handler = handler_for(platform)
    except LookupError as exc:
        raise Refused(404, "no_handler", str(exc)) from None
    try:
        delivery = handler.identify(headers, body)
    except WebhookRejected as exc:
        raise Refused(401, "unidentified", str(exc)) from None
    rt = runtime()
    with rt.engine.connect() as db:
        target = find_target(
            db, rt.box, rt.settings, platform,
            connection_id=connection_id, external_id=delivery.external_id,
        )
    if target is None:
        raise Refused(401, "unknown_connection", str(connection_id or delivery.external_id))
    _authenticate(handler, target, headers, body, url_secret)
    stored = _store(platform, target, delivery.topic, delivery.delivery_id, headers, body)
    metrics.RECEIVED.labels(platform, "stored" if stored else "duplicate").inc()
    return {"status": "stored" if stored else "duplicate"}, 200


def _authenticate(
    handler, target: Target, headers: Mapping[str, str], body: bytes, url_secret: str | None
) -> None:
    if not target.secrets:
        raise Refused(401, "no_secret", f"connection {target.connection_id} has no webhook secret")
    if url_secret is not None:  # Mailchimp signs nothing: the URL carries the secret
        if not any(hmac.compare_digest(url_secret.encode(), s.encode()) for s in target.secrets):
            raise Refused(401, "bad_signature", "URL secret does not match")
        return
    try:
        valid = handler.verify(headers, body, list(target.secrets))
    except WebhookRejected as exc:
        raise Refused(401, "rejected", str(exc)) from None
    if not valid:
        raise Refused(401, "bad_signature", f"connection {target.connection_id}")


def _store(
    platform: str,
    target: Target,
    topic: str,
    delivery_id: str,
    headers: Mapping[str, str],
    body: bytes,
) -> bool:
    """Insert the row unless this connection already has that delivery id; True if inserted."""
    now = utcnow()
    row = {
        "account_id": target.account_id,
        "connection_id": target.connection_id,
        "platform": platform,
        "topic": topic[:120],
        "delivery_id": delivery_id[:255],
        "headers": {
            k.lower(): v for k, v in headers.items()
            if k.lower().startswith(KEPT_HEADER_PREFIXES) or k.lower() in KEPT_HEADERS
        },
        "body": body,
        "status": InboxStatus.RECEIVED.value,
        "attempts": 0,
        "next_attempt_at": now,
        "error": "",
        "note": "",
        "received_at": now,
    }
    engine = runtime().engine
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    insert = (
        dialect.insert(InboxDelivery.__table__)
        .values(row)
        .on_conflict_do_nothing(index_elements=["connection_id", "delivery_id"])
        .returning(InboxDelivery.__table__.c.id)
    )
    with write_turn(engine):
        if engine.dialect.name == "sqlite":
            engine = engine.execution_options(sqlite_begin="IMMEDIATE")
        with engine.begin() as db:
            return db.execute(insert).first() is not None
