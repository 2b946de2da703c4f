"""Klaviyo system webhooks: consent changes made inside Klaviyo reach the customer.

What Klaviyo documents (developers.klaviyo.com, "Working with system webhooks"): a request
carries the headers ``Klaviyo-Webhook-Id``, ``Klaviyo-Signature`` and ``Klaviyo-Timestamp``; the
body is ``{"data": [{"topic", "external_id", "payload"}], "meta": {"klaviyo_account_id",
"klaviyo_webhook_id", "timestamp"}}`` where each ``payload`` has the shape of a Get Event
response, and ``meta.klaviyo_webhook_id`` must equal the ``Klaviyo-Webhook-Id`` header. The
signature is the hex HMAC-SHA256, keyed with the webhook's ``secret_key`` (at least 16
characters), of the raw body followed by the ``Klaviyo-Timestamp`` value (the guide's
verification section as summarised by hookdeck/webhook-skills "klaviyo-webhooks"; the project's
platform-apis.md marks that detail as secondary). Flow "Webhook" actions are not signed and
are not accepted here.

Topics mapped to consent (the "Common webhook topics" table): subscribed / unsubscribed from
email marketing, manually suppressed, marked as spam and bounced (Klaviyo suppresses an
address on a hard bounce; should a soft bounce arrive, the next profile pull, which reads the
real suppression list, sets it right). An unsuppression only lifts the block and says nothing
about consent, so it is left to the next pull too. Other topics are acknowledged and produce no
event.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from connectors.sdk import Consent, ConsentChanged, Event, WebhookDelivery, WebhookHandler, WebhookRejected

TOPIC_CONSENT: dict[str, Consent] = {
    "event:klaviyo.subscribed_to_email_marketing": Consent.SUBSCRIBED,
    "event:klaviyo.unsubscribed_from_email_marketing": Consent.UNSUBSCRIBED,
    "event:klaviyo.manually_suppressed_from_email_marketing": Consent.SUPPRESSED,
    "event:klaviyo.marked_email_as_spam": Consent.SUPPRESSED,
    "event:klaviyo.bounced_email": Consent.SUPPRESSED,
}


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return ""


def sign(secret: str, body: bytes, timestamp: str) -> str:
    return hmac.new(secret.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


class KlaviyoWebhooks(WebhookHandler):
    platform = "klaviyo"

    def identify(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        webhook_id = _header(headers, "Klaviyo-Webhook-Id")
        if not webhook_id or not _header(headers, "Klaviyo-Signature") or not _header(headers, "Klaviyo-Timestamp"):
            raise WebhookRejected("missing Klaviyo-Webhook-Id, Klaviyo-Signature or Klaviyo-Timestamp")
        try:
            payload = json.loads(body)
            items = payload["data"]
            meta = payload["meta"]
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected(f"not a Klaviyo system webhook body: {exc}") from exc
        if meta.get("klaviyo_webhook_id") != webhook_id:
            raise WebhookRejected("meta.klaviyo_webhook_id does not match Klaviyo-Webhook-Id")
        topics = sorted({str(item.get("topic", "")) for item in items})
        delivery = ",".join(sorted(str(item.get("external_id", "")) for item in items))
        return WebhookDelivery(
            topic=topics[0] if len(topics) == 1 else "batch",
            delivery_id=f"{webhook_id}:{delivery}",
            external_id=meta.get("klaviyo_account_id"),
        )

    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str]) -> bool:
        signature = _header(headers, "Klaviyo-Signature")
        timestamp = _header(headers, "Klaviyo-Timestamp")
        if not signature or not timestamp:
            return False
        return any(hmac.compare_digest(sign(secret, body, timestamp), signature) for secret in secrets if secret)

    def parse(self, topic: str, body: bytes) -> list[Event]:
        """One ``ConsentChanged`` per consent item; raises ``ValueError`` for an unreadable body."""
        try:
            items = json.loads(body)["data"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"unreadable Klaviyo webhook: {exc}") from exc
        events: list[Event] = []
        for item in items:
            consent = TOPIC_CONSENT.get(item.get("topic", ""))
            if consent is None:
                continue
            email, changed_at = _email_and_time(item.get("payload") or {})
            if not email:
                raise ValueError(f"consent webhook {item.get('external_id')} names no e-mail")
            events.append(ConsentChanged(email=email, consent=consent, changed_at=changed_at))
        return events


def _email_and_time(payload: Mapping[str, Any]) -> tuple[str | None, datetime]:
    """The profile's e-mail from the included profile (else the event's properties) and when
    the event happened."""
    event = payload.get("data") or {}
    attributes = event.get("attributes") or {}
    profile_id = (((event.get("relationships") or {}).get("profile") or {}).get("data") or {}).get("id")
    email = None
    for included in payload.get("included") or []:
        if included.get("type") == "profile" and (profile_id is None or included.get("id") == profile_id):
            email = (included.get("attributes") or {}).get("email")
            break
    properties = attributes.get("event_properties") or {}
    email = email or properties.get("email_address") or properties.get("$email")
    if attributes.get("datetime"):
        changed_at = datetime.fromisoformat(attributes["datetime"])
    elif attributes.get("timestamp") is not None:
        changed_at = datetime.fromtimestamp(int(attributes["timestamp"]), UTC)
    else:
        raise ValueError("consent webhook without an event time")
    if changed_at.tzinfo is None:
        changed_at = changed_at.replace(tzinfo=UTC)
    return email, changed_at
