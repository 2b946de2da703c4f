"""Connect → pull consent → push attributes and segments → delta push → consent by webhook,
all against the fake Klaviyo over real HTTP and the real database."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from connectors.klaviyo.fake import FakeKlaviyo
from connectors.klaviyo.webhooks import KlaviyoWebhooks
from connectors.sdk import ApiError, ContactRef, RetryPolicy, SegmentChange, WebhookRejected
from integration.events import apply_event
from integration.ledger import adjust
from integration.models import Account, Connection, Customer, CustomerIdentity
from integration.push import push_attributes
from integration.records import Consent
from integration.sync import sync_stream

WEBHOOK_SECRET = "whsec-klaviyo-0123456789"  # as the conftest connects

EXPECTED = {
    ("SUBSCRIBED", None): Consent.SUBSCRIBED,
    ("UNSUBSCRIBED", None): Consent.UNSUBSCRIBED,
    ("NEVER_SUBSCRIBED", None): Consent.UNKNOWN,
    ("SUBSCRIBED", "HARD_BOUNCE"): Consent.SUPPRESSED,
    ("SUBSCRIBED", "SPAM_COMPLAINT"): Consent.SUPPRESSED,
    ("UNSUBSCRIBED", "USER_SUPPRESSED"): Consent.SUPPRESSED,
}


def imported_emails(fake, since: int = 0) -> list[str]:
    return [
        profile["attributes"]["email"]
        for entry in fake.calls("bulk_import_profiles")[since:]
        for profile in entry.body["data"]["attributes"]["profiles"]["data"]
    ]


def test_connect_pull_push_delta_and_webhook(engine, session, account, fake, klaviyo, store_customers):
    connection, connector = klaviyo
    assert connection.external_id == fake.account_id
    emails = [fake.email(i) for i in range(40)] + ["new.shopper@example.com"]
    customer_ids = store_customers(emails)
    consent_before = {fake.email(i): fake.consent_of(fake.email(i)) for i in range(len(fake.store))}

    # Pull: every profile is read; the 40 known customers get Klaviyo's consent and profile id.
    result = sync_stream(engine, connection.id, connector, "profiles")
    assert result.records == 60 and result.pages == 1
    session.expire_all()
    customers = {c.email: c for c in session.exec(select(Customer).where(Customer.account_id == account.id))}
    assert len(customers) == 41  # contacts never create customers
    for i in range(40):
        assert customers[fake.email(i)].consent == EXPECTED[fake.consent_of(fake.email(i))]
    assert customers["new.shopper@example.com"].consent == Consent.UNKNOWN
    identities = session.exec(select(CustomerIdentity).where(CustomerIdentity.connection_id == connection.id)).all()
    assert len(identities) == 40

    # Points for everyone, then the first push: one bulk import job carrying all 41 customers,
    # including the one Klaviyo did not know and those without consent.
    for n, cid in enumerate(customer_ids):
        adjust(session, account.id, cid, amount=100 + n, reason="welcome", actor="test")
    session.commit()
    report = push_attributes(engine, connection.id, connector)
    assert report.changed == 41 and report.result.sent == 41 and report.result.failed == []
    assert len(fake.calls("bulk_import_profiles")) == 1
    assert sorted(imported_emails(fake)) == sorted(emails)
    assert fake.properties_of(fake.email(0))["points_balance"] == 100
    assert fake.properties_of("new.shopper@example.com")["points_balance"] == 140
    assert fake.consent_of("new.shopper@example.com") == ("NEVER_SUBSCRIBED", None)

    # Segments as a list, created once by name.
    vip = [ContactRef(cid, email) for cid, email in zip(customer_ids[:5], emails[:5])]
    pushed = connector.push_segment(SegmentChange("VIP", added=vip))
    assert pushed.sent == 5 and pushed.failed == []
    assert fake.list_members("Sadakat: VIP") == set(emails[:5])
    connector.push_segment(SegmentChange("VIP", added=vip[4:], removed=vip[:2]))
    assert fake.list_members("Sadakat: VIP") == set(emails[2:5])
    assert len(fake.calls("create_list")) == 1

    # Change three customers: the delta push sends exactly those three.
    calls_before = len(fake.calls())
    for cid in customer_ids[3:6]:
        adjust(session, account.id, cid, amount=50, reason="bonus", actor="test")
    session.commit()
    report = push_attributes(engine, connection.id, connector)
    assert report.changed == 3 and report.result.sent == 3
    assert sorted(imported_emails(fake, since=1)) == sorted(emails[3:6])
    assert fake.properties_of(emails[4])["points_balance"] == 104 + 50
    assert {e.operation for e in fake.calls()[calls_before:]} == {
        "bulk_import_profiles", "get_bulk_import_profiles_job"}

    # A shopper unsubscribes inside Klaviyo; the signed system webhook reaches the customer.
    target = emails[7]
    changed_at = datetime.now(UTC) + timedelta(seconds=1)
    fake.change_consent(target, "UNSUBSCRIBED", at=changed_at)
    headers, body = fake.system_webhook(WEBHOOK_SECRET, "event:klaviyo.unsubscribed_from_email_marketing",
                                        target, at=changed_at)
    handler = connector.webhooks
    delivery = handler.identify(headers, body)
    assert delivery.external_id == connection.external_id
    assert handler.verify(headers, body, connector.webhook_secrets())
    events = handler.parse(delivery.topic, body)
    acct, conn = session.get(Account, account.id), session.get(Connection, connection.id)
    for event in events:
        apply_event(session, acct, conn, event)
    session.commit()
    session.expire_all()
    assert session.get(Customer, customers[target].id).consent == Consent.UNSUBSCRIBED

    # No push ever changed anyone's subscription: only what the shopper did in Klaviyo differs.
    consent_after = {fake.email(i): fake.consent_of(fake.email(i)) for i in range(len(consent_before))}
    changed = {email for email in consent_before if consent_before[email] != consent_after[email]}
    assert changed <= {target}
    assert not any("subscription" in e.path for e in fake.calls())
    for entry in fake.calls("bulk_import_profiles"):
        for profile in entry.body["data"]["attributes"]["profiles"]["data"]:
            assert set(profile["attributes"]) == {"email", "properties"}


def test_push_with_nothing_changed_makes_no_call(engine, session, account, fake, klaviyo, store_customers):
    connection, connector = klaviyo
    ids = store_customers([fake.email(i) for i in range(10)])
    for cid in ids:
        adjust(session, account.id, cid, amount=10, reason="welcome", actor="test")
    session.commit()
    push_attributes(engine, connection.id, connector)
    before = len(fake.calls())
    report = push_attributes(engine, connection.id, connector)
    assert report.changed == 0 and len(fake.calls()) == before


def test_an_address_klaviyo_refuses_is_kept_out_of_later_pushes(engine, session, account, fake, klaviyo,
                                                                 store_customers):
    connection, connector = klaviyo
    emails = [fake.email(i) for i in range(6)]
    ids = store_customers(emails)
    for cid in ids:
        adjust(session, account.id, cid, amount=10, reason="welcome", actor="test")
    session.commit()
    fake.reject_emails.add(emails[2])
    report = push_attributes(engine, connection.id, connector)
    assert report.result.sent == 5 and report.result.failed == []
    [(ref, refusal)] = report.result.refused
    assert ref.email == emails[2] and refusal.reason == "invalid_address"
    assert "Invalid email" in refusal.detail and report.refused == {"invalid_address": 1}
    assert len(fake.calls("get_errors_for_bulk_import_profiles_job")) == 1

    fake.reject_emails.clear()  # Klaviyo would say the same again: the address is not re-sent
    adjust(session, account.id, ids[2], amount=5, reason="bonus", actor="test")
    session.commit()
    report = push_attributes(engine, connection.id, connector)
    assert report.changed == 0 and report.excluded == 1
    assert len(fake.calls("bulk_import_profiles")) == 1


def test_pull_is_incremental_and_resumes_after_a_crash(engine, session, account, sleeps, connect, store_customers):
    with FakeKlaviyo(seed=3, profiles=250, api_key="pk_test_sadakat", account_id=uuid.uuid4().hex[:6]) as fake:
        connection, connector = connect(fake, RetryPolicy(attempts=2, sleep=sleeps))
        store_customers([fake.email(i) for i in range(0, 250, 5)])
        fake.inject("get_profiles", 500, times=2, after=1)
        with pytest.raises(ApiError) as failure:  # the fake fails past the policy's attempts
            sync_stream(engine, connection.id, connector, "profiles")
        assert failure.value.status == 500
        assert len(fake.calls("get_profiles")) == 3
        result = sync_stream(engine, connection.id, connector, "profiles")
        assert result.pages == 2 and result.records == 150  # resumed after page one
        pulled = [e for e in fake.calls("get_profiles") if e.status == 200]
        assert sum(1 for e in pulled if "page[cursor]" not in e.query) == 1
        identities = session.exec(select(CustomerIdentity).where(CustomerIdentity.connection_id == connection.id)).all()
        assert len(identities) == 50 and len({i.customer_id for i in identities}) == 50

        # The next run asks only for profiles updated since the watermark (less the lag).
        assert fake.consent_of(fake.email(5)) != ("UNSUBSCRIBED", None)
        fake.change_consent(fake.email(5), "UNSUBSCRIBED")
        result = sync_stream(engine, connection.id, connector, "profiles")
        last = fake.calls("get_profiles")[-1]
        assert last.query["filter"].startswith("greater-than(updated,")
        assert 1 <= result.records < 10
        session.rollback()  # end this session's read snapshot to see the sync's commits
        customer = session.exec(select(Customer).where(Customer.account_id == account.id,
                                                       Customer.email == fake.email(5))).one()
        assert customer.consent == Consent.UNSUBSCRIBED


def test_webhook_signature_and_shape_are_checked(fake):
    handler = KlaviyoWebhooks()
    headers, body = fake.system_webhook(WEBHOOK_SECRET, "event:klaviyo.marked_email_as_spam", fake.email(1))
    assert handler.verify(headers, body, ["another-secret-0123456", WEBHOOK_SECRET])
    assert not handler.verify(headers, body + b" ", [WEBHOOK_SECRET])
    assert not handler.verify({**headers, "Klaviyo-Timestamp": "2020-01-01T00:00:00+00:00"}, body, [WEBHOOK_SECRET])
    [event] = handler.parse("event:klaviyo.marked_email_as_spam", body)
    assert event.consent == Consent.SUPPRESSED and event.email == fake.email(1)

    forged = json.loads(body)
    forged["meta"]["klaviyo_webhook_id"] = "someone-else"
    with pytest.raises(WebhookRejected):
        handler.identify(headers, json.dumps(forged).encode())
    with pytest.raises(WebhookRejected):
        handler.identify({}, body)
    headers, body = fake.system_webhook(WEBHOOK_SECRET, "event:klaviyo.opened_email", fake.email(1))
    assert handler.parse("event:klaviyo.opened_email", body) == []
    with pytest.raises(ValueError):
        handler.parse("x", b"not json")
