"""A Klaviyo account as real ones are (suppressed, unsubscribed, never-subscribed profiles,
another capitalisation, a profile deleted in Klaviyo, an address Klaviyo refuses), pushed to
through the push job: nobody's consent moves, the refused address is kept out until it
changes, the others are never held up, and a push with nothing changed writes nothing."""

from __future__ import annotations

from sqlmodel import select

from connectors.klaviyo.fake.store import profile_index
from integration import ledger
from integration.db import write_session
from integration.events import apply_event
from integration.models import Account, Connection, CustomerIdentity, RunStatus
from integration.records import CustomerRecord, CustomerUpserted
from jobs.runs import run_job
from tests.factories import segments

WRITES = ("bulk_import_profiles", "add_profiles_to_list", "remove_profiles_from_list", "create_list")


def _first(fake, consent: str, suppression: str | None) -> str:
    return next(fake.email(i) for i in range(len(fake.store))
                if fake.store.consent_of(i) == (consent, suppression))


def test_refused_address_is_kept_out_and_nobody_is_resubscribed(engine, session, account, fake,
                                                                klaviyo, store_customers, runtime):
    connection, _ = klaviyo
    subscribed = _first(fake, "SUBSCRIBED", None)
    unsubscribed = _first(fake, "UNSUBSCRIBED", None)
    never = _first(fake, "NEVER_SUBSCRIBED", None)
    complained = _first(fake, "SUBSCRIBED", "SPAM_COMPLAINT")
    suppressed = _first(fake, "UNSUBSCRIBED", "USER_SUPPRESSED")
    deleted = next(fake.email(i) for i in range(len(fake.store))
                   if fake.email(i) not in {subscribed, unsubscribed, never, complained, suppressed})
    other = next(fake.email(i) for i in range(len(fake.store)) if fake.email(i) not in {
        subscribed, unsubscribed, never, complained, suppressed, deleted})
    refused = "refused.address@example.com"
    fake.reject_emails.add(refused)
    emails = [subscribed, unsubscribed, never, complained, suppressed, deleted,
              other.upper(),  # the store has it under another capitalisation
              "new.shopper@example.com", refused]
    ids = store_customers(emails)
    consent_before = {fake.email(i): fake.consent_of(fake.email(i)) for i in range(len(fake.store))}

    # the pull links the known profiles; then one is deleted inside Klaviyo (its id goes stale)
    assert run_job(runtime, "sync", connection.id).status == RunStatus.SUCCEEDED
    fake.store.delete(fake.store.by_email[deleted])
    with write_session(engine) as tx:
        for customer_id in ids:
            ledger.adjust(tx, account.id, customer_id, amount=25, reason="welcome", actor="test")
    segments(engine, account.id, {"Loyal": {"metric": "points", "op": ">=", "value": 10}})

    first = run_job(runtime, "push", connection.id)
    assert first.status == RunStatus.PARTIAL, first.counts
    assert first.counts["refused_invalid_address"] == 1
    assert first.counts["attributes_sent"] == len(ids) - 1
    landed = {e.lower() for e in emails} - {refused}
    for email in landed:
        assert fake.properties_of(email)["points_balance"] == 25, email
    assert fake.list_members("Sadakat: Loyal") == landed  # the stale id did not hold anyone up

    # nobody's consent moved; the suppressed stay suppressed
    consent_after = {fake.email(i): fake.consent_of(fake.email(i)) for i in range(len(consent_before))
                     if fake.email(i) != deleted}
    assert consent_after == {e: c for e, c in consent_before.items() if e != deleted}
    assert fake.consent_of(suppressed) == ("UNSUBSCRIBED", "USER_SUPPRESSED")

    # nothing changed: no profile or list writes, and the run says who is excluded
    before = len(fake.calls())
    again = run_job(runtime, "push", connection.id)
    assert again.status == RunStatus.SUCCEEDED, again.counts
    assert again.counts["excluded"] == 1
    assert not [c for c in fake.calls()[before:] if c.operation in WRITES]

    # the store corrects the address: it goes to Klaviyo, into its lists too
    with write_session(engine) as tx:
        apply_event(tx, tx.get(Account, account.id), tx.get(Connection, _store_of(tx, account)),
                    CustomerUpserted(customer=CustomerRecord(platform_id=f"c{len(ids) - 1}",
                                                             email="fixed.address@example.com")))
    third = run_job(runtime, "push", connection.id)
    assert third.status == RunStatus.SUCCEEDED, third.counts
    assert third.counts["attributes_sent"] == 1 and third.counts.get("excluded", 0) == 0
    assert "fixed.address@example.com" in fake.list_members("Sadakat: Loyal")


def _store_of(session, account) -> int:
    return session.exec(select(Connection.id).where(Connection.account_id == account.id,
                                                    Connection.platform == "store")).one()


def test_a_list_call_is_not_held_up_by_a_profile_klaviyo_no_longer_has(engine, session, account,
                                                                         fake, klaviyo, store_customers,
                                                                         runtime):
    connection, connector = klaviyo
    emails = [fake.email(i) for i in range(30)]
    ids = store_customers(emails)
    assert run_job(runtime, "sync", connection.id).status == RunStatus.SUCCEEDED
    assert run_job(runtime, "push", connection.id).status == RunStatus.SUCCEEDED
    gone = session.exec(select(CustomerIdentity.platform_id).where(
        CustomerIdentity.connection_id == connection.id,
        CustomerIdentity.customer_id == ids[3])).one()
    fake.store.delete(profile_index(gone))  # deleted inside Klaviyo after our last push
    segments(engine, account.id, {"Everyone": {"metric": "points", "op": ">=", "value": 0}})

    run = run_job(runtime, "push", connection.id)
    assert fake.list_members("Sadakat: Everyone") == set(emails) - {emails[3]}
    assert run.status == RunStatus.PARTIAL and run.counts["segment_failed"] == 1
    [call] = [c for c in fake.calls("add_profiles_to_list") if c.status == 204]
    assert len(call.body["data"]) == 29  # one call for the others, without the missing profile

    # The next push puts the shopper back in Klaviyo (their attributes are sent again) and
    # sends the waiting membership: everyone is in the list.
    healed = run_job(runtime, "push", connection.id)
    assert healed.status == RunStatus.SUCCEEDED, healed.counts
    assert healed.counts["attributes_sent"] == 1 and healed.counts["segment_retried"] == 1
    assert fake.list_members("Sadakat: Everyone") == set(emails)
