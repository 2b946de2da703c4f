"""``sadakat shopify …``: connecting a custom-app shop from the command line."""

from __future__ import annotations

import click
from pydantic import ValidationError

from connectors.sdk import ApiError
from connectors.shopify.connector import ShopifySettings
from connectors.shopify.install import connect_shop
from integration.cli import console, pass_context


@click.group("shopify")
def shopify_cli() -> None:
    """Shopify shops."""


@shopify_cli.command()
@click.option("--shop", required=True, help="my-store.myshopify.com")
@click.option("--token", envvar="SADAKAT_SHOPIFY_TOKEN", required=True,
              help="Admin API access token of the custom app (or $SADAKAT_SHOPIFY_TOKEN).")
@click.option("--secret", envvar="SADAKAT_SHOPIFY_SECRET", required=True,
              help="API secret key of the custom app, signs webhooks (or $SADAKAT_SHOPIFY_SECRET).")
@click.option("--account", "account_id", type=int, help="Attach to this account (default: new).")
@click.option("--birthday-metafield", default="", help="namespace.key of a birthday metafield.")
@click.option("--endpoint", default="", hidden=True, help="Base URL instead of https://{shop}.")
@pass_context
def connect(ctx, shop: str, token: str, secret: str, account_id: int | None,
            birthday_metafield: str, endpoint: str) -> None:
    """Connect a shop through a custom app's Admin API token."""
    try:
        settings = ShopifySettings(shop=shop, access_token=token, api_secret=secret,
                                   birthday_metafield=birthday_metafield, endpoint=endpoint)
    except ValidationError as exc:
        raise click.ClickException(exc.errors()[0]["msg"]) from None
    rt = ctx.runtime
    try:
        installed = connect_shop(rt.engine, rt.box, settings, account_id=account_id,
                                 public_url=rt.settings.server.public_url)
    except (ApiError, LookupError) as exc:
        raise click.ClickException(str(exc)) from None
    verb = "connected" if installed.created else "reconnected"
    console.print(f"{settings.shop} {verb}: account {installed.account_id}, connection "
                  f"{installed.connection_id}, webhooks {', '.join(installed.webhooks)}")
