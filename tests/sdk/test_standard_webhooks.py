"""The generic store's signatures match the Standard Webhooks reference implementation.

The vector is the one of the reference Python library's ``test_sign_function``
(github.com/standard-webhooks/standard-webhooks, libraries/python/tests/test_webhooks.py)."""

from __future__ import annotations

import pytest

from sadakat_generic_store.signing import secret_key, sign, signature, verify

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
STAMP = 1614265330
BODY = b'{"test": 2432232314}'
EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_reference_vector():
    assert signature(SECRET, MSG_ID, STAMP, BODY) == EXPECTED
    headers = {"webhook-id": MSG_ID, "webhook-timestamp": str(STAMP), "webhook-signature": EXPECTED}
    assert verify(headers, BODY, [SECRET], now=STAMP + 10)


def test_several_signatures_one_valid_and_other_versions_ignored():
    headers = {"Webhook-Id": MSG_ID, "Webhook-Timestamp": str(STAMP), "Webhook-Signature": " ".join([
        "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
        "v2," + EXPECTED.split(",")[1],
        EXPECTED,
    ])}
    assert verify(headers, BODY, [SECRET], now=STAMP)
    headers["Webhook-Signature"] = "v2," + EXPECTED.split(",")[1]
    assert not verify(headers, BODY, [SECRET], now=STAMP)


@pytest.mark.parametrize("offset", [-301, 301])
def test_timestamps_outside_five_minutes_are_refused(offset):
    headers = sign(SECRET, MSG_ID, BODY, timestamp=STAMP)
    assert verify(headers, BODY, [SECRET], now=STAMP + 300)
    assert not verify(headers, BODY, [SECRET], now=STAMP - offset)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers_and_bad_timestamps_are_refused(missing):
    headers = sign(SECRET, MSG_ID, BODY, timestamp=STAMP)
    assert not verify({k: v for k, v in headers.items() if k != missing}, BODY, [SECRET], now=STAMP)
    assert not verify({**headers, "webhook-timestamp": "hello"}, BODY, [SECRET], now=STAMP)


def test_secrets_must_be_whsec_base64_of_16_bytes_or_more():
    assert len(secret_key(SECRET)) == 24
    for bad in ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_c2hvcnQ="):
        with pytest.raises(ValueError):
            secret_key(bad)
