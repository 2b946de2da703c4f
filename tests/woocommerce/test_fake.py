"""The fake keeps WooCommerce's documented limits and error shapes (what the connector relies on)."""

from __future__ import annotations

import requests
from woocommerce import API

from connectors.woocommerce.fake import FakeWooCommerce


def _api(fake: FakeWooCommerce, secret: str | None = None) -> API:
    key = fake.default_key
    return API(fake.url, key.consumer_key, secret or key.consumer_secret, version="wc/v3", timeout=10)


def test_paging_headers_and_limits(fake):
    api = _api(fake)
    first = api.get("orders", params={"per_page": 100, "orderby": "id", "order": "asc"})
    assert (first.headers["X-WP-Total"], first.headers["X-WP-TotalPages"]) == ("150", "2")
    assert 'rel="next"' in first.headers["Link"] and "page=2" in first.headers["Link"]
    assert [o["id"] for o in first.json()] == list(range(1, 101))
    too_big = api.get("orders", params={"per_page": 101})
    assert too_big.status_code == 400 and too_big.json()["code"] == "rest_invalid_param"
    past_end = api.get("orders", params={"per_page": 100, "page": 3})
    assert past_end.json()["code"] == "rest_post_invalid_page_number"
    assert api.get("customers", params={"per_page": 100, "page": 9}).json() == []


def test_batches_above_100_are_refused(fake):
    answer = _api(fake).post("customers/batch", {"update": [{"id": 1}] * 101})
    assert answer.status_code == 413
    assert answer.json()["code"] == "woocommerce_rest_request_entity_too_large"


def test_authentication_errors(fake):
    bad = _api(fake, secret="cs_wrong").get("customers")
    assert bad.status_code == 401
    assert bad.json()["code"] == "woocommerce_rest_authentication_error"
    key = fake.default_key
    basic = requests.get(f"{fake.url}/wp-json/wc/v3/customers",
                         auth=(key.consumer_key, key.consumer_secret), timeout=10)
    assert basic.status_code == 200
    anonymous = requests.get(f"{fake.url}/wp-json/wc/v3/customers", timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "woocommerce_rest_cannot_view"
    read_only = fake.issue_key("read")
    refused = API(fake.url, read_only.consumer_key, read_only.consumer_secret,
                  version="wc/v3").post("coupons", {"code": "x"})
    assert refused.status_code == 401 and "write permissions" in refused.json()["message"]


def test_incremental_filter(fake):
    api = _api(fake)
    everything = int(api.get("orders").headers["X-WP-Total"])
    oid = 5
    fake.set_status(oid, "cancelled")
    since = fake.store.order(oid)["date_modified_gmt"][:-2] + "00"
    changed = api.get("orders", params={"modified_after": since, "dates_are_gmt": "true"})
    assert [o["id"] for o in changed.json()] == [oid] and everything == 150


def test_seeded_data_is_deterministic():
    with FakeWooCommerce(seed=3, customers=10, orders=30) as a, \
            FakeWooCommerce(seed=3, customers=10, orders=30) as b:
        assert a.store.order(17) == b.store.order(17)
        assert a.store.customer(4) == b.store.customer(4)
