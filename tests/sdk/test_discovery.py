"""Discovery through the entry-point group: a broken plugin is reported, never fatal.

The broken plugin is a real distribution (a ``dist-info`` with ``entry_points.txt`` and a module
that fails to import) put on ``sys.path``, exactly what pip would leave behind."""

from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner

from connectors.sdk import connector_class, installed
from integration.cli import main


@pytest.fixture
def broken_plugin(tmp_path, monkeypatch):
    info = tmp_path / "sadakat_broken_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sadakat-broken-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[sadakat.connectors]\n"
        "broken = sadakat_broken_plugin:BrokenConnector\n"
        "notaconnector = json:dumps\n"
    )
    (tmp_path / "sadakat_broken_plugin.py").write_text(
        'raise ImportError("sadakat_broken_plugin needs libacme, which is not installed")\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    installed.cache_clear()
    yield
    monkeypatch.undo()
    installed.cache_clear()


def test_broken_plugin_is_logged_and_skipped(broken_plugin, caplog):
    with caplog.at_level(logging.WARNING, logger="connectors.sdk.registry"):
        found = {item.name: item for item in installed()}
    assert "ImportError: sadakat_broken_plugin needs libacme" in found["broken"].error
    assert found["broken"].connector is None and found["broken"].distribution == "sadakat-broken-plugin"
    assert "is not a Connector subclass" in found["notaconnector"].error
    assert "connector 'broken' from sadakat-broken-plugin 1.0" in caplog.text
    assert "failed to load and is disabled" in caplog.text
    # the rest keeps working
    assert found["generic_store"].error == ""
    assert connector_class("generic_store").name == "generic_store"
    with pytest.raises(LookupError, match="no connector installed for platform 'broken'"):
        connector_class("broken")


def test_connectors_list_shows_versions_capabilities_and_errors(broken_plugin):
    result = CliRunner().invoke(main, ["connectors", "list", "--settings"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    generic = next(line for line in lines if "generic_store " in line)
    assert "sadakat-generic-store" in generic and "0.1.0" in generic
    assert "pull, push_attributes, webhooks" in generic and "ok" in generic
    broken = next(line for line in lines if "broken " in line)
    assert "failed: ImportError" in broken
    assert "generic_store settings" in result.output
    webhook_secret = next(line for line in lines if "webhook_secret" in line)
    assert "SecretStr" in webhook_secret and "yes" in webhook_secret
