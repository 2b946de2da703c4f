"""Connect → pull consent → push attributes and segments → change some customers → delta push
sends only those → a consent change arrives by webhook; no push ever changes a member's status."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from connectors.mailchimp.mapping import subscriber_hash
from connectors.sdk import REQUEST_PATH_HEADER, Consent, ContactRef, CustomerRecord, CustomerUpserted, SegmentChange
from connectors.sdk.registry import connector_class
from integration import ledger
from integration.accounts import add_connection
from integration.connections import connector_for
from integration.db import utcnow, write_session
from integration.events import apply_event
from integration.models import Account, Connection, Customer
from integration.push import push_attributes
from integration.sync import sync_stream

# e-mail → (consent the store reports, status in Mailchimp or None when not in the audience)
PEOPLE = {
    "ada@example.com": (Consent.UNSUBSCRIBED, "subscribed"),
    "ben@example.com": (Consent.SUBSCRIBED, "unsubscribed"),
    "cem@example.com": (None, "cleaned"),
    "dua@example.com": (Consent.SUBSCRIBED, "pending"),
    "eda@example.com": (Consent.SUBSCRIBED, "transactional"),
    "fer@example.com": (Consent.SUBSCRIBED, None),
    "gul@example.com": (None, None),
    "hal@example.com": (Consent.UNSUBSCRIBED, None),
}


def _store_customers(session: Session, box, account: Account) -> dict[str, int]:
    """The store's customers, as known an hour ago (older than the audience's changes)."""
    store = add_connection(session, box, account, platform="shopify",
                           external_id=f"shop-{account.id}.myshopify.com", credentials={"token": "x"})
    ids = {}
    for number, (email, (consent, _)) in enumerate(PEOPLE.items()):
        record = CustomerRecord(platform_id=f"gid://shopify/Customer/{number}", email=email, consent=consent)
        outcome = apply_event(session, account, store, CustomerUpserted(customer=record),
                              now=utcnow() - timedelta(hours=1))
        ids[email] = next(iter(outcome.customer_ids))
    session.commit()
    return ids


def _consents(session: Session, ids: dict[str, int]) -> dict[str, str]:
    session.rollback()  # end the read transaction: see what the sync committed since
    return {email: session.get(Customer, cid).consent for email, cid in ids.items()}


def _give(engine, account: Account, customer_id: int, points: int) -> None:
    with write_session(engine) as session:
        ledger.adjust(session, account.id, customer_id, amount=points, reason="test", actor="test")


def test_mailchimp_end_to_end(engine, session, box, account, fake, connection, no_wait, webhook_sink):
    ids = _store_customers(session, box, account)
    for email, (_, status) in PEOPLE.items():
        if status:
            fake.add_member(email, status)
    fake.add_member("stranger@example.com", "subscribed")
    customers_before = len(session.exec(select(Customer).where(Customer.account_id == account.id)).all())

    # connect: the registry rebuilds the connector from the stored, encrypted connection
    assert connector_class("mailchimp").name == "mailchimp"
    connector = connector_for(connection, box, policy=no_wait)
    connector.check()

    # pull consent: matched by e-mail, never creating customers; unknown never erases known
    result = sync_stream(engine, connection.id, connector, "contacts")
    assert result.records == 6
    assert _consents(session, ids) == {
        "ada@example.com": "subscribed", "ben@example.com": "unsubscribed",
        "cem@example.com": "cleaned", "dua@example.com": "subscribed",
        "eda@example.com": "subscribed", "fer@example.com": "subscribed",
        "gul@example.com": "unknown", "hal@example.com": "unsubscribed",
    }
    assert len(session.exec(select(Customer).where(Customer.account_id == account.id)).all()) == customers_before
    statuses_before = {m.email: m.status for m in fake.audience.members.values()}

    # push attributes: merge fields created on first use, every customer upserted
    for email, points in (("ada@example.com", 120), ("ben@example.com", 40), ("fer@example.com", 7)):
        _give(engine, account, ids[email], points)
    report = push_attributes(engine, connection.id, connector)
    assert report.changed == len(PEOPLE) and report.result.sent == len(PEOPLE) and not report.result.failed
    assert {"POINTS", "PENDING", "TIER", "PTS_EXP", "PTS_EXPN"} <= set(fake.audience.merge_fields)
    assert fake.member("ada@example.com").merge_fields["POINTS"] == 120
    assert fake.member("gul@example.com").merge_fields["POINTS"] == 0

    # segments as tags, added and removed
    vip = SegmentChange("vip", added=[ContactRef(ids["ada@example.com"], "ada@example.com"),
                                      ContactRef(ids["ben@example.com"], "ben@example.com")])
    assert connector.push_segment(vip).sent == 2
    assert connector.push_segment(SegmentChange("vip", removed=[vip.added[1]])).sent == 1
    assert fake.member("ada@example.com").tags == {"vip"} and fake.member("ben@example.com").tags == set()

    # change two customers: the delta push sends exactly those two
    _give(engine, account, ids["ben@example.com"], 5)
    _give(engine, account, ids["gul@example.com"], 30)
    fake.log.clear()
    report = push_attributes(engine, connection.id, connector_for(connection, box, policy=no_wait))
    assert report.changed == 2
    puts = fake.requests("PUT", "/members/")
    assert sorted(p.body["email_address"] for p in puts) == ["ben@example.com", "gul@example.com"]
    assert {p.path.rsplit("/", 1)[1] for p in puts} == {subscriber_hash("ben@example.com"),
                                                       subscriber_hash("gul@example.com")}
    assert fake.member("gul@example.com").merge_fields["POINTS"] == 30

    # nothing changed: zero API calls
    fake.log.clear()
    report = push_attributes(engine, connection.id, connector_for(connection, box, policy=no_wait))
    assert report.changed == 0 and fake.http_calls() == 0

    # consent change by webhook: fired by the fake over HTTP, verified, parsed and applied
    fake.fire_webhook(f"{webhook_sink.url}/{connector.webhook_secrets()[0]}", "unsubscribe",
                      {"email": "ada@example.com", "action": "unsub", "reason": "manual"})
    path, headers, body = webhook_sink.deliveries[-1]
    handler = connector_class("mailchimp").webhooks
    headers = {**headers, REQUEST_PATH_HEADER: path}
    delivery = handler.identify(headers, body)
    assert delivery.topic == "unsubscribe" and delivery.external_id == connection.external_id
    assert handler.verify(headers, body, connector.webhook_secrets())
    with write_session(engine) as tx:
        for event in handler.parse(delivery.topic, body):
            apply_event(tx, tx.get(Account, account.id), tx.get(Connection, connection.id), event)
    assert _consents(session, ids)["ada@example.com"] == "unsubscribed"

    # no push changed anyone's subscription status; members new to the audience are transactional
    statuses_after = {m.email: m.status for m in fake.audience.members.values()}
    assert {e: statuses_after[e] for e in statuses_before} == statuses_before
    assert {e: s for e, s in statuses_after.items() if e not in statuses_before} == {
        "fer@example.com": "transactional", "gul@example.com": "transactional",
        "hal@example.com": "transactional",
    }
    assert not [r for r in fake.requests("PUT") if "status" in r.body]
