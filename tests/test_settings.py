"""Start-up configuration: wrong or missing values stop with one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from integration.settings import ConfigError, generate_key, load_settings

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(body)
    return path


def test_example_config_documents_every_key():
    text = (ROOT / "config.example.toml").read_text()
    from integration.settings import Settings

    for section, field in Settings.model_fields.items():
        assert f"[{section}]" in text
        for key in field.annotation.model_fields:
            assert f"\n{key} =" in text, f"{section}.{key} missing from config.example.toml"


def test_environment_overrides_file(tmp_path):
    key = generate_key()
    path = write(tmp_path, f'[security]\nsecret_key = "0123456789abcdef0"\nencryption_key = "{key}"\n')
    settings = load_settings(path, {"SADAKAT_DATABASE__URL": "postgresql+psycopg://x/y"})
    assert settings.database.url == "postgresql+psycopg://x/y"


KEYS = {"SADAKAT_SECURITY__SECRET_KEY": "0123456789abcdef0"}


@pytest.mark.parametrize(("body", "with_keys", "expected"), [
    ("", False, "[security] is missing: set secret_key, encryption_key (or SADAKAT_SECURITY__SECRET_KEY, SADAKAT_SECURITY__ENCRYPTION_KEY)"),
    ('[security]\nencryption_key = "x"\n', False, "[security] secret_key: Field required (set it in the config file or SADAKAT_SECURITY__SECRET_KEY)"),
    ('[security]\nsecret_key = "0123456789abcdef0"\nencryption_key = "nope"\n', False,
     "[security] encryption_key: Value error, must be a Fernet key: generate one with `sadakat keygen`"),
    ("[server]\nport = 70000\n", True, "[server] port: Input should be less than or equal to 65535"),
    ("[sever]\nport = 1\n", True, "[sever]: Extra inputs are not permitted"),
    ("not toml = = 1", True, "is not valid TOML"),
])
def test_bad_values_name_the_key_and_the_fix(tmp_path, body, with_keys, expected):
    env = {**KEYS, "SADAKAT_SECURITY__ENCRYPTION_KEY": generate_key()} if with_keys else {}
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, body), env)
    message = str(error.value)
    assert expected in message and "\n" not in message


def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "absent.toml", {})


def test_cli_prints_one_line_not_a_traceback(tmp_path):
    path = write(tmp_path, '[database]\nurl = "mysql://x"\n')
    result = subprocess.run(
        [sys.executable, "-m", "integration.cli", "--config", str(path), "db", "upgrade"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "config error: [database] url" in result.stderr or "config error: [security]" in result.stderr
