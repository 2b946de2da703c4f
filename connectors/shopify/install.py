"""Connecting a shop: store its credentials and subscribe to its webhooks.

Both ways in end here: the public app's OAuth callback (``oauth``) and the custom-app command
(``sadakat shopify connect``). A shop connected again (re-install, rotated token) updates its
existing connection instead of creating a second one, and gets its ``Account`` only the first time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import select

from connectors.sdk import RetryPolicy
from connectors.shopify.connector import ShopifyConnector, ShopifySettings
from integration.accounts import add_connection, create_account
from integration.crypto import SecretBox
from integration.db import write_session
from integration.models import Account, Connection, ConnectionStatus
from webhooks.routing import delivery_url

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Installed:
    account_id: int
    connection_id: int
    created: bool
    webhooks: tuple[str, ...]


def connect_shop(
    engine: Engine, box: SecretBox, settings: ShopifySettings, *, public_url: str,
    account_id: int | None = None, policy: RetryPolicy | None = None,
) -> Installed:
    """Check the token against the shop, save the connection, register the webhooks."""
    connector = ShopifyConnector(settings, policy=policy)
    shop = connector.shop()  # fails with AuthError before anything is stored
    plain, secrets = settings.split()
    with write_session(engine) as session:
        connection = session.exec(
            select(Connection).where(Connection.platform == ShopifyConnector.name,
                                     Connection.external_id == settings.shop)
        ).first()
        created = connection is None
        if connection is None:
            account = session.get(Account, account_id) if account_id else create_account(
                session, shop["name"], currency=shop["currencyCode"])
            if account is None:
                raise LookupError(f"no account {account_id}")
            connection = add_connection(session, box, account, platform=ShopifyConnector.name,
                                        external_id=settings.shop, credentials=secrets,
                                        settings=plain, name=shop["name"])
        else:
            connection.credentials = box.seal(secrets)
            connection.settings = plain
            connection.status = ConnectionStatus.ACTIVE
            connection.status_message = ""
            session.add(connection)
        session.flush()
        ids = (connection.account_id, connection.id)
    topics = connector.register_webhooks(delivery_url(public_url, ShopifyConnector.name, ids[1]))
    log.info("shop %s connected (connection %s); webhooks: %s", settings.shop, ids[1], topics)
    return Installed(ids[0], ids[1], created, tuple(topics))
