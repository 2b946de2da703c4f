"""The fake answers as Klaviyo documents, and the connector reacts as it should: auth, revision,
schemas, limits, rate limits with Retry-After, async jobs, event dedup, erasure, webhooks."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest
import requests

from connectors.klaviyo.connector import REVISION, KlaviyoConnector
from connectors.klaviyo.fake import SPEC_REVISION, FakeKlaviyo
from connectors.sdk import (
    ApiError,
    AttributeUpdate,
    AuthError,
    ContactRef,
    LoyaltyEvent,
    RetriableError,
    RetryPolicy,
    SegmentChange,
)

KEY = "pk_test_sadakat"


def call(fake: FakeKlaviyo, method: str, path: str, *, key: str = KEY, revision: str | None = REVISION,
         json_body=None, params=None) -> requests.Response:
    headers = {"Authorization": f"Klaviyo-API-Key {key}", "Content-Type": "application/vnd.api+json"}
    if revision is not None:
        headers["revision"] = revision
    return requests.request(method, f"{fake.url}{path}", headers=headers, json=json_body,
                            params=params, timeout=10)


def error_of(response: requests.Response) -> dict:
    [error] = response.json()["errors"][:1]
    assert set(error) >= {"id", "status", "code", "title", "detail", "source"}
    assert error["status"] == response.status_code
    return error


def connector(fake: FakeKlaviyo, sleeps=None, **settings) -> KlaviyoConnector:
    return KlaviyoConnector(
        KlaviyoConnector.Settings(api_key=KEY, base_url=fake.url, poll_interval=0.01, **settings),
        policy=RetryPolicy(sleep=sleeps) if sleeps is not None else None,
    )


def test_the_connector_pins_the_spec_revision():
    assert REVISION == SPEC_REVISION == "2026-07-15"


def test_auth_and_revision_are_required(fake):
    assert call(fake, "GET", "/api/profiles").status_code == 200
    refused = call(fake, "GET", "/api/profiles", key="pk_wrong")
    assert refused.status_code == 401 and error_of(refused)["code"] == "not_authenticated"
    missing = call(fake, "GET", "/api/profiles", revision=None)
    assert missing.status_code == 400 and error_of(missing)["source"] == {"header": "revision"}
    assert call(fake, "GET", "/api/profiles", revision="2099-01-15").status_code == 400
    assert call(fake, "GET", "/api/profiles", revision="July 2026").status_code == 400
    with pytest.raises(AuthError):
        KlaviyoConnector(KlaviyoConnector.Settings(api_key="pk_wrong", base_url=fake.url)).check()


def test_bodies_are_checked_against_the_spec(fake):
    bad_type = call(fake, "POST", "/api/lists", json_body={"data": {"type": "lists", "attributes": {"name": "x"}}})
    assert bad_type.status_code == 400 and error_of(bad_type)["source"]["pointer"] == "/data/type"
    no_name = call(fake, "POST", "/api/lists", json_body={"data": {"type": "list", "attributes": {}}})
    assert no_name.status_code == 400 and "name" in error_of(no_name)["detail"]
    event_without_metric = call(fake, "POST", "/api/events", json_body={"data": {"type": "event", "attributes": {
        "properties": {}, "profile": {"data": {"type": "profile", "attributes": {"email": "a@b.co"}}}}}})
    assert event_without_metric.status_code == 400
    plain_text = requests.post(f"{fake.url}/api/lists", data="{}", timeout=10, headers={
        "Authorization": f"Klaviyo-API-Key {KEY}", "revision": REVISION, "Content-Type": "text/plain"})
    assert plain_text.status_code == 415


def test_limits(fake):
    assert call(fake, "GET", "/api/profiles", params={"page[size]": "101"}).status_code == 400
    profiles = [{"type": "profile", "attributes": {"email": f"p{i}@example.com"}} for i in range(10_001)]
    too_many = call(fake, "POST", "/api/profile-bulk-import-jobs", json_body={"data": {
        "type": "profile-bulk-import-job", "attributes": {"profiles": {"data": profiles}}}})
    assert too_many.status_code == 400 and "10000" in error_of(too_many)["detail"]
    created = call(fake, "POST", "/api/lists", json_body={"data": {"type": "list", "attributes": {"name": "x"}}})
    list_id = created.json()["data"]["id"]
    members = [{"type": "profile", "id": f"01KP{i:022d}"} for i in range(1001)]
    too_many = call(fake, "POST", f"/api/lists/{list_id}/relationships/profiles", json_body={"data": members})
    assert too_many.status_code == 400 and "1000" in error_of(too_many)["detail"]
    big = [{"type": "profile", "attributes": {"email": f"p{i}@example.com", "properties": {"pad": "x" * 600}}}
           for i in range(9000)]
    too_large = call(fake, "POST", "/api/profile-bulk-import-jobs", json_body={"data": {
        "type": "profile-bulk-import-job", "attributes": {"profiles": {"data": big}}}})
    assert too_large.status_code == 413


def test_rate_limits_come_from_the_spec_with_retry_after(fake):
    assert call(fake, "GET", "/api/accounts").status_code == 200  # get_accounts: burst 1/s
    throttled = call(fake, "GET", "/api/accounts")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
    assert error_of(throttled)["code"] == "throttled"


def test_429_waits_for_retry_after_then_succeeds(fake, sleeps):
    klaviyo = connector(fake, sleeps)
    fake.inject("bulk_import_profiles", 429, retry_after=7)
    result = klaviyo.push_attributes([AttributeUpdate(ContactRef(1, fake.email(1)), {"points_balance": 5})])
    assert result.sent == 1 and sleeps.waits[0] == 7.0
    assert klaviyo.stats.throttled == 1 and klaviyo.stats.retries == 1
    assert len(fake.calls("bulk_import_profiles")) == 2  # once refused, once accepted: one job


def test_transient_errors_are_retried_and_fatal_ones_are_not(fake, sleeps):
    klaviyo = connector(fake, sleeps)
    fake.inject("get_profiles", 503, times=2)
    assert len(list(klaviyo.pull("profiles", None))) == 1
    fake.inject("get_profiles", 400)
    with pytest.raises(ApiError) as refused:
        list(klaviyo.pull("profiles", None))
    assert refused.value.status == 400 and not isinstance(refused.value, RetriableError)
    assert len(fake.calls("get_profiles")) == 4


def test_a_timeout_is_retried(fake, sleeps):
    klaviyo = connector(fake, sleeps, timeout=0.3)
    fake.inject("get_profiles", None, delay=1.0)
    [page] = klaviyo.pull("profiles", None)
    assert len(page.records) == 60 and klaviyo.stats.retries == 1


def test_unreachable_klaviyo_is_retriable(sleeps):
    with FakeKlaviyo(profiles=1) as gone:
        url = gone.url
    klaviyo = KlaviyoConnector(KlaviyoConnector.Settings(api_key=KEY, base_url=url, timeout=2.0),
                               policy=RetryPolicy(attempts=2, sleep=sleeps))
    with pytest.raises(RetriableError):
        klaviyo.check()


def test_bulk_import_runs_asynchronously(fake):
    fake.job_delay = 0.2
    klaviyo = connector(fake)
    result = klaviyo.push_attributes([AttributeUpdate(ContactRef(n, fake.email(n)), {"tier": "Gold"}) for n in range(3)])
    assert result.sent == 3 and result.batches == 1
    polls = fake.calls("get_bulk_import_profiles_job")
    assert len(polls) >= 2  # seen queued or processing before complete


def test_events_are_sent_once_per_id(fake):
    klaviyo = connector(fake)
    when = datetime(2026, 11, 1, tzinfo=UTC)
    events = [
        LoyaltyEvent("sadakat:earn:1", "Points Earned", ContactRef(1, fake.email(1)), when, {"points": 40}),
        LoyaltyEvent("sadakat:tier:1", "Tier Changed", ContactRef(1, fake.email(1)), when, {"tier": "Gold"}),
    ]
    assert klaviyo.push_events(events).sent == 2
    assert klaviyo.push_events(events[:1]).sent == 1  # a retried send
    assert len(fake.calls("create_event")) == 3
    assert sorted(e["metric"] for e in fake.store.events.values()) == ["Points Earned", "Tier Changed"]
    assert fake.store.events["sadakat:earn:1"]["properties"] == {"points": 40}


def test_erasure_files_a_deletion_job(fake):
    klaviyo = connector(fake)
    email = fake.email(4)
    klaviyo.erase_contact(ContactRef(4, email))
    [request] = fake.calls("request_profile_deletion")
    assert request.status == 202
    assert request.body["data"]["attributes"]["profile"]["data"]["attributes"] == {"email": email}
    for _ in range(100):
        if fake.store.find(email=email) is None:
            break
        time.sleep(0.01)
    assert email not in {r.email for page in klaviyo.pull("profiles", None) for r in page.records}


def test_segment_lookup_by_email_and_unknown_contacts(fake):
    klaviyo = connector(fake)
    refs = [ContactRef(1, fake.email(1)), ContactRef(2, "nobody@example.com"), ContactRef(3, None)]
    result = klaviyo.push_segment(SegmentChange("Lapsed", added=refs))
    assert result.sent == 1
    assert [ref.customer_id for ref, _ in result.failed] == [2]  # no profile yet: next push
    assert [(ref.customer_id, refusal.reason) for ref, refusal in result.refused] == [(3, "no_address")]
    assert fake.list_members("Sadakat: Lapsed") == {fake.email(1)}
    again = connector(fake)  # a new process finds the list by name instead of making another
    again.push_segment(SegmentChange("Lapsed", added=refs[:1]))
    assert len(fake.calls("create_list")) == 1


def test_register_webhooks_subscribes_the_consent_topics(fake):
    klaviyo = connector(fake, webhook_secret="whsec-" + uuid.uuid4().hex)
    topics = klaviyo.register_webhooks("https://loyalty.example.com/webhooks/klaviyo/7")
    [hook] = fake.store.webhooks.values()
    assert hook["endpoint_url"] == "https://loyalty.example.com/webhooks/klaviyo/7"
    assert sorted(hook["topics"]) == topics and "event:klaviyo.unsubscribed_from_email_marketing" in topics
    assert hook["secret_key"] == klaviyo.webhook_secrets()[0]

    # Registering again with a rotated secret updates that webhook rather than adding a second.
    rotated = connector(fake, webhook_secret="whsec-" + uuid.uuid4().hex)
    rotated.register_webhooks("https://loyalty.example.com/webhooks/klaviyo/7")
    [again] = fake.store.webhooks.values()
    assert again["secret_key"] == rotated.webhook_secrets()[0] and again["enabled"] is True
    assert len(fake.calls("create_webhook")) == 1 and len(fake.calls("update_webhook")) == 1


def test_bulk_imports_split_at_the_payload_limit(fake):
    """Big properties (long segment lists) hit the 5 MB job limit before 10,000 profiles."""
    klaviyo = connector(fake)
    segments = [f"segment-{n:04d}-" + "x" * 80 for n in range(100)]  # ~10 KB per profile
    updates = [AttributeUpdate(ContactRef(n, f"big{n}@example.com"), {"segments": segments})
               for n in range(600)]
    result = klaviyo.push_attributes(updates)
    assert result.sent == 600 and result.failed == [] and result.batches == 2
    sizes = [len(e.body["data"]["attributes"]["profiles"]["data"]) for e in fake.calls("bulk_import_profiles")]
    assert sum(sizes) == 600 and all(e.status == 202 for e in fake.calls("bulk_import_profiles"))
    assert fake.properties_of("big599@example.com")["segments"] == segments
