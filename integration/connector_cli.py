"""``sadakat connectors list`` (what is installed), ``sadakat connect PLATFORM`` (connect an
API-key platform to an account) and ``sadakat connector new NAME`` (a package skeleton that
passes its own conformance tests).

The SDK is imported inside the commands so that ``sadakat keygen`` and friends stay quick."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

console = Console()


@click.group("connectors")
def connectors_group() -> None:
    """Installed connectors."""


@connectors_group.command("list")
@click.option("--settings", "show_settings", is_flag=True, help="Also list each connector's settings.")
def connectors_list(show_settings: bool) -> None:
    """Every connector registered under the entry-point group sadakat.connectors.

    A connector that fails to load is listed with its error; the others keep working.
    """
    from connectors.sdk.registry import installed

    table = Table("name", "distribution", "version", "capabilities", "status")
    for item in installed():
        table.add_row(
            item.name, item.distribution, item.connector.version if item.connector else item.version,
            ", ".join(item.capabilities), "ok" if not item.error else f"[red]failed: {item.error}",
        )
    console.print(table)
    if show_settings:
        for item in installed():
            if item.connector is None:
                continue
            fields = Table("setting", "type", "required", "secret", "default", "description",
                           title=f"{item.name} settings")
            for field in item.connector.Settings.fields():
                fields.add_row(field.name, field.type, "yes" if field.required else "",
                               "yes" if field.secret else "",
                               "" if field.default is None else repr(field.default), field.description)
            console.print(fields)


@click.command("connect")
@click.argument("platform")
@click.option("--account", "account_id", type=int, required=True, help="The account to connect.")
@click.option("--set", "assignments", multiple=True, metavar="FIELD=VALUE",
              help="A setting of the connector (repeatable); see `sadakat connectors list --settings`.")
@click.pass_obj
def connect_command(ctx: Any, platform: str, account_id: int, assignments: tuple[str, ...]) -> None:
    """Connect Mailchimp, Klaviyo or an installed plugin's platform by its settings.

    The platform checks the settings before anything is stored; connecting the same audience
    or account again updates its connection. A secret not given with --set comes from
    $SADAKAT_CONNECT_<FIELD> (an empty variable leaves an optional one unset) or a hidden
    prompt, so it need not appear on the command line. Shopify and WooCommerce have their own
    commands.
    """
    from connectors.sdk import ApiError, InvalidSettings
    from integration.connections import ConnectRefused, connect, key_connector

    try:
        cls = key_connector(platform)
    except (LookupError, ConnectRefused) as exc:
        raise click.ClickException(str(exc)) from None
    values = _assigned(assignments)
    for field in cls.Settings.fields():
        if field.secret and field.name not in values:
            if (answer := _secret(field.name, field.description, field.required)):
                values[field.name] = answer
    rt = ctx.runtime
    try:
        connected = connect(rt.engine, rt.box, account_id, platform, values,
                            public_url=rt.settings.server.public_url)
    except InvalidSettings as exc:
        raise click.ClickException(str(exc)) from None
    except ApiError as exc:
        raise click.ClickException(f"{platform} refused the settings, nothing was stored: {exc}") from None
    except ConnectRefused as exc:
        raise click.ClickException(str(exc)) from None
    verb = "connected" if connected.created else "updated"
    click.echo(f"connection {connected.connection_id}: {platform} {connected.external_id} {verb}")
    if connected.webhooks:
        click.echo(f"webhooks registered: {', '.join(connected.webhooks)}")
    elif connected.webhooks_by_hand:
        click.echo(f"webhooks: {platform} has no API to register them; point them at "
                   f"{connected.webhook_url}")
    elif connected.webhook_error:
        # the connection is kept; like ``woocommerce connect``, the command still fails
        raise click.ClickException(
            f"webhooks not registered: {connected.webhook_error}; the platform must deliver to "
            f"{connected.webhook_url} (retry from the admin's connections page)")


def _assigned(assignments: tuple[str, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in assignments:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{item!r} is not FIELD=VALUE", param_hint="--set")
        values[name.strip()] = value
    return values


def _secret(name: str, description: str, required: bool) -> str:
    """A secret from $SADAKAT_CONNECT_<FIELD>, else asked for without echo ("" for none)."""
    variable = f"SADAKAT_CONNECT_{name.upper()}"
    if variable in os.environ:
        return os.environ[variable]
    label = name + (f" ({description})" if description else "") + ("" if required else ", empty for none")
    try:
        return click.prompt(label, hide_input=True, default=None if required else "",
                            show_default=False)
    except click.Abort:
        raise click.ClickException(f"{name}: not given (--set {name}=..., ${variable} or the prompt)") from None


@click.group("connector")
def connector_group() -> None:
    """Write your own connector."""


@connector_group.command("new")
@click.argument("name")
@click.option("--dir", "directory", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Where to create the package folder sadakat-NAME.")
def connector_new(name: str, directory: str) -> None:
    """Create a connector package skeleton: connector, fake server, conformance test, pyproject."""
    from connectors.sdk.scaffold import ScaffoldError, scaffold

    try:
        root = scaffold(name, Path(directory))
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {root}")
    click.echo(f"next: pip install -e {root} && pytest {root}/tests")
