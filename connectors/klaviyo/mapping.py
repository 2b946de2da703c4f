"""Klaviyo JSON to Sadakat records, for pulls and webhooks alike.

Klaviyo keeps e-mail consent in ``subscriptions.email.marketing``: ``consent`` is SUBSCRIBED,
UNSUBSCRIBED or NEVER_SUBSCRIBED, and a non-empty global ``suppression`` list (HARD_BOUNCE,
SPAM_COMPLAINT, USER_SUPPRESSED, INVALID_EMAIL, UNSUBSCRIBE) means Klaviyo will not send
marketing e-mail whatever ``consent`` says, so a suppression wins. NEVER_SUBSCRIBED is "Klaviyo
has no consent on record", which is ``Consent.UNKNOWN``, not a refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from connectors.sdk import Consent, ContactRecord

CONSENTS = {"SUBSCRIBED": Consent.SUBSCRIBED, "UNSUBSCRIBED": Consent.UNSUBSCRIBED}


def parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def email_consent(marketing: Mapping[str, Any] | None) -> Consent:
    if not marketing:
        return Consent.UNKNOWN
    if marketing.get("suppression"):
        return Consent.SUPPRESSED
    return CONSENTS.get(str(marketing.get("consent", "")).upper(), Consent.UNKNOWN)


def contact_record(profile: Mapping[str, Any]) -> ContactRecord | None:
    """A profile resource (fetched with ``additional-fields[profile]=subscriptions``); ``None``
    for profiles without an e-mail (SMS-only), which cannot match a customer."""
    attributes = profile.get("attributes") or {}
    email = attributes.get("email")
    if not email:
        return None
    marketing = ((attributes.get("subscriptions") or {}).get("email") or {}).get("marketing")
    changed = (marketing or {}).get("last_updated") or attributes.get("updated")
    return ContactRecord(
        platform_id=profile.get("id"), email=email, consent=email_consent(marketing),
        updated_at=parse_time(changed),
    )


def property_value(value: Any) -> Any:
    """Loyalty attribute values as Klaviyo profile properties (JSON: dates as ISO strings)."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    return value


def profile_properties(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {key: property_value(value) for key, value in attributes.items()}
