"""Connecting a platform, from a stored ``Connection`` to a live connector, and back when a
platform refuses us."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from connectors.sdk.base import Capability, Connector, Unsupported
from connectors.sdk.http import ApiError, AuthError, RetryPolicy
from connectors.sdk.registry import connector_class
from integration.accounts import add_connection
from integration.crypto import SecretBox
from integration.db import read_session, write_session
from integration.keylocks import lock_keys
from integration.models import Account, Connection, ConnectionStatus

log = logging.getLogger(__name__)


class ConnectRefused(Exception):
    """Sadakat's own refusal to connect (the platform's is an ``ApiError``); nothing was stored."""


class ConnectedElsewhere(ConnectRefused):
    """The platform's side (audience, account, store) already belongs to another loyalty program:
    connections are unique by platform and external id, because webhooks are routed by it."""


@dataclass(frozen=True)
class Connected:
    """What ``connect`` did. ``webhook_error`` says why registering webhooks failed (the
    connection is kept; ``webhook_url`` is where the platform must deliver); ``webhooks_by_hand``
    says the platform has no API for it, so the merchant points its webhooks at ``webhook_url``."""

    connection_id: int
    external_id: str
    created: bool
    webhooks: tuple[str, ...] = ()
    webhook_url: str = ""
    webhook_error: str = ""
    webhooks_by_hand: bool = False


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


@contextlib.contextmanager
def guarded(engine: Engine, connection_id: int) -> Iterator[None]:
    """Refused keys (401/403) mark the connection as needing attention, then re-raise."""
    try:
        yield
    except AuthError as exc:
        with write_session(engine) as session:
            mark_needs_attention(session, session.get(Connection, connection_id), str(exc))
        raise


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
    with guarded(engine, connection_id):
        topics = connector.register_webhooks(url)
    with write_session(engine) as session:
        connection = session.get(Connection, connection_id)
        connection.credentials = box.seal({**box.open(connection.credentials),
                                           **connector.settings.split()[1]})
        session.add(connection)
    return topics


def key_connector(platform: str) -> type[Connector]:
    """The installed connector of a platform connected by the settings a merchant enters.

    ``LookupError`` if none is installed; ``ConnectRefused`` naming the way in for a platform
    with a flow of its own (``Connector.connect_with``: an OAuth install, a key hand-over).
    """
    cls = connector_class(platform)
    if cls.connect_with:
        raise ConnectRefused(f"{platform} is connected through {cls.connect_with}")
    return cls


def connect(engine: Engine, box: SecretBox, account_id: int, platform: str,
            values: Mapping[str, Any], *, public_url: str = "",
            policy: RetryPolicy | None = None) -> Connected:
    """Connect a platform from the settings a merchant entered: the one way behind
    ``sadakat connect``, the admin's "Add a connection" form and the demo.

    Nothing is stored unless the settings validate (``InvalidSettings``, per field) and the
    platform accepts them (``check()``; ``ApiError``/``AuthError`` otherwise). The connector's
    ``external_id()`` names the connection; the same one connected again in the account gets
    the new settings and secrets (a secret left out keeps the stored one) instead of a second
    connection. Then, when the connector declares webhooks and ``public_url`` is given, they
    are registered; a failure there is reported in the result and the connection stays.
    """
    cls = key_connector(platform)
    settings = cls.Settings.from_input(values, platform)
    connector = cls(settings, policy=policy)
    connector.check()
    external_id = connector.external_id()
    plain, secrets = settings.split()
    with write_session(engine) as session:
        account = session.get(Account, account_id)
        if account is None:
            raise ConnectRefused(f"account {account_id} not found")
        # Two connects of the same new audience at once: the second waits, then updates it.
        lock_keys(session, [f"connection:{platform}:{external_id}"])
        connection = session.exec(select(Connection).where(
            Connection.platform == platform, Connection.external_id == external_id,
        ).with_for_update()).first()
        created = connection is None
        if connection is None:
            connection = add_connection(session, box, account, platform=platform,
                                        external_id=external_id, credentials=secrets,
                                        settings=plain)
        elif connection.account_id != account_id:
            raise ConnectedElsewhere(
                f"{platform} {external_id} is already connected to another loyalty program")
        else:
            stored = box.open(connection.credentials)
            connection.credentials = box.seal({
                name: stored.get(name) if value is None else value for name, value in secrets.items()})
            connection.settings = plain
            connection.status, connection.status_message = ConnectionStatus.ACTIVE, ""
            session.add(connection)
            session.flush()
        result = Connected(connection.id, external_id, created)
    log.info("%s %s %s (connection %s)", platform, external_id,
             "connected" if created else "reconnected", result.connection_id)
    if Capability.WEBHOOKS not in cls.capabilities or not public_url:
        return result
    from webhooks.routing import delivery_url  # the receiver owns its URLs

    result = replace(result, webhook_url=delivery_url(public_url, platform, result.connection_id))
    try:
        topics = register_webhooks(engine, box, result.connection_id, public_url, policy)
    except Unsupported:
        return replace(result, webhooks_by_hand=True)
    except (ApiError, NotImplementedError, ValueError) as exc:
        log.warning("webhooks of connection %s not registered: %s", result.connection_id, exc)
        return replace(result, webhook_error=str(exc))
    return replace(result, webhooks=tuple(topics))
