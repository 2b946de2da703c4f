"""Mailchimp shapes ↔ Sadakat records, in one place for pulls, pushes and webhooks."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from connectors.sdk import Consent, ContactRecord

# Mailchimp member status → consent. ``pending`` (double opt-in not confirmed) and
# ``transactional`` (receives only transactional mail; what we create people as) are no marketing
# consent *given here*, so they say nothing that should override what a store knows (UNKNOWN).
CONSENT = {
    "subscribed": Consent.SUBSCRIBED,
    "unsubscribed": Consent.UNSUBSCRIBED,
    "cleaned": Consent.CLEANED,
    "pending": Consent.UNKNOWN,
    "transactional": Consent.UNKNOWN,
    "archived": Consent.UNKNOWN,
}

# Members we create are "transactional": present in the audience for merge fields, tags and
# journeys' data, never subscribed to marketing. ``status`` is never sent for existing members.
STATUS_IF_NEW = "transactional"


@dataclass(frozen=True)
class MergeField:
    tag: str   # at most 10 characters, Mailchimp's limit
    name: str
    type: str  # "number" | "text" | "date"


# The loyalty attributes marketers see, as merge fields created on first use.
MERGE_FIELDS: dict[str, MergeField] = {
    "points_balance": MergeField("POINTS", "Loyalty points", "number"),
    "pending_points": MergeField("PENDING", "Pending loyalty points", "number"),
    "tier": MergeField("TIER", "Loyalty tier", "text"),
    "points_expiring_at": MergeField("PTS_EXP", "Points expiry date", "date"),
    "points_expiring": MergeField("PTS_EXPN", "Points expiring", "number"),
    "predicted_clv": MergeField("CLV", "Predicted lifetime value", "number"),
}


def subscriber_hash(email: str) -> str:
    """Mailchimp's member id: MD5 of the lower-cased e-mail."""
    return hashlib.md5(email.strip().lower().encode()).hexdigest()  # noqa: S324 - not security


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def contact(member: dict[str, Any]) -> ContactRecord:
    """A list member as a contact. ``contact_id`` survives e-mail changes, unlike ``id``."""
    return ContactRecord(
        platform_id=member.get("contact_id") or member["id"],
        email=member["email_address"],
        consent=CONSENT.get(member.get("status", ""), Consent.UNKNOWN),
        updated_at=parse_time(member.get("last_changed")),
    )


def merge_values(attributes: dict[str, Any]) -> dict[str, Any]:
    """Attribute values as merge-field values; ``None`` clears the field (an empty string)."""
    values = {}
    for name, value in attributes.items():
        field = MERGE_FIELDS.get(name)
        if field is None:
            continue
        if value is None:
            value = ""
        elif isinstance(value, Decimal):  # money (predicted CLV): JSON has no decimals
            value = float(value)
        values[field.tag] = value
    return values


_EVENT_NAME = re.compile(r"[^a-z0-9_-]+")


def event_name(name: str) -> str:
    """"Points Earned" → ``points_earned``: Mailchimp event names are 2–30 of [A-Za-z0-9_-]."""
    return _EVENT_NAME.sub("_", name.strip().lower()).strip("_")[:30]


def event_properties(properties: dict[str, Any], event_id: str) -> dict[str, str]:
    """Mailchimp event properties are strings; the event id travels along for traceability."""
    values = {key: "" if value is None else str(value) for key, value in properties.items()}
    values["event_id"] = event_id
    return values
