"""The ``sadakat`` command, run in-process against the test database."""

from __future__ import annotations

from click.testing import CliRunner

from integration.cli import main
from tests.factories import order, place, shop


def test_db_upgrade_account_create_and_ledger_check(config_path, session, box):
    account, conn = shop(session, box)
    place(session, account, conn, order("1"))
    runner = CliRunner()
    config = config_path
    result = runner.invoke(main, ["--config", config, "db", "upgrade"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["--config", config, "account", "create", "CLI Shop", "--currency", "try"])
    assert result.exit_code == 0 and "created" in result.output
    result = runner.invoke(main, ["--config", config, "ledger", "check", "--account", str(account.id)])
    assert result.exit_code == 0, result.output
    assert "ok" in result.output


def test_keygen_prints_a_fernet_key():
    from cryptography.fernet import Fernet

    result = CliRunner().invoke(main, ["keygen"])
    Fernet(result.output.strip().encode())
