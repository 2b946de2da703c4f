"""Segment definitions from a file (TOML or JSON) or the API, validated before they are stored.

TOML::

    [[segment]]
    name = "Big spenders"
    rule = { metric = "spend", window_days = 365, op = ">=", value = 500 }

JSON: ``{"segment": [{"name": "Big spenders", "rule": {...}}]}``.
"""

from __future__ import annotations

import json
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session, select

from integration.db import utcnow
from integration.errors import RuleError
from integration.models import Segment
from integration.segments.rules import parse_rule


class SegmentDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    rule: dict[str, Any]
    active: bool = True

    @field_validator("rule")
    @classmethod
    def _valid_rule(cls, value: dict[str, Any]) -> dict[str, Any]:
        parse_rule(value)
        return value

    @field_validator("name")
    @classmethod
    def _not_builtin(cls, value: str) -> str:
        if value.startswith("RFM: "):
            raise ValueError("names starting with 'RFM: ' are kept for the built-in RFM groups")
        return value


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    segment: list[SegmentDefinition]


def read_definitions(path: str | Path) -> list[SegmentDefinition]:
    """Parse and validate a definitions file; ``.json`` is JSON, anything else TOML."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RuleError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'TOML'}: {exc}") from None
    return _File.model_validate(data).segment


def save_segment(session: Session, account_id: int, definition: SegmentDefinition,
                 now: datetime | None = None) -> Segment:
    """Create or update the account's segment of that name; a changed rule is recomputed in full
    on the next run (its ``updated_at`` moves past ``computed_at``)."""
    now = now or utcnow()
    segment = session.exec(
        select(Segment).where(Segment.account_id == account_id, Segment.name == definition.name)
    ).first()
    if segment is None:
        segment = Segment(account_id=account_id, name=definition.name, rule=definition.rule,
                          active=definition.active, created_at=now, updated_at=now)
    elif segment.rule != definition.rule or segment.active != definition.active:
        segment.rule, segment.active, segment.updated_at = definition.rule, definition.active, now
    session.add(segment)
    session.flush()
    return segment
