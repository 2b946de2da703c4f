"""The ``sadakat`` command.

Settings are loaded only by the commands that need them, so ``sadakat keygen`` and
``sadakat demo`` work on a machine with no configuration at all. A configuration problem ends the
command with one line naming the key and the fix.
"""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.table import Table
from sqlmodel import select

from integration.runtime import Runtime, configure_logging, tune_gc
from integration.settings import ConfigError, generate_key, load_settings

console = Console()


class Context:
    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._runtime: Runtime | None = None

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            try:
                settings = load_settings(self.config_path)
            except ConfigError as exc:
                raise click.ClickException(str(exc)) from None
            configure_logging(settings.logging.level)
            self._runtime = Runtime(settings)
        return self._runtime


pass_context = click.make_pass_decorator(Context)


@click.group()
@click.option(
    "--config", "config_path", envvar="SADAKAT_CONFIG", type=click.Path(dir_okay=False),
    help="Path to config.toml (default: $SADAKAT_CONFIG).",
)
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """Sadakat: loyalty points, tiers and customer data for online stores."""
    ctx.obj = Context(config_path)


@main.command()
def keygen() -> None:
    """Print a new Fernet key for [security] encryption_key."""
    click.echo(generate_key())


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@pass_context
def db_upgrade(ctx: Context) -> None:
    """Apply all migrations."""
    from integration.migrate import current_heads, upgrade

    upgrade(ctx.runtime.engine)
    click.echo(f"database at {', '.join(sorted(current_heads(ctx.runtime.engine)))}")


@main.group()
def account() -> None:
    """Loyalty programs (tenants)."""


@account.command("create")
@click.argument("name")
@click.option("--currency", default="USD", show_default=True)
@click.option("--timezone", default="UTC", show_default=True)
@pass_context
def account_create(ctx: Context, name: str, currency: str, timezone: str) -> None:
    from integration.accounts import create_account
    from integration.db import write_session

    with write_session(ctx.runtime.engine) as session:
        created = create_account(session, name, currency=currency, timezone=timezone)
    click.echo(f"account {created.id} created: {name}")


@account.command("list")
@pass_context
def account_list(ctx: Context) -> None:
    from integration.db import read_session
    from integration.models import Account

    table = Table("id", "name", "currency", "status")
    with read_session(ctx.runtime.engine) as session:
        for row in session.exec(select(Account).order_by(Account.id)):
            table.add_row(str(row.id), row.name, row.currency, row.status)
    console.print(table)


@main.group()
def ledger() -> None:
    """The points ledger."""


@ledger.command("check")
@click.option("--account", "account_id", type=int, help="Check one account (default: all).")
@pass_context
def ledger_check(ctx: Context, account_id: int | None) -> None:
    """Prove balances + redeemed + expired = issued and cached balances = entries."""
    from integration.db import read_session
    from integration.ledger import check_account
    from integration.models import Account

    failed = False
    table = Table("account", "issued", "balances", "redeemed", "expired", "entries", "result")
    with read_session(ctx.runtime.engine) as session:
        ids = [account_id] if account_id else session.exec(select(Account.id)).all()
        for aid in ids:
            report = check_account(session, aid)
            failed |= not report.ok
            table.add_row(
                str(aid), str(report.issued), str(report.balances), str(report.redeemed),
                str(report.expired), str(report.entries),
                "ok" if report.ok else "[red]" + "; ".join(report.problems[:3]),
            )
    console.print(table)
    if failed:
        sys.exit(1)


@main.command()
@click.option("--dir", "directory", default="sadakat-demo", show_default=True,
              help="Where the demo keeps its SQLite database (emptied first).")
@click.option("--customers", default=1500, show_default=True, type=click.IntRange(min=50),
              help="Store customers, split between the fake Shopify and WooCommerce.")
@click.option("--port", default=8000, show_default=True, help="Port of the admin page.")
@click.option("--seed", default=7, show_default=True)
@click.option("--serve/--no-serve", default=True, show_default=True,
              help="Keep the admin page running after the summary (until Ctrl-C).")
def demo(directory: str, customers: int, port: int, seed: int, serve: bool) -> None:
    """Run Sadakat against fake Shopify, WooCommerce, Mailchimp and Klaviyo, on SQLite."""
    from integration.demo import run_demo

    run_demo(directory, customers=customers, port=port, serve=serve, seed=seed, console=console)


if __name__ == "__main__":
    # ``python -m integration.cli``: run the imported module's group, where every command below
    # is registered. Registering here would import this file a second time, half-built, from the
    # command modules that import it (a circular import).
    from integration.cli import run as registered

    registered()

# Feature areas keep their commands in their own modules; they are attached here, in one place.
from connectors.shopify.cli import shopify_cli  # noqa: E402
from connectors.woocommerce.cli import woocommerce  # noqa: E402
from integration.admin.cli import admin_group  # noqa: E402
from integration.analytics.cli import report  # noqa: E402
from integration.api.cli import api_group  # noqa: E402
from integration.connector_cli import connect_command, connector_group, connectors_group  # noqa: E402
from integration.portability.cli import export_command, import_command  # noqa: E402
from integration.segments.cli import segments  # noqa: E402
from jobs.cli import jobs, scheduler  # noqa: E402
from webhooks.cli import inbox, serve, worker  # noqa: E402

for _command in (
    serve, worker, inbox, scheduler, jobs, report, segments, api_group, admin_group, shopify_cli,
    woocommerce, connectors_group, connector_group, connect_command, import_command,
    export_command,
):
    main.add_command(_command)


def run() -> None:
    """The ``sadakat`` console script: the command group in a process tuned for batch work
    (``tune_gc``; gunicorn's workers inherit it when they fork)."""
    tune_gc()
    main()
