"""Creating tenants and their connections."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from integration.crypto import SecretBox
from integration.models import Account, Connection
from integration.program import ProgramSettings


def create_account(
    session: Session,
    name: str,
    *,
    currency: str = "USD",
    timezone: str = "UTC",
    program: ProgramSettings | None = None,
) -> Account:
    account = Account(
        name=name,
        currency=currency.upper(),
        timezone=timezone,
        program=(program or ProgramSettings()).model_dump(mode="json"),
    )
    session.add(account)
    session.flush()
    return account


def set_program(session: Session, account: Account, program: ProgramSettings) -> None:
    account.program = program.model_dump(mode="json")
    session.add(account)


def add_connection(
    session: Session,
    box: SecretBox,
    account: Account,
    *,
    platform: str,
    external_id: str,
    credentials: dict[str, Any],
    settings: dict[str, Any] | None = None,
    name: str = "",
) -> Connection:
    """Credentials are sealed before they reach the session; the plain ones never hit the disk."""
    connection = Connection(
        account_id=account.id,
        platform=platform,
        external_id=external_id,
        name=name or external_id,
        credentials=box.seal(credentials),
        settings=settings or {},
    )
    session.add(connection)
    session.flush()
    return connection
