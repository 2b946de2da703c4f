"""``sadakat woocommerce``: connecting by key/secret, refusing http, printing the authorize link."""

from __future__ import annotations

from click.testing import CliRunner
from sqlmodel import select

from integration.cli import main
from integration.db import read_session
from integration.models import Connection


def test_connect_with_keys_and_print_the_authorize_link(config_path, engine, box, account, fake):
    config = config_path
    key = fake.default_key
    args = ["--config", config, "woocommerce", "connect", "--account", str(account.id),
            "--url", fake.url, "--key", key.consumer_key, "--secret", key.consumer_secret]
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code != 0 and "plain http" in refused.output
    wrong = CliRunner().invoke(main, [*args[:-1], "cs_wrong", "--allow-insecure-http"])
    assert wrong.exit_code != 0 and "refused the keys" in wrong.output
    result = CliRunner().invoke(main, [*args, "--allow-insecure-http", "--no-webhooks"])
    assert result.exit_code == 0, result.output
    with read_session(engine) as session:
        connection = session.exec(select(Connection).where(
            Connection.account_id == account.id)).one()
    assert key.consumer_secret not in connection.credentials  # sealed
    assert box.open(connection.credentials)["consumer_secret"] == key.consumer_secret
    link = CliRunner().invoke(main, ["--config", config, "woocommerce", "authorize", "--account",
                                     str(account.id), "--url", "https://shop.example"])
    assert link.exit_code == 0
    assert link.output.startswith("https://shop.example/wc-auth/v1/authorize?app_name=Sadakat")
    assert "scope=read_write" in link.output
