"""An audience as real ones are, pushed to through the push job: Mailchimp's permanent refusals
are stored per contact, never block the others, are not sent again until something would
change Mailchimp's answer, and the run, the CLI, the admin and /metrics say so."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner
from sqlmodel import select
from werkzeug.security import generate_password_hash

from connectors.sdk import Consent, CustomerRecord, CustomerUpserted
from integration import ledger
from integration.accounts import add_connection, create_account
from integration.app import create_app
from integration.cli import main
from integration.db import utcnow, write_session
from integration.events import apply_event
from integration.models import Account, AdminUser, Connection, JobRun, PushRefusal, RunStatus
from integration.privacy import redact_customer
from jobs.runs import run_job
from tests.factories import segments
from tests.admin.conftest import PASSWORD
from tests.admin.test_pages import sign_in

# e-mail the store knows → (status in Mailchimp, or how Mailchimp holds the address; None: absent)
AUDIENCE = {
    "ada@example.com": "subscribed",
    "ben@example.com": "unsubscribed",
    "cem@example.com": "cleaned",
    "dua@example.com": "pending",
    "eda@example.com": "Eda@Example.COM",   # subscribed under another capitalisation
    "fer@example.com": "forgotten",         # permanently deleted by the merchant
    "gul@example.com": "compliance",        # held in compliance state
    "hal@yopmail.com": "fake",              # an address Mailchimp calls fake or invalid
    "ilk@example.com": None,                # new to the audience
}
REFUSED = {"fer@example.com": "forgotten", "gul@example.com": "compliance",
           "hal@yopmail.com": "invalid_address"}


def _audience(fake) -> None:
    for email, state in AUDIENCE.items():
        if state == "forgotten":
            fake.add_member(email, "subscribed")
            fake.forget(email)
        elif state == "compliance":
            fake.hold_in_compliance(email)
        elif state == "Eda@Example.COM":
            fake.add_member(state, "subscribed")
        elif state in ("subscribed", "unsubscribed", "cleaned", "pending"):
            fake.add_member(email, state)


def _store(session, box, account: Account) -> tuple[Connection, dict[str, int]]:
    store = add_connection(session, box, account, platform="shopify",
                           external_id=f"shop-{account.id}.myshopify.com", credentials={"token": "x"})
    ids = {}
    for number, email in enumerate(AUDIENCE):
        record = CustomerRecord(platform_id=f"gid://shopify/Customer/{number}", email=email,
                                consent=Consent.SUBSCRIBED if number % 2 else Consent.UNSUBSCRIBED)
        outcome = apply_event(session, account, store, CustomerUpserted(customer=record),
                              now=utcnow() - timedelta(days=1))
        ids[email] = next(iter(outcome.customer_ids))
    session.commit()
    return store, ids


def _segments(engine, account: Account, ids: dict[str, int]) -> None:
    """Everyone gets points; 'Loyal' holds those with 50 or more, refused contacts included."""
    with write_session(engine) as session:
        for n, customer_id in enumerate(ids.values()):
            ledger.adjust(session, account.id, customer_id, amount=40 + 10 * n, reason="welcome",
                          actor="test")
    segments(engine, account.id, {"Loyal": {"metric": "points", "op": ">=", "value": 50}})


def _writes(fake) -> list:
    """Requests that would change the audience: member upserts, tags, segments, batches."""
    return [r for r in fake.log if r.method in ("PUT", "POST", "PATCH", "DELETE")]


def test_refusals_are_kept_excluded_and_reported(engine, session, box, account, fake, connection,
                                                 runtime, settings, config_path):
    _audience(fake)
    store, ids = _store(session, box, account)
    _segments(engine, account, ids)
    statuses_before = {m.email: m.status for m in fake.audience.members.values()}

    # First push, from the command line: every contact Mailchimp accepts gets its fields and
    # tags; the three it refuses are stored with their reasons; the run is partial, exit 3.
    result = CliRunner().invoke(main, ["--config", config_path, "jobs", "run", f"push:{connection.id}"])
    assert result.exit_code == 3, result.output
    assert "partial" in result.output and "refused_forgotten=1" in result.output
    run = session.exec(select(JobRun).where(JobRun.connection_id == connection.id)
                       .order_by(JobRun.id.desc())).first()
    assert run.status == RunStatus.PARTIAL
    assert {k: run.counts[k] for k in ("refused_forgotten", "refused_compliance",
                                       "refused_invalid_address")} == {
        "refused_forgotten": 1, "refused_compliance": 1, "refused_invalid_address": 1}
    assert run.counts["attributes_sent"] == len(AUDIENCE) - 3
    accepted = [e for e in AUDIENCE if e not in REFUSED]
    for email in accepted:
        assert fake.member(email).merge_fields["POINTS"] >= 40, email
    loyal = {m.email.lower() for m in fake.audience.members.values() if "Loyal" in m.tags}
    assert loyal == {e for n, e in enumerate(AUDIENCE) if 40 + 10 * n >= 50 and e not in REFUSED}
    for email in REFUSED:
        assert fake.member(email) is None

    # nobody was (re-)subscribed: statuses are as they were; members new to it are transactional
    statuses_after = {m.email: m.status for m in fake.audience.members.values()}
    assert {e: statuses_after[e] for e in statuses_before} == statuses_before
    assert statuses_after["ilk@example.com"] == "transactional"
    assert not [r for r in fake.requests("PUT") if "status" in r.body]

    # Second push, nothing changed: not one write to Mailchimp; the run succeeded and says how
    # many contacts are excluded by earlier refusals.
    fake.log.clear()
    again = run_job(runtime, "push", connection.id)
    assert again.status == RunStatus.SUCCEEDED, again.counts
    assert again.counts["excluded"] == 3 and not _writes(fake)
    assert fake.http_calls() == 0

    # The admin: the connection page counts them; its refused list names who, why, what to do.
    session.rollback()  # end this session's read snapshot: the runs wrote since
    admin = f"owner-{account.id}@shop.example"
    session.add(AdminUser(account_id=account.id, email=admin,
                          password_hash=generate_password_hash(PASSWORD)))
    session.commit()
    client = create_app(settings).test_client()
    sign_in(client, admin)
    page = client.get("/admin/connections").get_data(as_text=True)
    assert "3 refused contacts" in page
    listing = client.get(f"/admin/connections/{connection.id}/refused").get_data(as_text=True)
    for email, reason in REFUSED.items():
        assert email in listing
    assert "Permanently deleted in the email tool" in listing
    assert "sign up again" in listing
    assert "ada@example.com" not in listing
    assert "Ne yapabilirsiniz" in client.get(
        f"/admin/connections/{connection.id}/refused?lang=tr").get_data(as_text=True)
    client.get("/admin/connections?lang=en")
    stranger = create_account(session, f"Other {account.id}")
    session.commit()
    elsewhere = add_connection(session, box, stranger, platform="mailchimp",
                               external_id=f"other-{connection.id}", credentials={"api_key": "x-us1"})
    session.commit()
    assert client.get(f"/admin/connections/{elsewhere.id}/refused").status_code == 404
    metrics = client.get("/metrics").get_data(as_text=True)
    assert (f'sadakat_push_refused_contacts{{connection="{connection.id}",platform="mailchimp",'
            f'reason="forgotten"}} 1.0') in metrics

    # What would change Mailchimp's answer: the forgotten contact signs up again through
    # Mailchimp's form (the sync reads it), the fake address is corrected in the store. Both
    # are pushed again, fields and tags; the compliance-held one stays excluded.
    fake.signup("fer@example.com")
    assert run_job(runtime, "sync", connection.id).status == RunStatus.SUCCEEDED
    with write_session(engine) as tx:
        apply_event(tx, tx.get(Account, account.id), tx.get(Connection, store.id),
                    CustomerUpserted(customer=CustomerRecord(
                        platform_id=f"gid://shopify/Customer/{list(AUDIENCE).index('hal@yopmail.com')}",
                        email="hal@example.com")))
    fake.log.clear()
    third = run_job(runtime, "push", connection.id)
    assert third.status == RunStatus.SUCCEEDED, third.counts
    assert third.counts["excluded"] == 1 and third.counts["attributes_sent"] == 2
    assert fake.member("fer@example.com").merge_fields["POINTS"] > 0
    assert fake.member("fer@example.com").status == "subscribed"
    assert fake.member("hal@example.com").status == "transactional"
    assert "Loyal" in fake.member("fer@example.com").tags
    assert "Loyal" in fake.member("hal@example.com").tags
    listing = client.get(f"/admin/connections/{connection.id}/refused").get_data(as_text=True)
    assert "gul@example.com" in listing and "fer@example.com" not in listing


def test_segments_go_in_bulk_calls_of_at_most_500(engine, session, box, account, fake, connection,
                                                  runtime):
    store = add_connection(session, box, account, platform="shopify",
                           external_id=f"shop-{account.id}.myshopify.com", credentials={"token": "x"})
    for n in range(1200):
        apply_event(session, account, store, CustomerUpserted(customer=CustomerRecord(
            platform_id=f"c{n}", email=f"shopper{n}@example.com")))
    session.commit()
    segments(engine, account.id, {"Everyone": {"metric": "points", "op": ">=", "value": 0}})
    run = run_job(runtime, "push", connection.id)
    assert run.status == RunStatus.SUCCEEDED, run.counts
    tag_id = fake.audience.tags["Everyone"].id
    calls = fake.requests("POST", f"/segments/{tag_id}", in_batch=False)
    assert len(calls) == 3 and max(len(c.body.get("members_to_add", [])) for c in calls) == 500
    assert not fake.requests("POST", "/tags")
    assert len(fake.audience.tags["Everyone"].members) == 1200


def test_redacting_a_customer_removes_the_address_mailchimp_refused(engine, session, box, account,
                                                                    fake, connection, runtime):
    fake.forget("gone@example.com")
    store = add_connection(session, box, account, platform="shopify",
                           external_id=f"shop-{account.id}.myshopify.com", credentials={"token": "x"})
    outcome = apply_event(session, account, store, CustomerUpserted(customer=CustomerRecord(
        platform_id="c1", email="gone@example.com")))
    session.commit()
    assert run_job(runtime, "push", connection.id).counts["refused_forgotten"] == 1
    with write_session(engine) as tx:
        redact_customer(tx, account.id, next(iter(outcome.customer_ids)))
    session.rollback()
    assert session.exec(select(PushRefusal).where(PushRefusal.connection_id == connection.id)).all() == []
