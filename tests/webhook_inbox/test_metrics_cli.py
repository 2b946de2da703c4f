"""``/metrics`` and the ``sadakat inbox`` commands, on the real app and database."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from sqlmodel import select

from integration.cli import main
from integration.db import read_session
from tests.webhook_inbox import shopify_payloads as sp
from tests.webhook_inbox.conftest import post_shopify
from webhooks.models import InboxDelivery, InboxStatus
from webhooks.worker import drain


def _metric(text: str, name: str, **labels: str) -> float:
    selector = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(selector) + r"\}" if selector else "") + r" (\S+)"
    match = re.search("^" + pattern, text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_metrics_count_received_rejected_and_inbox_state(client, runtime, shop):
    before = client.get("/metrics").text
    post_shopify(client, shop.external_id, "customers/create", sp.customer(7201, "me@example.com"))
    post_shopify(client, shop.external_id, "customers/create", sp.customer(7202, "mf@example.com"),
                 secret="forged")
    after = client.get("/metrics").text
    stored = _metric(after, "sadakat_webhooks_received_total", platform="shopify", result="stored")
    assert stored - _metric(before, "sadakat_webhooks_received_total", platform="shopify",
                            result="stored") == 1
    rejected = _metric(after, "sadakat_webhooks_rejected_total", platform="shopify", reason="bad_signature")
    assert rejected - _metric(before, "sadakat_webhooks_rejected_total", platform="shopify",
                              reason="bad_signature") == 1
    assert _metric(after, "sadakat_inbox_deliveries", status="received") >= 1
    assert _metric(after, "sadakat_inbox_lag_seconds") >= 0
    drain(runtime)
    assert _metric(client.get("/metrics").text, "sadakat_inbox_deliveries", status="received") == 0


def _cli(settings, *args: str):
    env = {
        "SADAKAT_DATABASE__URL": settings.database.url,
        "SADAKAT_SECURITY__SECRET_KEY": settings.security.secret_key,
        "SADAKAT_SECURITY__ENCRYPTION_KEY": settings.security.encryption_key,
    }
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_cli_lists_and_replays_dead_rows_and_prints_exports(client, runtime, settings, engine, shop):
    post_shopify(client, shop.external_id, "orders/create", b"[]")  # a list, not an order
    later = datetime.now(UTC)
    for _ in range(settings.inbox.max_attempts):
        later += timedelta(hours=2)
        drain(runtime, now=later)
    with read_session(engine) as session:
        dead = session.exec(select(InboxDelivery).where(InboxDelivery.connection_id == shop.id)).one()
    assert dead.status == InboxStatus.DEAD

    listing = _cli(settings, "inbox", "list", "--status", "dead")
    assert re.search(rf"^│ +{dead.id} +│ +{shop.id} +│", listing.output, re.MULTILINE)
    assert _cli(settings, "inbox", "replay", str(dead.id)).output.startswith("1 dead")
    with read_session(engine) as session:
        replayed = session.get(InboxDelivery, dead.id)
    assert (replayed.status, replayed.attempts) == (InboxStatus.RECEIVED, 0)

    post_shopify(client, shop.external_id, "orders/paid", sp.order(5201, customer_payload=sp.customer(7203, "dr@example.com")))
    post_shopify(client, shop.external_id, "customers/data_request",
                 sp.customers_data_request(shop.external_id, 7203, "dr@example.com", 4242))
    drain(runtime)
    exports = _cli(settings, "inbox", "exports", "--account", str(shop.account_id)).output
    export_id = re.search(r"(\d+)\s+│\s+\d+\s+│\s+\d+\s+│\s+4242", exports).group(1)
    printed = json.loads(_cli(settings, "inbox", "export", export_id).output)
    assert printed["customer"]["email"] == "dr@example.com"
