"""Which handler reads a platform's webhooks, and which connection (with which secrets) a delivery
belongs to. Defined once here; the receiver and the inbox worker both use it."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection as DbConnection
from sqlalchemy.engine import Engine
from sqlmodel import select

from connectors.sdk.base import WebhookHandler
from connectors.sdk.registry import connector_class
from integration.crypto import SecretBox
from integration.models import Connection
from integration.settings import Settings

_registered: dict[str, WebhookHandler] = {}

# Credential keys that may hold a webhook signing secret when the connector cannot say (not
# installed, or its credentials erased after an uninstall). Shopify signs with the app's API
# secret; WooCommerce, Klaviyo and Mailchimp (URL secret) with a per-webhook secret.
SECRET_KEYS = ("webhook_secret", "api_secret")


def delivery_url(public_url: str, platform: str, connection_id: int) -> str:
    """Where the receiver takes a connection's webhooks: what ``Connector.register_webhooks``
    is given. Shopify's deliveries name their shop in a header, so every shop shares one URL
    (as a public app's configuration has it); the other platforms' carry the connection id."""
    base = f"{public_url.rstrip('/')}/webhooks/{platform}"
    return base if platform == "shopify" else f"{base}/{connection_id}"


def register_handler(handler: WebhookHandler) -> None:
    """Make ``handler`` read its platform's webhooks when no installed connector declares one
    (a connector under development, or a test)."""
    _registered[handler.platform] = handler


def handler_for(platform: str) -> WebhookHandler:
    """The installed connector's handler first (entry point ``sadakat.connectors``), then one
    registered with ``register_handler``."""
    try:
        handler = connector_class(platform).webhooks
    except LookupError:
        handler = None
    handler = handler or _registered.get(platform)
    if handler is None:
        raise LookupError(f"no webhook handler for platform {platform!r}")
    return handler


@dataclass(frozen=True)
class Target:
    """The connection a delivery is for, with what the receiver needs and nothing else."""

    connection_id: int
    account_id: int
    secrets: tuple[str, ...]


def webhook_secrets(
    platform: str,
    plain: Mapping[str, Any],
    credentials: Mapping[str, Any],
    settings: Settings,
) -> tuple[str, ...]:
    """The connector's own answer (``Connector.webhook_secrets``) first, then the usual
    credential keys, then, for Shopify, the public app's secret from the settings."""
    found: list[str] = []
    try:
        connector = connector_class(platform).from_stored(plain, credentials)
        found += connector.webhook_secrets()
    except Exception:  # not installed, or settings no longer valid (credentials erased)
        pass
    found += [str(credentials[key]) for key in SECRET_KEYS if credentials.get(key)]
    if platform == "shopify" and settings.shopify.api_secret:
        found.append(settings.shopify.api_secret)  # public app: one secret for every shop
    return tuple(dict.fromkeys(found))


def find_target(
    db: DbConnection,
    box: SecretBox,
    settings: Settings,
    platform: str,
    *,
    connection_id: int | None = None,
    external_id: str | None = None,
) -> Target | None:
    """The connection named by id (URL) or by the platform's name for it (Shopify's shop
    domain); ``None`` if there is no such connection of that platform."""
    query = select(
        Connection.id, Connection.account_id, Connection.settings, Connection.credentials
    ).where(
        Connection.platform == platform
    )
    if connection_id is not None:
        query = query.where(Connection.id == connection_id)
    elif external_id:
        query = query.where(Connection.external_id == external_id)
    else:
        return None
    row = db.execute(query).first()
    if row is None:
        return None
    secrets = webhook_secrets(platform, row.settings or {}, box.open(row.credentials), settings)
    return Target(row.id, row.account_id, secrets)


TARGET_TTL_SECONDS = 30.0
_targets: dict[tuple[str, str, int | None, str | None], tuple[float, Target]] = {}


def lookup_target(
    engine: Engine,
    box: SecretBox,
    settings: Settings,
    platform: str,
    *,
    connection_id: int | None = None,
    external_id: str | None = None,
    fresh: bool = False,
) -> Target | None:
    """``find_target`` behind a short per-process cache, so a delivery costs the receiver one
    database statement (the insert), not a lookup and a decryption too. Only found connections
    are cached; ``fresh`` skips the cache (the receiver asks again after a signature mismatch, so
    a just-rotated secret works at once)."""
    key = (engine.url.render_as_string(), platform, connection_id, external_id)
    hit = _targets.get(key)
    if hit is not None and not fresh and hit[0] > time.monotonic():
        return hit[1]
    with engine.connect() as db:
        target = find_target(
            db, box, settings, platform, connection_id=connection_id, external_id=external_id
        )
    if target is None:
        _targets.pop(key, None)
    else:
        _targets[key] = (time.monotonic() + TARGET_TTL_SECONDS, target)
    return target
