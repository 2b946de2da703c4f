"""The webhook endpoints: verify, insert into the inbox, answer. Nothing else happens here.

Platforms give a receiver little time (Shopify: 5 s) and punish failures (Shopify deletes the
subscription, WooCommerce disables the webhook), so the request does the least that makes the
event durable. A request that cannot be authenticated is answered 401, logged and not stored.

Answers: 200 stored or duplicate; 401 forged, unsigned, stale or unknown connection; 404 no
handler for the platform; 413 too big (``[server] max_webhook_bytes``); 415 wrong content type.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, request
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import Insert
from werkzeug.datastructures import Headers
from werkzeug.exceptions import RequestEntityTooLarge

from connectors.sdk.base import REQUEST_PATH_HEADER, WebhookHandler, WebhookRejected
from integration.app import runtime
from integration.db import utcnow
from webhooks import metrics
from webhooks.models import InboxDelivery, InboxStatus
from webhooks.routing import Target, handler_for, lookup_target
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
    return _receive("mailchimp", FORM, connection_id=connection_id)  # handler checks the secret


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
) -> tuple[dict[str, str], int]:
    if request.mimetype != content_type:
        raise Refused(415, "content_type", f"{request.mimetype!r}, expected {content_type}")
    body = request.get_data(cache=False)  # over [server] max_webhook_bytes: 413 from Flask
    headers = Headers(request.headers)  # case-insensitive, like HTTP
    headers.set(REQUEST_PATH_HEADER, request.path)  # ours alone, whatever the client sent
    try:
        handler = handler_for(platform)
    except LookupError as exc:
        raise Refused(404, "no_handler", str(exc)) from None
    try:
        delivery = handler.identify(headers, body)
    except WebhookRejected as exc:
        raise Refused(401, "unidentified", str(exc)) from None
    rt = runtime()

    def target(fresh: bool) -> Target:
        found = lookup_target(
            rt.engine, rt.box, rt.settings, platform,
            connection_id=connection_id, external_id=delivery.external_id, fresh=fresh,
        )
        if found is None:
            raise Refused(401, "unknown_connection", str(connection_id or delivery.external_id))
        return found

    try:
        found = target(fresh=False)
        _authenticate(handler, found, headers, body)
    except Refused as exc:
        if exc.reason != "bad_signature":
            raise
        found = target(fresh=True)  # the secret may have been rotated since it was cached
        _authenticate(handler, found, headers, body)
    stored = _store(platform, found, delivery.topic, delivery.delivery_id, headers, body)
    metrics.RECEIVED.labels(platform, "stored" if stored else "duplicate").inc()
    return {"status": "stored" if stored else "duplicate"}, 200


def _authenticate(
    handler: WebhookHandler, target: Target, headers: Mapping[str, str], body: bytes
) -> None:
    if not target.secrets:
        raise Refused(401, "no_secret", f"connection {target.connection_id} has no webhook secret")
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
    engine = runtime().receiver_engine
    insert = _insert_statement(engine.dialect.name)
    if engine.dialect.name == "sqlite":
        with write_turn(engine), engine.execution_options(sqlite_begin="IMMEDIATE").begin() as db:
            return db.execute(insert, row).first() is not None
    try:
        return _insert_autocommit(engine, insert, row)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        # The server dropped this pooled connection (a restart, a failover): SQLAlchemy has now
        # invalidated the whole pool, so the second try runs on a fresh connection.
        log.info("webhook insert: database connection was lost; retrying on a new one")
        return _insert_autocommit(engine, insert, row)


def _insert_autocommit(engine: Engine, insert: Insert, row: dict[str, Any]) -> bool:
    # One statement is its own transaction: no BEGIN/COMMIT round trips on the hot path.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
        return db.execute(insert, row).first() is not None


@functools.cache
def _insert_statement(dialect_name: str) -> Insert:
    """Built once: a statement given its values per call is compiled once and then only bound,
    where ``.values(row)`` would rebuild and re-key the statement on every request."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    table = InboxDelivery.__table__
    return (
        dialect.insert(table)
        .on_conflict_do_nothing(index_elements=["connection_id", "delivery_id"])
        .returning(table.c.id)
    )
