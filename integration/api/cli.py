"""``sadakat api token create``: tokens for the public API."""

from __future__ import annotations

import click

from integration.cli import Context, pass_context


@click.group("api")
def api_group() -> None:
    """The public JSON API."""


@api_group.group("token")
def token_group() -> None:
    """API tokens."""


@token_group.command("create")
@click.option("--account", "account_id", type=int, required=True)
@click.option("--name", required=True, help="Who uses it (shown as the actor of adjustments).")
@click.option("--scopes", default="read", show_default=True,
              help="Comma-separated: read, write, redeem.")
@pass_context
def create(ctx: Context, account_id: int, name: str, scopes: str) -> None:
    """Create a token and print it once."""
    from integration.api.tokens import create_token
    from integration.db import write_session
    from integration.errors import SadakatError
    from integration.models import Account

    with write_session(ctx.runtime.engine) as session:
        if session.get(Account, account_id) is None:
            raise click.ClickException(f"account {account_id} not found")
        try:
            token = create_token(session, account_id, name, {s.strip() for s in scopes.split(",")})
        except SadakatError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(token)
