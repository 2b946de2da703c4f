"""Pushing to Mailchimp: batches and their per-operation results, retries, limits, events, erasure."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests

from connectors.mailchimp.connector import MailchimpConnector
from connectors.mailchimp.mapping import MERGE_FIELDS, merge_values, subscriber_hash
from connectors.sdk import (
    ApiError,
    AttributeUpdate,
    AuthError,
    ContactRef,
    LoyaltyEvent,
    RetryPolicy,
)


def _updates(count: int, **overrides) -> list[AttributeUpdate]:
    return [
        AttributeUpdate(ContactRef(i, f"shopper{i}@example.com"),
                        {"points_balance": i, "tier": "Gold", "points_expiring_at": "2027-03-01",
                         **overrides})
        for i in range(count)
    ]


def test_large_push_goes_through_batches_and_checks_each_result(fake, make_connector):
    connector = make_connector()
    fake.add_member("shopper3@example.com", "unsubscribed")
    updates = _updates(120)
    updates[7] = AttributeUpdate(updates[7].contact, {"points_expiring_at": "next tuesday"})
    connector.sender.batch_size = 50
    result = connector.push_attributes(updates)
    assert result.batches == 3 and result.sent == 119
    [(ref, reason)] = result.failed
    assert ref.customer_id == 7 and "PTS_EXP" in reason and reason.startswith("400")
    # the work went through batch operations, not one HTTP call per member
    assert len(fake.requests("POST", "/batches")) == 3 and not fake.requests("PUT", in_batch=False)
    assert len(fake.requests("PUT", "/members/", in_batch=True)) == 120
    assert fake.member("shopper3@example.com").status == "unsubscribed"
    assert fake.member("shopper4@example.com").status == "transactional"
    assert fake.member("shopper4@example.com").merge_fields["POINTS"] == 4


def test_operations_failing_transiently_in_a_batch_are_sent_again(fake, make_connector):
    connector = make_connector()
    fake.inject(503, times=5, path="/members/", in_batch=True)
    fake.inject(429, times=2, path="/members/", in_batch=True)
    result = connector.push_attributes(_updates(60))
    assert result.sent == 60 and not result.failed
    assert result.batches == 2  # the first batch, then one with the seven failed operations
    assert len(fake.requests("PUT", in_batch=True)) == 67


def test_transient_failures_past_the_retry_rounds_are_reported(fake, make_connector):
    connector = make_connector()
    fake.inject(503, times=1000, path=f"/members/{subscriber_hash('shopper1@example.com')}",
                in_batch=True)
    result = connector.push_attributes(_updates(60))
    assert result.sent == 59 and [ref.customer_id for ref, _ in result.failed] == [1]
    assert result.batches == 3  # first batch and two retry rounds


def test_retry_after_is_obeyed_and_direct_calls_retried(fake, make_connector):
    waits: list[float] = []
    connector = make_connector(RetryPolicy(sleep=waits.append))
    fake.inject(429, retry_after=3, path="/merge-fields")
    fake.inject(503, path="/members/", method="PUT")
    result = connector.push_attributes(_updates(3))
    assert result.sent == 3 and waits[0] == 3.0 and len(waits) == 2
    assert connector.stats.throttled == 1 and connector.stats.retries == 2


def test_wrong_key_is_an_auth_error(fake):
    wrong = MailchimpConnector(MailchimpConnector.Settings(
        api_key="0" * 32 + "-us21", list_id=fake.list_id, api_url=fake.url))
    with pytest.raises(AuthError):
        wrong.check()
    with pytest.raises(ValueError, match="data center"):
        MailchimpConnector.Settings(api_key="no-datacenter-", list_id="x")


def test_existing_merge_fields_are_reused_and_tags_are_short(fake, make_connector):
    connector = make_connector()
    fake.audience.add_merge_field("POINTS", "Points (made by hand)", "number")
    connector.push_attributes(_updates(2))
    created = [r.body["tag"] for r in fake.requests("POST", "/merge-fields")]
    assert created == ["PTS_EXP", "TIER"]
    assert all(len(tag) <= 10 for tag in fake.audience.merge_fields)
    with pytest.raises(ApiError) as refused:
        connector.api.call(lambda: connector.api.client.lists.add_list_merge_field(
            fake.list_id, {"tag": "LOYALTYPOINTS", "name": "x", "type": "number"}))
    assert refused.value.status == 400 and "10 characters" in refused.value.body


def test_member_events_for_journeys(fake, make_connector):
    connector = make_connector()
    fake.add_member("ada@example.com", "subscribed")
    event = LoyaltyEvent("ledger:42", "Points Earned", ContactRef(1, "ada@example.com"),
                         datetime(2026, 11, 1, 12, tzinfo=UTC), {"points": 25, "order": "#1001"})
    missing = LoyaltyEvent("ledger:43", "Tier Changed", ContactRef(2, "nobody@example.com"),
                           datetime(2026, 11, 1, 12, tzinfo=UTC))
    result = connector.push_events([event, missing])
    assert result.sent == 1 and [ref.customer_id for ref, _ in result.failed] == [2]
    [sent] = fake.member("ada@example.com").events
    assert sent["name"] == "points_earned"
    assert sent["properties"] == {"points": "25", "order": "#1001", "event_id": "ledger:42"}


def test_erase_contact_deletes_permanently(fake, make_connector):
    connector = make_connector()
    fake.add_member("gone@example.com", "subscribed")
    connector.erase_contact(ContactRef(1, "Gone@Example.com"))
    assert fake.member("gone@example.com") is None
    assert fake.requests("POST", "/actions/delete-permanent")
    connector.erase_contact(ContactRef(1, "gone@example.com"))  # already gone: fine


def test_register_webhooks_puts_the_secret_in_the_url(fake, make_connector):
    connector = make_connector()
    topics = connector.register_webhooks("https://loyalty.example.com/webhooks/mailchimp")
    assert set(topics) == {"subscribe", "unsubscribe", "profile", "upemail", "cleaned"}
    [hook] = fake.audience.webhooks
    assert hook["url"] == f"https://loyalty.example.com/webhooks/mailchimp/{connector.webhook_secrets()[0]}"
    assert hook["sources"]["api"] is False

    # Mailchimp refuses a second webhook with the same URL: registering again updates the one there.
    hook["events"]["profile"] = False  # say the merchant switched an event off in Mailchimp
    connector.register_webhooks("https://loyalty.example.com/webhooks/mailchimp")
    [again] = fake.audience.webhooks
    assert again["id"] == hook["id"] and again["events"]["profile"] is True
    assert fake.requests("PATCH", f"/webhooks/{hook['id']}")


def test_fake_refuses_more_than_ten_simultaneous_connections(fake, make_connector):
    fake.latency = 0.3
    connector = make_connector()
    url = f"{fake.url}/lists/{fake.list_id}"
    with ThreadPoolExecutor(max_workers=14) as pool:
        codes = list(pool.map(lambda _: requests.get(url, auth=("x", fake.api_key), timeout=10).status_code,
                              range(14)))
    assert sorted(codes).count(429) == 4 and codes.count(200) == 10

    # the connector's direct calls never exceed its limit (5 by default, 10 at most)
    fake.latency, fake.max_in_flight = 0.05, 0
    fake.log.clear()
    result = connector.push_attributes(_updates(30))  # fewer than 50: direct calls, at once
    assert result.sent == 30
    assert fake.max_in_flight == connector.settings.max_connections
    assert not [r for r in fake.log if r.status == 429]


def test_attributes_become_merge_values():
    values = merge_values({"points_balance": 10, "tier": None, "predicted_clv": Decimal("412.50"),
                           "points_expiring_at": "2027-01-31", "not_a_merge_field": 1})
    assert values == {"POINTS": 10, "TIER": "", "CLV": 412.5, "PTS_EXP": "2027-01-31"}
    assert all(len(field.tag) <= 10 for field in MERGE_FIELDS.values())
