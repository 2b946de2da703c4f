"""Which handler reads a platform's webhooks, and which connection (with which secrets) a delivery
belongs to. Defined once here; the receiver and the inbox worker both use it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.engine import Connection as DbConnection
from sqlmodel import select

from connectors.sdk.base import WebhookHandler
from connectors.sdk.registry import connector_class
from integration.crypto import SecretBox
from integration.models import Connection
from integration.settings import Settings

_registered: dict[str, WebhookHandler] = {}

# Credential keys that may hold a webhook signing secret, current first. Shopify signs with the
# app's API secret; WooCommerce, Klaviyo and Mailchimp (URL secret) with a per-webhook secret.
SECRET_KEYS = ("webhook_secret", "api_secret")


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
    platform: str, credentials: Mapping[str, object], settings: Settings
) -> tuple[str, ...]:
    found = [str(credentials[key]) for key in SECRET_KEYS if credentials.get(key)]
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
    query = select(Connection.id, Connection.account_id, Connection.credentials).where(
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
    secrets = webhook_secrets(platform, box.open(row.credentials), settings)
    return Target(row.id, row.account_id, secrets)
