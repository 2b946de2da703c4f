"""The demo's outside world: the four fake platforms, connected through the real connect paths,
and the store activity they report by signed webhook.

The fakes are the ones the connector tests use (``connectors/<platform>/fake``): real HTTP
servers on ephemeral localhost ports, seeded, so the demo needs no network and no credentials.
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests
from sqlmodel import select

from connectors.klaviyo.fake import FakeKlaviyo
from connectors.mailchimp.fake import FakeMailchimp
from connectors.shopify.connector import ShopifySettings
from connectors.shopify.fake import FakeShopify
from connectors.shopify.fake.store import ORDER_BASE, iso
from connectors.shopify.install import connect_shop
from connectors.woocommerce.auth import begin_authorization
from connectors.woocommerce.fake import FakeWooCommerce
from integration.connections import connect
from integration.db import read_session, write_session
from integration.models import Connection
from integration.runtime import Runtime

SHOP = "sadakat-demo.myshopify.com"
CURRENCY = "USD"
ORDERS_PER_CUSTOMER = 2.5
SHOPIFY_SHARE = 0.6  # of the customers; WooCommerce has the rest
MAILCHIMP_LIST = "d3m0l1st01"
KLAVIYO_KEY = "pk_demo_sadakat_0000000000"


@dataclass
class Fakes:
    shopify: FakeShopify
    woocommerce: FakeWooCommerce
    mailchimp: FakeMailchimp
    klaviyo: FakeKlaviyo


@contextlib.contextmanager
def fake_platforms(customers: int, seed: int):
    """Start the four fakes with ``customers`` store customers between the two stores."""
    shop_customers = int(customers * SHOPIFY_SHARE)
    woo_customers = customers - shop_customers
    with contextlib.ExitStack() as stack:
        yield Fakes(
            # A Shopify Plus shop: its larger cost bucket keeps the pushes from waiting on
            # the throttle, which a standard shop of this size would do for minutes.
            shopify=stack.enter_context(FakeShopify(
                seed=seed, customers=shop_customers, shop=SHOP, currency=CURRENCY, plan="plus",
                orders=int(shop_customers * ORDERS_PER_CUSTOMER))),
            woocommerce=stack.enter_context(FakeWooCommerce(
                seed=seed, customers=woo_customers, currency=CURRENCY,
                orders=int(woo_customers * ORDERS_PER_CUSTOMER))),
            mailchimp=stack.enter_context(FakeMailchimp(seed=seed, list_id=MAILCHIMP_LIST)),
            klaviyo=stack.enter_context(FakeKlaviyo(seed=seed, profiles=max(customers // 10, 10),
                                                    api_key=KLAVIYO_KEY, account_id="SdkDemo")),
        )


# -- connecting -----------------------------------------------------------------------------

def connect_all(runtime: Runtime, account_id: int, fakes: Fakes, public_url: str) -> dict[str, int]:
    """Connect the four platforms the way a merchant would; returns connection ids by platform."""
    shopify = connect_shop(
        runtime.engine, runtime.box,
        ShopifySettings(shop=fakes.shopify.shop, access_token=fakes.shopify.token,
                        api_secret=fakes.shopify.api_secret, endpoint=fakes.shopify.url,
                        bulk_poll_seconds=0.05, birthday_metafield="facts.birth_date"),
        public_url=public_url, account_id=account_id,
    )
    return {
        "shopify": shopify.connection_id,
        "woocommerce": _authorize_woocommerce(runtime, account_id, fakes.woocommerce, public_url),
        "mailchimp": _connect_by_key(runtime, account_id, "mailchimp", public_url, {
            "api_key": fakes.mailchimp.api_key, "list_id": fakes.mailchimp.list_id,
            "api_url": fakes.mailchimp.url, "webhook_secret": "demo-mailchimp-webhook-secret"}),
        "klaviyo": _connect_by_key(runtime, account_id, "klaviyo", public_url, {
            "api_key": KLAVIYO_KEY, "base_url": fakes.klaviyo.url,
            "webhook_secret": "demo-klaviyo-webhook-secret", "poll_interval": 0.05}),
    }


def _authorize_woocommerce(runtime: Runtime, account_id: int, fake: FakeWooCommerce,
                           public_url: str) -> int:
    """WooCommerce's authorization flow: the merchant follows the link and approves; the site
    hands the keys to our callback and sends the browser back, where the webhooks get registered."""
    with write_session(runtime.engine) as session:
        link = begin_authorization(session, account_id=account_id, site_url=fake.url,
                                   public_url=public_url, allow_insecure_http=True)
    answer = requests.get(link, timeout=60)
    if answer.status_code != 200:
        raise RuntimeError(f"WooCommerce authorization failed: {answer.status_code} {answer.text}")
    with read_session(runtime.engine) as session:
        return session.exec(select(Connection.id).where(
            Connection.account_id == account_id, Connection.platform == "woocommerce")).one()


def _connect_by_key(runtime: Runtime, account_id: int, platform: str, public_url: str,
                    values: dict[str, Any]) -> int:
    """What ``sadakat connect`` and the admin's form do with the merchant's keys."""
    connected = connect(runtime.engine, runtime.box, account_id, platform, values,
                        public_url=public_url)
    if connected.webhook_error:
        raise RuntimeError(f"{platform} webhooks not registered: {connected.webhook_error}")
    return connected.connection_id


# -- live store activity ----------------------------------------------------------------------

def shopify_activity(fake: FakeShopify, rng: random.Random, orders: int, refunds: int) -> int:
    """New orders and refunds at the shop, each announced by a signed webhook to every
    subscription (``orders/create``, ``orders/paid``, ``refunds/create``); returns deliveries."""
    store = fake.store
    sent = 0
    for _ in range(orders):
        index = store.add_order(rng.randrange(store.customer_count), lines=rng.randint(1, 3))
        for topic in ("orders/create", "orders/paid"):
            sent += len(fake.fire_webhook(topic, _rest_order(store, index)))
    paid = [i for i in range(store.order_count)
            if store.order(i)["financial"] == "PAID" and store.order(i)["customer"] >= 0]
    for index in rng.sample(paid, min(refunds, len(paid))):
        facts = store.order(index)
        amount = (facts["total"] * Decimal(rng.choice(("0.25", "0.5", "1")))).quantize(Decimal("0.01"))
        at = store.now()
        store.update_order(index, financial="REFUNDED" if amount == facts["total"] else "PARTIALLY_REFUNDED",
                           refunds=[(1, amount, at)])
        sent += len(fake.fire_webhook("refunds/create", {
            "id": ORDER_BASE * 2 + index * 10 + 1, "order_id": ORDER_BASE + index,
            "created_at": iso(at), "processed_at": iso(at), "note": "demo refund",
            "transactions": [{"kind": "refund", "status": "success", "amount": str(amount),
                              "currency": store.currency}],
            "refund_line_items": [],
        }))
    return sent


def _rest_order(store: Any, index: int) -> dict[str, Any]:
    """An order of the fake shop in the REST shape Shopify's order webhooks carry."""
    facts = store.order(index)
    owner = facts["customer"]
    customer = store.customer(owner) if owner >= 0 else None
    return {
        "id": ORDER_BASE + index, "name": f"#{1001 + index}", "order_number": 1001 + index,
        "email": customer["email"] if customer else f"guest.{index}@example.net",
        "currency": store.currency, "financial_status": facts["financial"].lower(),
        "fulfillment_status": "fulfilled" if facts["fulfilled"] else None,
        "created_at": facts["createdAt"], "updated_at": facts["updatedAt"],
        "cancelled_at": facts["cancelledAt"],
        "total_line_items_price": str(facts["subtotal"]), "total_discounts": str(facts["discount"]),
        "total_tax": str(facts["tax"]), "total_price": str(facts["total"]),
        "total_shipping_price_set": {"shop_money": {"amount": str(facts["shipping"]),
                                                    "currency_code": store.currency}},
        "discount_codes": [{"code": code} for code in facts["codes"]],
        "customer": store.rest_customer(owner) if customer else None,
        "line_items": [
            {"product_id": int(product["id"].rsplit("/", 1)[-1]), "title": product["title"],
             "sku": f"SKU-{product['id'].rsplit('/', 1)[-1]}", "quantity": quantity,
             "price": str(product["price"])}
            for product, quantity in facts["lines"]
        ],
        "refunds": [],
    }


def woocommerce_activity(fake: FakeWooCommerce, rng: random.Random, orders: int, refunds: int) -> int:
    """New orders and refunds at the WooCommerce site; the fake delivers its signed webhooks
    (``order.created``, ``order.updated``) before returning. Returns deliveries sent."""
    before = len(fake.deliveries)
    customers = fake.store.customer_ids()
    for _ in range(orders):
        fake.add_order(customer_id=rng.choice(customers), status="processing")
    completed = [oid for oid in fake.store.order_ids()
                 if fake.store.order(oid)["status"] in ("processing", "completed")
                 and fake.store.order(oid)["customer_id"]]
    for oid in rng.sample(completed, min(refunds, len(completed))):
        total = Decimal(fake.store.order(oid)["total"])
        fake.refund(oid, int(total * 100 * Decimal(rng.choice(("0.25", "0.5")))), "demo refund")
    fake.drain()
    return len(fake.deliveries) - before
