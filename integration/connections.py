"""From a stored ``Connection`` to a live connector, and back when a platform refuses us."""

from __future__ import annotations

from sqlmodel import Session

from connectors.sdk.base import Connector
from connectors.sdk.http import RetryPolicy
from connectors.sdk.registry import connector_class
from integration.crypto import SecretBox
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
