"""Mailchimp audience webhooks: form-encoded POSTs, authenticated by a secret in the URL.

Mailchimp signs nothing. We register ``{receiver URL}/{webhook_secret}`` and ``verify`` compares
the URL's last path segment (given by the receiver under ``REQUEST_PATH_HEADER``) with the
connection's secret in constant time. Mailchimp checks a URL with a GET before it saves it; the
receiver answers that GET with 200.

A delivery is ``type`` (subscribe, unsubscribe, profile, upemail, cleaned), ``fired_at``
(``YYYY-MM-DD HH:MM:SS``, UTC) and ``data[...]`` fields (``data[email]``, ``data[list_id]``,
``data[old_email]``/``data[new_email]``, ``data[merges][FNAME]`` …). Mailchimp gives no delivery
id; a resent delivery has the same body, so the body's hash deduplicates it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import parse_qs

from connectors.sdk import (
    REQUEST_PATH_HEADER,
    Consent,
    ConsentChanged,
    EmailChanged,
    Event,
    WebhookDelivery,
    WebhookHandler,
    WebhookRejected,
)

TOPICS = ("subscribe", "unsubscribe", "profile", "upemail", "cleaned")


def _form(body: bytes) -> dict[str, str]:
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError as exc:
        raise ValueError(f"not a form-encoded Mailchimp webhook: {exc}") from None
    return {key: values[0] for key, values in fields.items()}


def _fired_at(form: Mapping[str, str]) -> datetime:
    try:
        return datetime.strptime(form["fired_at"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except (KeyError, ValueError):
        raise ValueError("fired_at missing or not 'YYYY-MM-DD HH:MM:SS'") from None


def _required(form: Mapping[str, str], key: str) -> str:
    value = form.get(key, "").strip()
    if not value:
        raise ValueError(f"{key} missing")
    return value


def _consent(consent: Consent) -> Callable[[Mapping[str, str]], list[Event]]:
    def parse(form: Mapping[str, str]) -> list[Event]:
        return [ConsentChanged(email=_required(form, "data[email]"), consent=consent,
                               changed_at=_fired_at(form))]
    return parse


def _email_changed(form: Mapping[str, str]) -> list[Event]:
    return [EmailChanged(old_email=_required(form, "data[old_email]"),
                         new_email=_required(form, "data[new_email]"))]


def _profile(form: Mapping[str, str]) -> list[Event]:
    """Name and merge-field edits: nothing Sadakat keeps from Mailchimp."""
    return []


PARSERS: dict[str, Callable[[Mapping[str, str]], list[Event]]] = {
    "subscribe": _consent(Consent.SUBSCRIBED),
    # ``data[action]`` is "unsub" or "delete" (archived); either way no more marketing mail.
    "unsubscribe": _consent(Consent.UNSUBSCRIBED),
    "cleaned": _consent(Consent.CLEANED),
    "upemail": _email_changed,
    "profile": _profile,
}


class MailchimpWebhooks(WebhookHandler):
    platform: ClassVar[str] = "mailchimp"

    def identify(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        try:
            form = _form(body)
        except ValueError as exc:
            raise WebhookRejected(str(exc)) from None
        topic = form.get("type", "")
        if not topic:
            raise WebhookRejected("no 'type' field: not a Mailchimp webhook")
        return WebhookDelivery(
            topic=topic,
            delivery_id=hashlib.sha256(body).hexdigest(),
            external_id=form.get("data[list_id]") or None,
        )

    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str]) -> bool:
        path = next((v for k, v in headers.items() if k.lower() == REQUEST_PATH_HEADER.lower()), "")
        given = path.rstrip("/").rpartition("/")[2].encode()
        return bool(given) and any(
            hmac.compare_digest(given, secret.encode()) for secret in secrets if secret
        )

    def parse(self, topic: str, body: bytes) -> list[Event]:
        parser = PARSERS.get(topic)
        if parser is None:
            return []  # e.g. "campaign": acknowledged, nothing for us
        return parser(_form(body))
