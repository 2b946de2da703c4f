"""From a stored ``Connection`` to a live connector, and back when a platform refuses us."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from connectors.sdk.base import Connector
from connectors.sdk.http import AuthError, RetryPolicy
from connectors.sdk.registry import connector_class
from integration.crypto import SecretBox
from integration.db import read_session, write_session
from integration.models import Connection, ConnectionStatus


def connector_for(
    connection: Connection, box: SecretBox, policy: RetryPolicy | None = None
) -> Connector:
    cls = connector_class(connection.platform)
    return cls.from_stored(connection.settings, box.open(connection.credentials), policy=policy)


def mark_needs_attention(session: Session, connection: Connection, message: str) -> None:
    """Revoked keys and the like: stop calling the platform until the merchant reconnects."""
    connection.status = ConnectionStatus.NEEDS_ATTENTION
    connection.status_message = message[:500]
    session.add(connection)


def register_webhooks(engine: Engine, box: SecretBox, connection_id: int, public_url: str,
                      policy: RetryPolicy | None = None) -> list[str]:
    """Subscribe a connection to its platform's webhooks (again), pointed at our receiver.

    A connector may learn new secrets while registering (WooCommerce gets one per webhook):
    its secrets are sealed back into the connection. Refused credentials mark the connection
    as needing attention; every failure is raised to the caller, who shows it.
    """
    from webhooks.routing import delivery_url  # the receiver owns its URLs

    with read_session(engine) as session:
        connection = session.get(Connection, connection_id)
        connector = connector_for(connection, box, policy)
        url = delivery_url(public_url, connection.platform, connection_id)
    try:
        topics = connector.register_webhooks(url)
    except AuthError as exc:
        with write_session(engine) as session:
            mark_needs_attention(session, session.get(Connection, connection_id), str(exc))
        raise
    with write_session(engine) as session:
        connection = session.get(Connection, connection_id)
        connection.credentials = box.seal({**box.open(connection.credentials),
                                           **connector.settings.split()[1]})
        session.add(connection)
    return topics
