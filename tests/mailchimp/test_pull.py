"""Pulling contacts: full pages of 1000, incremental by ``since_last_changed``, resume after a crash."""

from __future__ import annotations

import json
import random

import pytest
from sqlmodel import select

from connectors.sdk import Consent, CustomerRecord, CustomerUpserted, RetriableError, RetryPolicy
from integration.accounts import add_connection
from integration.events import apply_event
from integration.models import Customer, CustomerIdentity, SyncCursor
from integration.sync import sync_stream


def test_contacts_page_by_1000_and_then_only_changes(fake, make_connector):
    fake.audience.seed(random.Random(5), 2500)
    connector = make_connector()
    pages = list(connector.pull("contacts", None))
    assert [len(p.records) for p in pages] == [1000, 1000, 500]
    statuses = {r.consent for p in pages for r in p.records}
    assert statuses == {Consent.SUBSCRIBED, Consent.UNSUBSCRIBED, Consent.CLEANED, Consent.UNKNOWN}
    gets = fake.requests("GET", "/members")
    assert len(gets) == 3 and all(g.query["count"] == "1000" for g in gets)
    assert len({r.email for p in pages for r in p.records}) == 2500
    watermark = pages[-1].cursor

    fake.log.clear()
    fake.add_member("new@example.com", "subscribed")
    later = list(connector.pull("contacts", watermark))
    emails = [r.email for p in later for r in p.records]
    assert "new@example.com" in emails and len(emails) < 10
    assert fake.requests("GET", "/members")[0].query["since_last_changed"] == json.loads(watermark)["since"]


def test_sync_resumes_after_a_crash_without_duplicates_or_gaps(engine, session, box, account, fake,
                                                              connection, connector):
    fake.audience.seed(random.Random(5), 150)
    connector.page_size = 50
    store = add_connection(session, box, account, platform="shopify",
                           external_id=f"shop-{account.id}.myshopify.com", credentials={"token": "x"})
    emails = [f"member{i}@example.com" for i in range(0, 150, 5)]  # customers spread over all pages
    for email in emails:
        apply_event(session, account, store, CustomerUpserted(customer=CustomerRecord(email=email)))
    session.commit()

    # page 2 fails on every attempt of this run
    fake.inject(500, times=RetryPolicy().attempts, after=1, path="/members", method="GET")
    with pytest.raises(RetriableError):
        sync_stream(engine, connection.id, connector, "contacts")
    session.rollback()
    cursor = json.loads(session.exec(
        select(SyncCursor).where(SyncCursor.connection_id == connection.id)).one().value)

    fake.log.clear()
    result = sync_stream(engine, connection.id, connector, "contacts")
    resumed = fake.requests("GET", "/members")[0].query
    assert (resumed["since_last_changed"], int(resumed["offset"])) == (cursor["since"], cursor["offset"])
    assert result.records == 100

    session.rollback()
    linked = session.exec(select(CustomerIdentity).where(CustomerIdentity.connection_id == connection.id)).all()
    assert len(linked) == len(emails) == len({i.customer_id for i in linked})
    customers = session.exec(select(Customer).where(Customer.account_id == account.id)).all()
    assert len(customers) == len(emails)  # contacts never create customers
    expected = {m.email: m.status for m in fake.audience.members.values()}
    for customer in customers:
        status = expected[customer.email]
        assert customer.consent == (status if status in ("subscribed", "unsubscribed", "cleaned") else "unknown")


def test_a_member_changing_mid_read_does_not_hide_another(fake, make_connector):
    """Offsets alone would skip one member for every member edited during the read."""
    fake.audience.seed(random.Random(9), 250)
    connector = make_connector()
    connector.page_size = 100
    seen: list[str] = []
    for number, page in enumerate(connector.pull("contacts", None)):
        seen += [r.email for r in page.records]
        if number == 0:
            fake.add_member(page.records[10].email, "unsubscribed")  # edited: moves to the end
    assert set(seen) == {m.email for m in fake.audience.members.values()}


def test_members_changed_in_the_same_second_are_all_read(fake, make_connector):
    for i in range(230):  # a bulk import: one second for all
        fake.add_member(f"bulk{i}@example.com", "subscribed")
    connector = make_connector()
    connector.page_size = 100
    pages = list(connector.pull("contacts", None))
    assert sorted(len(p.records) for p in pages) == [30, 100, 100]
    assert len({r.email for p in pages for r in p.records}) == 230
