"""Connecting an API-key platform: ``integration.connections.connect`` and ``sadakat connect``,
against the fake Mailchimp and the fake Klaviyo over real HTTP, on the test database."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from click.testing import CliRunner
from sqlmodel import select

from connectors.klaviyo.fake import FakeKlaviyo
from connectors.mailchimp.fake import FakeMailchimp
from connectors.sdk import AuthError, InvalidSettings
from integration.accounts import create_account
from integration.cli import main
from integration.connections import ConnectedElsewhere, ConnectRefused, connect
from integration.models import Connection, ConnectionStatus

PUBLIC_URL = "http://sadakat.test"
WEBHOOK_SECRET = "an-unguessable-webhook-secret"


@pytest.fixture
def mailchimp():
    with FakeMailchimp(seed=5, list_id=uuid.uuid4().hex[:10]) as fake:
        yield fake


@pytest.fixture
def klaviyo():
    with FakeKlaviyo(seed=5, profiles=5, api_key="pk_connect_test",
                     account_id=uuid.uuid4().hex[:6]) as fake:
        yield fake


def mailchimp_input(fake: FakeMailchimp, **extra) -> dict[str, object]:
    return {"api_key": fake.api_key, "list_id": fake.list_id, "api_url": fake.url,
            "webhook_secret": WEBHOOK_SECRET, **extra}


def connections_of(session, platform: str, external_id: str) -> list[Connection]:
    session.expire_all()
    return list(session.exec(select(Connection).where(
        Connection.platform == platform, Connection.external_id == external_id)))



def test_simultaneous_connects_of_one_audience_make_one_connection(engine, box, session, account,
                                                                  mailchimp):
    """Two people (or a double click) connecting the same new audience at once: one creates the
    connection, the others wait for it and update it (a key lock), none fails."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: connect(engine, box, account.id, "mailchimp",
                                                  mailchimp_input(mailchimp)), range(4)))
    [stored] = connections_of(session, "mailchimp", mailchimp.list_id)
    assert [r.created for r in results].count(True) == 1
    assert {r.connection_id for r in results} == {stored.id}

def test_mailchimp_is_connected_with_sealed_keys_and_its_webhooks(engine, box, session, account,
                                                                   mailchimp):
    connected = connect(engine, box, account.id, "mailchimp", mailchimp_input(mailchimp),
                        public_url=PUBLIC_URL)
    assert connected.created and connected.external_id == mailchimp.list_id and not connected.webhook_error
    [stored] = connections_of(session, "mailchimp", mailchimp.list_id)
    assert (stored.id, stored.account_id, stored.status) == (connected.connection_id, account.id,
                                                             ConnectionStatus.ACTIVE)
    assert stored.settings["list_id"] == mailchimp.list_id and "api_key" not in stored.settings
    assert mailchimp.api_key not in stored.credentials
    assert box.open(stored.credentials)["api_key"] == mailchimp.api_key
    url = f"{PUBLIC_URL}/webhooks/mailchimp/{stored.id}"
    assert connected.webhook_url == url
    [hook] = mailchimp.audience.webhooks
    assert hook["url"] == f"{url}/{WEBHOOK_SECRET}"
    assert sorted(connected.webhooks) == sorted(t for t, on in hook["events"].items() if on)


def test_a_refused_key_stores_nothing(engine, box, session, account, mailchimp):
    with pytest.raises(AuthError):
        connect(engine, box, account.id, "mailchimp",
                mailchimp_input(mailchimp, api_key="0123456789abcdef-us21"), public_url=PUBLIC_URL)
    assert connections_of(session, "mailchimp", mailchimp.list_id) == []
    assert mailchimp.audience.webhooks == []


def test_bad_settings_are_refused_per_field_before_any_call(engine, box, session, account, mailchimp):
    with pytest.raises(InvalidSettings) as refused:
        connect(engine, box, account.id, "mailchimp",
                {**mailchimp_input(mailchimp), "max_connections": 50, "list_d": "x"})
    assert set(refused.value.problems) == {"max_connections", "list_d"}
    assert mailchimp.log == [] and connections_of(session, "mailchimp", mailchimp.list_id) == []


def test_connecting_the_same_audience_again_updates_its_connection(engine, box, session, account,
                                                                   mailchimp):
    first = connect(engine, box, account.id, "mailchimp", mailchimp_input(mailchimp))
    session.get(Connection, first.connection_id).status = ConnectionStatus.NEEDS_ATTENTION
    session.commit()
    # the merchant pastes the key again, with another setting and without the webhook secret
    again = connect(engine, box, account.id, "mailchimp",
                    {"api_key": mailchimp.api_key, "list_id": mailchimp.list_id,
                     "api_url": mailchimp.url, "max_connections": 3})
    assert (again.connection_id, again.created) == (first.connection_id, False)
    [stored] = connections_of(session, "mailchimp", mailchimp.list_id)
    assert stored.status == ConnectionStatus.ACTIVE and stored.settings["max_connections"] == 3
    assert box.open(stored.credentials)["webhook_secret"] == WEBHOOK_SECRET  # kept, not erased


def test_an_audience_of_another_account_is_refused(engine, box, session, account, mailchimp):
    connect(engine, box, account.id, "mailchimp", mailchimp_input(mailchimp))
    other = create_account(session, "Another program")
    session.commit()
    with pytest.raises(ConnectedElsewhere):
        connect(engine, box, other.id, "mailchimp", mailchimp_input(mailchimp))
    [stored] = connections_of(session, "mailchimp", mailchimp.list_id)
    assert stored.account_id == account.id


def test_klaviyo_is_named_by_its_account_and_gets_the_consent_webhook(engine, box, session, account,
                                                                      klaviyo):
    connected = connect(engine, box, account.id, "klaviyo", {
        "api_key": klaviyo.api_key, "base_url": klaviyo.url, "webhook_secret": WEBHOOK_SECRET,
    }, public_url=PUBLIC_URL)
    assert connected.external_id == klaviyo.account_id
    [hook] = klaviyo.store.webhooks.values()
    assert hook["endpoint_url"] == f"{PUBLIC_URL}/webhooks/klaviyo/{connected.connection_id}"
    assert sorted(hook["topics"]) == list(connected.webhooks) and hook["secret_key"] == WEBHOOK_SECRET


def test_a_failed_webhook_registration_is_reported_and_the_connection_stays(engine, box, session,
                                                                             account, klaviyo):
    connected = connect(engine, box, account.id, "klaviyo",
                        {"api_key": klaviyo.api_key, "base_url": klaviyo.url}, public_url=PUBLIC_URL)
    assert "webhook_secret" in connected.webhook_error and connected.webhooks == ()
    assert [c.id for c in connections_of(session, "klaviyo", klaviyo.account_id)] == [
        connected.connection_id]


def test_shopify_and_woocommerce_keep_their_own_flows(engine, box, account):
    for platform, pointer in (("shopify", "sadakat shopify connect"),
                              ("woocommerce", "sadakat woocommerce authorize")):
        with pytest.raises(ConnectRefused, match=pointer):
            connect(engine, box, account.id, platform, {})


# -- sadakat connect ------------------------------------------------------------------------

def run(config_path: str, *args: str, env: dict[str, str] | None = None, input: str | None = None):
    return CliRunner().invoke(main, ["--config", config_path, "connect", *args], env=env, input=input)


def test_the_command_takes_secrets_from_the_environment(config_path, session, box, account,
                                                        mailchimp):
    result = run(config_path, "mailchimp", "--account", str(account.id),
                 "--set", f"list_id={mailchimp.list_id}", "--set", f"api_url={mailchimp.url}",
                 env={"SADAKAT_CONNECT_API_KEY": mailchimp.api_key,
                      "SADAKAT_CONNECT_WEBHOOK_SECRET": WEBHOOK_SECRET})
    assert result.exit_code == 0, result.output
    [stored] = connections_of(session, "mailchimp", mailchimp.list_id)
    assert result.output.splitlines()[0] == (
        f"connection {stored.id}: mailchimp {mailchimp.list_id} connected")
    assert result.output.splitlines()[1].startswith("webhooks registered: ")
    assert box.open(stored.credentials)["api_key"] == mailchimp.api_key


def test_the_command_asks_for_secrets_it_was_not_given(config_path, session, box, account, klaviyo):
    result = run(config_path, "klaviyo", "--account", str(account.id),
                 "--set", f"base_url={klaviyo.url}", input=f"{klaviyo.api_key}\n\n")
    assert result.exit_code == 1, result.output  # stored, but without its webhooks
    assert klaviyo.api_key not in result.output  # typed without echo
    [stored] = connections_of(session, "klaviyo", klaviyo.account_id)
    assert box.open(stored.credentials) == {"api_key": klaviyo.api_key, "webhook_secret": None}
    assert "webhooks not registered: set webhook_secret" in result.output


def test_the_command_refuses_in_one_line(config_path, session, account, mailchimp):
    cases = [
        (["--set", "list_d=x"], {"SADAKAT_CONNECT_API_KEY": mailchimp.api_key,
                                 "SADAKAT_CONNECT_WEBHOOK_SECRET": ""}, "list_d: Extra inputs"),
        (["--set", f"list_id={mailchimp.list_id}", "--set", f"api_url={mailchimp.url}"],
         {"SADAKAT_CONNECT_API_KEY": "0123456789abcdef-us21", "SADAKAT_CONNECT_WEBHOOK_SECRET": ""},
         "mailchimp refused the settings, nothing was stored"),
        (["--set", "list_id"], {}, "'list_id' is not FIELD=VALUE"),
        ([], {"SADAKAT_CONNECT_WEBHOOK_SECRET": ""}, "api_key: not given"),  # no prompt answer
    ]
    for args, env, message in cases:
        result = run(config_path, "mailchimp", "--account", str(account.id), *args, env=env)
        assert result.exit_code != 0 and message in result.output, result.output
        assert "Traceback" not in result.output
    assert connections_of(session, "mailchimp", mailchimp.list_id) == []
    shopify = run(config_path, "shopify", "--account", str(account.id))
    assert shopify.exit_code == 1 and "sadakat shopify connect" in shopify.output
