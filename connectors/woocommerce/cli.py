"""``sadakat woocommerce ...``: connect a site by keys or by its authorization flow, register
webhooks, sync."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from pydantic import ValidationError

from connectors.sdk import ApiError

if TYPE_CHECKING:
    from integration.cli import Context

# ``ctx.obj`` is the sadakat CLI's Context; taken as is (not by type) because ``python -m
# integration.cli`` loads that module twice, as ``__main__`` and as ``integration.cli``.
pass_context = click.pass_obj


@click.group()
def woocommerce() -> None:
    """WooCommerce sites."""


def _settings_error(exc: ValidationError) -> click.ClickException:
    return click.ClickException("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors()))


@woocommerce.command("connect")
@click.option("--account", "account_id", type=int, required=True)
@click.option("--url", required=True, help="The site's address, https://your-shop.example")
@click.option("--key", required=True, help="Consumer key (ck_...) with read_write permission.")
@click.option("--secret", required=True, help="Consumer secret (cs_...).")
@click.option("--allow-insecure-http", is_flag=True,
              help="Accept an http:// site (keys and data travel unencrypted).")
@click.option("--webhooks/--no-webhooks", default=True, show_default=True,
              help="Register webhooks to [server] public_url.")
@pass_context
def connect(ctx: Context, account_id: int, url: str, key: str, secret: str,
            allow_insecure_http: bool, webhooks: bool) -> None:
    """Connect a site with a key/secret made in WooCommerce > Settings > Advanced > REST API."""
    from connectors.woocommerce.connector import WooCommerceConnector, WooCommerceSettings
    from connectors.woocommerce.setup import SiteTaken, save_connection
    from integration.db import write_session
    from integration.models import Account

    rt = ctx.runtime
    try:
        settings = WooCommerceSettings(url=url, consumer_key=key, consumer_secret=secret,
                                       allow_insecure_http=allow_insecure_http)
    except ValidationError as exc:
        raise _settings_error(exc) from None
    try:
        WooCommerceConnector(settings).check()
    except ApiError as exc:
        raise click.ClickException(f"the site refused the keys: {exc}") from None
    with write_session(rt.engine) as session:
        account = session.get(Account, account_id)
        if account is None:
            raise click.ClickException(f"account {account_id} not found")
        try:
            connection = save_connection(session, rt.box, account, settings)
        except SiteTaken as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"connection {connection.id}: {settings.url}")
    if webhooks:
        _webhooks(rt, connection.id)


def _webhooks(rt, connection_id: int) -> None:
    from integration.connections import register_webhooks

    try:
        topics = register_webhooks(rt.engine, rt.box, connection_id, rt.settings.server.public_url)
    except ApiError as exc:
        raise click.ClickException(f"webhooks not registered: {exc}") from None
    click.echo(f"webhooks registered: {', '.join(topics)}")


@woocommerce.command("authorize")
@click.option("--account", "account_id", type=int, required=True)
@click.option("--url", required=True, help="The site's address, https://your-shop.example")
@click.option("--allow-insecure-http", is_flag=True)
@pass_context
def authorize(ctx: Context, account_id: int, url: str, allow_insecure_http: bool) -> None:
    """Print the link that asks the merchant to grant Sadakat keys (valid one hour)."""
    from connectors.woocommerce.auth import begin_authorization
    from integration.db import write_session

    rt = ctx.runtime
    try:
        with write_session(rt.engine) as session:
            link = begin_authorization(session, account_id=account_id, site_url=url,
                                       public_url=rt.settings.server.public_url,
                                       allow_insecure_http=allow_insecure_http)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(link)


@woocommerce.command("webhooks")
@click.option("--connection", "connection_id", type=int, required=True)
@pass_context
def webhooks_command(ctx: Context, connection_id: int) -> None:
    """Create, or re-activate, the site's webhooks (WooCommerce disables failing ones)."""
    _webhooks(ctx.runtime, connection_id)


@woocommerce.command("sync")
@click.option("--connection", "connection_id", type=int, required=True)
@click.option("--full", is_flag=True, help="Start over instead of resuming from the cursors.")
@pass_context
def sync_command(ctx: Context, connection_id: int, full: bool) -> None:
    """Pull customers and orders."""
    from connectors.woocommerce.setup import sync

    rt = ctx.runtime
    try:
        results = sync(rt.engine, rt.box, connection_id, full=full)
    except ApiError as exc:
        raise click.ClickException(str(exc)) from None
    for result in results:
        click.echo(f"{result.stream}: {result.records} records in {result.pages} pages, "
                   f"{result.entries} ledger entries")
