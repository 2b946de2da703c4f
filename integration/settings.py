"""Deployment settings: one TOML file, secrets overridable from the environment.

Program settings (earn rate, tiers, rewards) are per account and live in the database; this file
only holds what the operator of a deployment decides: where the database is, the keys, the server.

Any environment variable ``SADAKAT_<SECTION>__<KEY>`` overrides ``[section] key`` so secrets never
have to be written into the file (``SADAKAT_SECURITY__ENCRYPTION_KEY=...``).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from cryptography.fernet import Fernet
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ENV_PREFIX = "SADAKAT_"
CONFIG_ENV = "SADAKAT_CONFIG"


class ConfigError(Exception):
    """A setting is wrong or missing; the message is one line naming the key and the fix."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatabaseSettings(_Section):
    url: str = "sqlite:///sadakat.db"
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        return value


class SecuritySettings(_Section):
    secret_key: str = Field(min_length=16)
    encryption_key: str

    @field_validator("encryption_key")
    @classmethod
    def _is_fernet_key(cls, value: str) -> str:
        try:
            Fernet(value.encode())
        except (ValueError, TypeError):
            raise ValueError(
                "must be a Fernet key: generate one with `sadakat keygen`"
            ) from None
        return value


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=2, ge=1, le=64)
    public_url: str = "http://127.0.0.1:8000"
    max_webhook_bytes: int = Field(default=1_048_576, ge=1024)


class ShopifyAppSettings(_Section):
    api_key: str = ""
    api_secret: str = ""
    scopes: str = "read_customers,write_customers,read_orders,write_discounts"
    api_version: str = "2026-07"


class InboxSettings(_Section):
    """The webhook inbox worker: how often a failing delivery is retried, how long keys live."""

    max_attempts: int = Field(default=8, ge=1, le=50)
    backoff_seconds: float = Field(default=30.0, gt=0)     # first retry; doubles per attempt
    max_backoff_seconds: float = Field(default=3600.0, gt=0)
    poll_seconds: float = Field(default=0.5, gt=0)         # idle wait between empty claims
    # Done rows (their delivery ids are the dedup keys) are kept at least this long; Shopify
    # redelivers for about a day, so a week covers every platform's retries with room to spare.
    retention_days: int = Field(default=7, ge=7)


class LoggingSettings(_Section):
    level: str = "INFO"

    @field_validator("level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value


class JobsSettings(_Section):
    """How often each scheduled job runs, in minutes; per-platform sync intervals.

    ``in_process``: run the scheduler inside ``sadakat serve`` ("auto" = on SQLite only; on
    PostgreSQL run ``sadakat scheduler`` instead). ``stale_minutes``: a running job whose
    heartbeat is older than this is taken as crashed and marked failed.
    """

    in_process: Literal["auto", "yes", "no"] = "auto"
    intervals: dict[str, int] = Field(default_factory=dict)
    sync_minutes: dict[str, int] = Field(
        default_factory=lambda: {"shopify": 15, "woocommerce": 15, "mailchimp": 60, "klaviyo": 60}
    )
    push_minutes: int = Field(default=15, ge=1)
    stale_minutes: float = Field(default=10, gt=0)
    clv_horizon_months: int = Field(default=12, ge=1, le=120)
    clv_annual_discount: float = Field(default=0.10, ge=0, le=1)


class Settings(_Section):
    database: DatabaseSettings = DatabaseSettings()
    security: SecuritySettings
    server: ServerSettings = ServerSettings()
    shopify: ShopifyAppSettings = ShopifyAppSettings()
    inbox: InboxSettings = InboxSettings()
    logging: LoggingSettings = LoggingSettings()
    jobs: JobsSettings = JobsSettings()


def _apply_env(raw: dict[str, Any], environ: dict[str, str]) -> dict[str, Any]:
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in raw.items()}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX):].lower().partition("__")
        merged.setdefault(section, {})[key] = value
    return merged


def _explain(error: ValidationError) -> str:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    section, _, field = key.partition(".")
    if not field and first["type"] == "missing":
        model = Settings.model_fields[section].annotation
        needed = [name for name, info in model.model_fields.items() if info.is_required()]
        envs = ", ".join(f"{ENV_PREFIX}{section.upper()}__{name.upper()}" for name in needed)
        return f"config error: [{section}] is missing: set {', '.join(needed)} (or {envs})"
    env = f"{ENV_PREFIX}{section.upper()}__{field.upper()}" if field else ""
    where = f"[{section}] {field}" if field else f"[{section}]"
    fix = f" (set it in the config file or {env})" if env else ""
    return f"config error: {where}: {first['msg']}{fix}"


def load_settings(
    path: str | os.PathLike[str] | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Read, merge and validate; raise ConfigError with one readable line on any problem."""
    environ = dict(os.environ if environ is None else environ)
    raw: dict[str, Any] = {}
    path = path or environ.get(CONFIG_ENV)
    if path:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"config error: file {path} not found (copy config.example.toml or set {CONFIG_ENV})"
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config error: {path} is not valid TOML: {exc}") from None
    try:
        return Settings.model_validate(_apply_env(raw, environ))
    except ValidationError as exc:
        raise ConfigError(_explain(exc)) from None


def generate_key() -> str:
    return Fernet.generate_key().decode()
