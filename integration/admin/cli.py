"""``sadakat admin create-user``: the people who sign in to an account's admin pages."""

from __future__ import annotations

import click
from werkzeug.security import generate_password_hash

from integration.cli import Context, pass_context


@click.group("admin")
def admin_group() -> None:
    """Admin page users."""


@admin_group.command("create-user")
@click.option("--account", "account_id", type=int, required=True)
@click.option("--email", required=True)
@click.option("--locale", type=click.Choice(["en", "tr"]), default="en", show_default=True)
@click.password_option()
@pass_context
def create_user(ctx: Context, account_id: int, email: str, locale: str, password: str) -> None:
    from integration.db import write_session
    from integration.models import Account, AdminUser

    if len(password) < 10:
        raise click.ClickException("the password must have at least 10 characters")
    with write_session(ctx.runtime.engine) as session:
        if session.get(Account, account_id) is None:
            raise click.ClickException(f"account {account_id} not found")
        session.add(AdminUser(account_id=account_id, email=email.strip().lower(), locale=locale,
                              password_hash=generate_password_hash(password)))
    click.echo(f"admin user {email} can sign in at /admin")
