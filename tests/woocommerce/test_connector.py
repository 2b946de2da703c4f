"""Connector behaviour against the fake: retries, refused keys, pushes, coupons, connect rules."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests
from pydantic import ValidationError

from connectors.sdk import (
    ApiError,
    AttributeUpdate,
    AuthError,
    ContactRef,
    RewardRequest,
)
from connectors.woocommerce.auth import begin_authorization
from connectors.woocommerce.connector import WooCommerceConnector, WooCommerceSettings
from connectors.woocommerce.setup import sync
from integration import ledger
from integration.db import read_session, write_session
from integration.fulfilment import fulfil_redemption
from integration.models import (
    Connection,
    ConnectionStatus,
    Customer,
    RedemptionStatus,
    Reward,
    RewardKind,
)
from tests.woocommerce.conftest import fast_policy


def test_plain_http_sites_are_refused_unless_the_merchant_opts_in(session, account):
    with pytest.raises(ValidationError, match="plain http"):
        WooCommerceSettings(url="http://shop.example", consumer_key="ck", consumer_secret="cs")
    with pytest.raises(ValueError, match="plain http"):
        begin_authorization(session, account_id=account.id, site_url="http://shop.example",
                            public_url="https://sadakat.example")
    opted_in = WooCommerceSettings(url="HTTP://Shop.Example/", consumer_key="ck",
                                   consumer_secret="cs", allow_insecure_http=True)
    assert opted_in.url == "http://shop.example"
    assert "consumer_secret" in opted_in.split()[1] and "consumer_secret" not in opted_in.split()[0]


def test_throttling_server_errors_and_timeouts_are_retried(connector, fake):
    fake.inject(429, times=2, retry_after="3", path="/customers")
    fake.inject(502, times=1, path="/customers")
    records = [r for page in connector.pull("customers", None) for r in page.records]
    assert len(records) == 120
    assert connector.stats.throttled == 2 and connector.stats.retries >= 3
    assert connector.stats.waited_seconds >= 6  # Retry-After obeyed

    slow = WooCommerceConnector(connector.settings.model_copy(update={"timeout": 1.5}),
                                policy=fast_policy())
    fake.inject(delay=3.0, times=1, path="/orders")
    assert sum(len(p.records) for p in slow.pull("orders", None)) == 150
    assert slow.stats.retries >= 1  # the stalled request timed out and was tried again


def test_revoked_keys_mark_the_connection(engine, box, connection, fake):
    fake.revoke_keys()
    with pytest.raises(AuthError, match="refused the API keys"):
        sync(engine, box, connection.id, policy=fast_policy())
    with read_session(engine) as session:
        stored = session.get(Connection, connection.id)
    assert stored.status == ConnectionStatus.NEEDS_ATTENTION
    assert "Reconnect the store" in stored.status_message


def test_push_batches_at_100_skips_guests_and_reports_item_errors(connector, fake):
    updates = [AttributeUpdate(ContactRef(n, f"c{n}@x.example", str(n)), {"points_balance": n})
               for n in range(1, 121)]
    updates += [AttributeUpdate(ContactRef(500 + n, f"g{n}@x.example", None), {"points_balance": 1})
                for n in range(3)]
    updates.append(AttributeUpdate(ContactRef(999, "gone@x.example", "99999"), {"tier": "Gold"}))
    result = connector.push_attributes(updates)
    assert (result.sent, result.skipped, result.batches) == (120, 3, 2)
    [(ref, reason)] = result.failed
    assert ref.customer_id == 999 and "woocommerce_rest_invalid_id" in reason
    meta = {m["key"]: m["value"] for m in fake.store.customer(7)["meta_data"]}
    assert meta["_sadakat_points_balance"] == 7  # (the fake answers 413 above 100 items)


def _request(**changes) -> RewardRequest:
    base = dict(redemption_id=41, kind="percent", title="10% off", value=Decimal(10),
                currency="EUR", customer_email="ada@example.com",
                expires_at=datetime(2027, 1, 31, tzinfo=UTC))
    return RewardRequest(**{**base, **changes})


def test_reward_kinds_become_the_right_coupons(connector, fake):
    percent = connector.issue_reward(_request())
    shipping = connector.issue_reward(_request(redemption_id=42, kind="free_shipping", value=0))
    product = connector.issue_reward(_request(redemption_id=43, kind="free_product", product_id="17"))
    c = fake.coupons
    assert (c[percent.code]["discount_type"], c[percent.code]["amount"]) == ("percent", "10.00")
    assert c[shipping.code]["free_shipping"] is True and c[shipping.code]["amount"] == "0.00"
    assert c[product.code]["product_ids"] == [17] and c[product.code]["amount"] == "100.00"
    assert c[product.code]["limit_usage_to_x_items"] == 1
    assert all(x["email_restrictions"] == ["ada@example.com"] and x["usage_limit"] == 1
               for x in c.values())
    assert c[percent.code]["date_expires_gmt"] == "2027-01-31T00:00:00"
    # A retried request (the first answer was lost) finds its coupon instead of failing.
    assert connector.issue_reward(_request()).code == percent.code
    assert len(c) == 3


def test_refused_coupon_gives_the_points_back(engine, connection, connector, account, fake):
    with write_session(engine) as session:
        customer = Customer(account_id=account.id, email="ada@example.com", is_guest=False)
        session.add(customer)
        session.flush()
        ledger.adjust(session, account.id, customer.id, amount=100, reason="welcome", actor="test")
        reward = Reward(account_id=account.id, name="Free mug", kind=RewardKind.FREE_PRODUCT,
                        points_cost=80, product_id="9999")  # no such product in the store
        session.add(reward)
        session.flush()
        redemption = ledger.redeem(session, account.id, customer.id, reward.id, key="mug",
                                   connection_id=connection.id)
    done = fulfil_redemption(engine, redemption.id, connector)
    assert done.status == RedemptionStatus.FAILED
    assert "woocommerce_rest_invalid_product_id" in done.error
    with read_session(engine) as session:
        assert session.get(Customer, customer.id).points_balance == 100
    with pytest.raises(ApiError):
        connector.issue_reward(_request(customer_email=None))


def test_key_hand_over_only_for_a_pending_request(engine, account, server):
    callback = f"{server.url}/woocommerce/auth/callback"
    keys = {"key_id": 1, "consumer_key": "ck_x", "consumer_secret": "cs_x",
            "key_permissions": "read_write"}
    assert requests.post(callback, json={**keys, "user_id": "made-up"}, timeout=10).status_code == 403
    with write_session(engine) as session:
        link = begin_authorization(session, account_id=account.id, site_url="https://shop.example",
                                   public_url=server.url)
    nonce = dict(p.split("=", 1) for p in link.split("?", 1)[1].split("&"))["user_id"]
    read_only = {**keys, "user_id": nonce, "key_permissions": "read"}
    assert requests.post(callback, json=read_only, timeout=10).status_code == 400
    assert requests.post(callback, json={**keys, "user_id": nonce}, timeout=10).status_code == 200
    assert requests.post(callback, json={**keys, "user_id": nonce}, timeout=10).status_code == 403
    declined = requests.get(f"{server.url}/woocommerce/auth/return?success=0&user_id={nonce}",
                            timeout=10)
    assert "did not grant access" in declined.text


def test_a_malformed_record_is_skipped_not_fatal(connector, fake, caplog):
    fake.store.o_patches[5] = {"date_created_gmt": None}  # damaged by some plugin
    orders = [r for page in connector.pull("orders", None) for r in page.records]
    assert len(orders) == 149 and "5" not in {o.platform_id for o in orders}
    assert "WooCommerce order 5 skipped" in caplog.text
