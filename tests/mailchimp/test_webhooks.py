"""The Mailchimp webhook handler: URL secret, form-encoded payloads → consent and e-mail events."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from connectors.mailchimp.webhooks import MailchimpWebhooks
from connectors.sdk import REQUEST_PATH_HEADER, Consent, ConsentChanged, EmailChanged, WebhookRejected

handler = MailchimpWebhooks()
SECRET = "k9Zq-very-long-secret"


def _body(kind: str, **data: str) -> bytes:
    form = {"type": kind, "fired_at": "2026-11-20 09:30:00", "data[list_id]": "a1b2c3d4e5"}
    form.update({f"data[{key}]": value for key, value in data.items()})
    return urlencode(form).encode()


@pytest.mark.parametrize(("kind", "consent"), [
    ("subscribe", Consent.SUBSCRIBED),
    ("unsubscribe", Consent.UNSUBSCRIBED),
    ("cleaned", Consent.CLEANED),
])
def test_consent_topics(kind, consent):
    body = _body(kind, email="Ada@Example.com", id="8a25ff1d98")
    assert handler.parse(kind, body) == [ConsentChanged(
        email="ada@example.com", consent=consent, changed_at=datetime(2026, 11, 20, 9, 30, tzinfo=UTC))]


def test_email_change_and_profile():
    body = _body("upemail", old_email="old@example.com", new_email="New@example.com",
                 new_id="51aa6b")
    assert handler.parse("upemail", body) == [EmailChanged(old_email="old@example.com",
                                                           new_email="new@example.com")]
    profile = _body("profile", email="ada@example.com", **{"merges][FNAME": "Ada"})
    assert handler.parse("profile", profile) == []
    assert handler.parse("campaign", _body("campaign", subject="Hello")) == []


def test_identify_names_the_audience_and_dedupes_resends():
    body = _body("subscribe", email="ada@example.com")
    delivery = handler.identify({}, body)
    assert (delivery.topic, delivery.external_id) == ("subscribe", "a1b2c3d4e5")
    assert handler.identify({}, body).delivery_id == delivery.delivery_id
    assert handler.identify({}, _body("unsubscribe", email="ada@example.com")).delivery_id != delivery.delivery_id
    with pytest.raises(WebhookRejected):
        handler.identify({}, b"")
    with pytest.raises(WebhookRejected):
        handler.identify({}, b"\xff\xfe not a form")


def test_verify_compares_the_url_secret():
    body = _body("subscribe", email="ada@example.com")
    path = {REQUEST_PATH_HEADER: f"/webhooks/mailchimp/{SECRET}"}
    assert handler.verify(path, body, [SECRET])
    assert handler.verify({REQUEST_PATH_HEADER.lower(): f"/webhooks/mailchimp/{SECRET}/"}, body,
                          ["rotated-new-secret", SECRET])
    assert not handler.verify({REQUEST_PATH_HEADER: "/webhooks/mailchimp/guess"}, body, [SECRET])
    assert not handler.verify({REQUEST_PATH_HEADER: "/webhooks/mailchimp/"}, body, [SECRET])
    assert not handler.verify({}, body, [SECRET])
    assert not handler.verify(path, body, [])


@pytest.mark.parametrize("body", [
    _body("subscribe"),                                            # no e-mail
    urlencode({"type": "subscribe", "data[email]": "a@b.c"}).encode(),  # no fired_at
    _body("upemail", old_email="old@example.com"),                 # no new e-mail
])
def test_malformed_payloads_fail_clearly(body):
    kind = "upemail" if b"upemail" in body else "subscribe"
    with pytest.raises(ValueError):
        handler.parse(kind, body)
