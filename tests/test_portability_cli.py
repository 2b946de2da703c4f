"""``sadakat import`` / ``sadakat export`` through the real command line."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from integration.accounts import create_account
from integration.cli import main
from integration.db import write_session

DATA = Path(__file__).parent / "data" / "portability"


@pytest.fixture
def account_id(engine) -> int:
    with write_session(engine) as session:
        return create_account(session, f"CLI {uuid.uuid4().hex[:6]}").id


def run(config: str, *args: str):
    return CliRunner().invoke(main, ["--config", config, *args], catch_exceptions=False)


def test_import_dry_run_then_real_then_export_and_ledger_check(config_path, account_id, tmp_path):
    rejects = tmp_path / "rejects.csv"
    args = ["import", str(DATA / "smile_points.csv"), "--account", str(account_id),
            "--source", "smile"]

    dry = run(config_path, *args, "--dry-run")
    assert dry.exit_code == 3  # rows were rejected
    assert "DRY RUN" in dry.output and "line 4, column 'points'" in dry.output

    real = run(config_path, *args, "--rejects", str(rejects))
    assert real.exit_code == 3
    with open(rejects, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["line"] for r in rows] == ["4", "5", "6", "9", "10"]

    assert run(config_path, "ledger", "check", "--account", str(account_id)).exit_code == 0

    exported = run(config_path, "export", "--account", str(account_id), "--out", str(tmp_path / "out"),
                   "--format", "jsonl")
    assert exported.exit_code == 0, exported.output
    assert "ledger: 3 rows" in exported.output
    assert (tmp_path / "out" / "customers.jsonl").exists()


def test_bad_file_and_bad_mapping_are_one_clear_line(config_path, account_id):
    result = run(config_path, "import", str(DATA / "missing_points_column.csv"), "--account",
                 str(account_id), "--source", "smile")
    assert result.exit_code == 1
    assert "no points column for source 'smile'" in result.output

    result = run(config_path, "import", str(DATA / "renamed_columns.csv"), "--account",
                 str(account_id), "--source", "generic", "--column", "pointz=Points Balance")
    assert result.exit_code == 2 and "'pointz' is not a field" in result.output

    result = run(config_path, "import", str(DATA / "renamed_columns.csv"), "--account",
                 str(account_id), "--source", "generic", "--column", "email=Customer Email",
                 "--column", "points=Points Balance")
    assert result.exit_code == 0, result.output
