"""``sadakat connectors list`` (what is installed) and ``sadakat connector new NAME`` (a package
skeleton that passes its own conformance tests).

The SDK is imported inside the commands so that ``sadakat keygen`` and friends stay quick."""

from __future__ import annotations

from pathlib import Path

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
