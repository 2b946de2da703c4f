"""Connecting a WooCommerce site and keeping it connected.

Used by the authorization callback, the CLI and the tests, so each step exists once:
``save_connection`` stores keys (encrypted) on the account's connection for the site and
``sync`` pulls it. The site's webhooks are registered (and their secrets stored) by
``integration.connections.register_webhooks``, as every platform's are.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from connectors.sdk import RetryPolicy
from connectors.woocommerce.connector import WooCommerceConnector, WooCommerceSettings
from integration.accounts import add_connection
from integration.connections import connector_for, guarded
from integration.crypto import SecretBox
from integration.db import read_session
from integration.models import Account, Connection, ConnectionStatus
from integration.sync import StreamResult, sync_connection

PLATFORM = WooCommerceConnector.name


class SiteTaken(Exception):
    """The site is already connected to another loyalty program."""


def save_connection(
    session: Session, box: SecretBox, account: Account, settings: WooCommerceSettings
) -> Connection:
    """Create the site's connection, or give an existing one (reconnect) its new keys.

    Webhook secrets already stored are kept, so deliveries in flight still verify.
    """
    plain, hidden = settings.split()
    connection = session.exec(
        select(Connection).where(
            Connection.platform == PLATFORM, Connection.external_id == settings.url
        ).with_for_update()
    ).first()
    if connection is None:
        return add_connection(session, box, account, platform=PLATFORM,
                              external_id=settings.url, credentials=hidden, settings=plain)
    if connection.account_id != account.id:
        raise SiteTaken(f"{settings.url} is already connected to another loyalty program")
    previous = box.open(connection.credentials).get("webhook_secrets") or {}
    hidden["webhook_secrets"] = {**previous, **hidden["webhook_secrets"]}
    connection.credentials = box.seal(hidden)
    connection.settings = plain
    connection.status = ConnectionStatus.ACTIVE
    connection.status_message = ""
    session.add(connection)
    session.flush()
    return connection


def _connector(engine: Engine, box: SecretBox, connection_id: int,
               policy: RetryPolicy | None) -> WooCommerceConnector:
    with read_session(engine) as session:
        connector = connector_for(session.get(Connection, connection_id), box, policy)
    assert isinstance(connector, WooCommerceConnector)
    return connector


def sync(engine: Engine, box: SecretBox, connection_id: int, *, full: bool = False,
         policy: RetryPolicy | None = None) -> list[StreamResult]:
    """Pull customers and orders (resuming from the stored cursors unless ``full``)."""
    connector = _connector(engine, box, connection_id, policy)
    with guarded(engine, connection_id):
        return sync_connection(engine, connection_id, connector, full=full)
