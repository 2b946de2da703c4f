"""``sadakat connector new`` writes a package that passes its own conformance tests as is.

The skeleton is built and pip-installed into a private folder (``--target``) and its tests run
in a fresh interpreter with that folder on the path: its entry point is real, and nothing is
left behind in the test environment."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from connectors.sdk.scaffold import names
from integration.cli import main


def test_names_are_derived_and_validated():
    assert names("acme-shop") == {
        "name": "acme_shop", "package": "sadakat_acme_shop", "dist": "sadakat-acme-shop",
        "Class": "AcmeShop", "Title": "Acme Shop",
    }
    result = CliRunner().invoke(main, ["connector", "new", "Acme Shop!"])
    assert result.exit_code != 0 and "is not a valid connector name" in result.output


@pytest.mark.slow  # builds and installs a package (~10-30 s); still runs in CI
@pytest.mark.skipif(
    os.environ.get("SADAKAT_TEST_DATABASE", "sqlite") != "sqlite",
    reason="the skeleton's own suite always runs on its own SQLite file, so the PostgreSQL run "
    "of CI would repeat the SQLite run exactly",
)
def test_scaffold_passes_its_own_conformance_suite(tmp_path):
    result = CliRunner().invoke(main, ["connector", "new", "acme-shop", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    root = tmp_path / "sadakat-acme-shop"
    assert (root / "pyproject.toml").read_text().count(
        'acme_shop = "sadakat_acme_shop.connector:AcmeShopConnector"') == 1
    again = CliRunner().invoke(main, ["connector", "new", "acme-shop", "--dir", str(tmp_path)])
    assert again.exit_code != 0 and "already exists" in again.output

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
                    str(root)], check=True, capture_output=True)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root / "tests")],
        cwd=root, env={**os.environ, "PYTHONPATH": str(site)}, capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "11 passed" in run.stdout
