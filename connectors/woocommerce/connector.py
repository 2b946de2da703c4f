"""The WooCommerce connector, on the official ``woocommerce`` SDK (REST API v3).

The SDK does the HTTP (Basic auth over https, OAuth 1.0a signatures over http) and returns
``requests.Response``; every call goes through ``raise_for_status`` inside ``self.policy.call``,
so 429/5xx/timeouts are retried with backoff and 401/403 become ``AuthError``.

Streams:

- ``orders``: ``orderby=id&order=asc``, ``per_page=100``, paged by ``X-WP-TotalPages``;
  incremental by ``modified_after`` (GMT) from the newest ``date_modified_gmt`` seen, minus a
  lag window re-read to catch changes made while the last sync ran. Guests come with their orders.
- ``customers``: WooCommerce has no modified-since filter for customers (woocommerce#41371),
  so the stream pages by id and an incremental run resumes one page before where the last one
  ended: new customers arrive; profile changes arrive by ``customer.updated`` webhooks, with the
  orders' billing data, and with a ``full`` sync.

The cursor is JSON: the query's ``since`` plus the next ``page`` and the newest modification
seen so far, so a crash resumes mid-stream; after the last page it holds only the next ``since``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import requests
from pydantic import Field, SecretStr, field_validator, model_validator
from woocommerce import API

from connectors.sdk import (
    ApiError,
    AttributeUpdate,
    AuthError,
    Capability,
    Connector,
    ConnectorSettings,
    IssuedReward,
    Page,
    PageNumberPaginator,
    PushResult,
    RetriableError,
    RewardRequest,
    raise_for_status,
)
from connectors.woocommerce.mapping import REWARD_PREFIX, customer_record, gmt, order_record
from connectors.woocommerce.webhooks import TOPICS, WooCommerceWebhooks

log = logging.getLogger(__name__)

PER_PAGE = 100  # WooCommerce's maximum (rest_invalid_param above it)
BATCH_LIMIT = 100  # customers/batch items per call (413 above it)
META_PREFIX = "_sadakat_"
LAG = timedelta(minutes=10)
_QUERY = re.compile(r"\?[^\s)'\"]*")

INSECURE_HTTP = (
    "{url} is plain http: the consumer key and secret, and every customer's data, would cross "
    "the network unencrypted. Use the site's https:// address, or set allow_insecure_http only "
    "for a site on your own machine or private network."
)


def normalize_site(url: str) -> str:
    """``HTTPS://Shop.example/`` → ``https://shop.example``: the connection's external id."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{url!r} is not a site address (https://your-shop.example)")
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


class WooCommerceSettings(ConnectorSettings):
    url: str
    consumer_key: SecretStr
    consumer_secret: SecretStr
    allow_insecure_http: bool = False
    timeout: float = Field(default=30.0, gt=0, le=300)
    # Webhook id -> its secret (each webhook is created with a fresh one).
    webhook_secrets: dict[str, SecretStr] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _site(cls, value: str) -> str:
        return normalize_site(value)

    @model_validator(mode="after")
    def _https_only(self) -> WooCommerceSettings:
        if self.url.startswith("http://") and not self.allow_insecure_http:
            raise ValueError(INSECURE_HTTP.format(url=self.url))
        return self

    @classmethod
    def secret_fields(cls) -> set[str]:
        return super().secret_fields() | {"webhook_secrets"}

    def split(self) -> tuple[dict[str, Any], dict[str, Any]]:
        plain, hidden = super().split()
        hidden["webhook_secrets"] = {
            hook: secret.get_secret_value() for hook, secret in self.webhook_secrets.items()
        }
        return plain, hidden


class WooCommerceConnector(Connector):
    name = "woocommerce"
    title = "WooCommerce"
    version = "1"
    connect_with = "`sadakat woocommerce authorize` (the site grants keys) or `sadakat woocommerce connect`"
    capabilities = frozenset({
        Capability.PULL, Capability.PUSH_ATTRIBUTES, Capability.ISSUE_REWARDS, Capability.WEBHOOKS,
    })
    streams = ("customers", "orders")
    Settings = WooCommerceSettings
    webhooks = WooCommerceWebhooks()
    push_batch_size = BATCH_LIMIT
    # Records per pull request: WooCommerce's maximum; smaller only in tests of paging.
    page_size: int = PER_PAGE

    settings: WooCommerceSettings

    def __init__(self, settings: WooCommerceSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.api = API(
            settings.url,
            settings.consumer_key.get_secret_value(),
            settings.consumer_secret.get_secret_value(),
            version="wc/v3",
            timeout=settings.timeout,
        )

    # -- plumbing ----------------------------------------------------------------------------

    def _call(self, method: str, endpoint: str, **kwargs: Any) -> requests.Response:
        def once() -> requests.Response:
            return raise_for_status(getattr(self.api, method)(endpoint, **kwargs))

        try:
            return self.policy.call(once)
        except AuthError as exc:
            raise AuthError(
                f"WooCommerce at {self.settings.url} refused the API keys ({exc.status}): they "
                "were revoked or lack read_write permission. Reconnect the store.",
                exc.status, exc.body,
            ) from exc
        except RetriableError as exc:
            raise RetriableError(_explain(method, endpoint, exc), exc.status, exc.body,
                                 exc.retry_after) from exc
        except ApiError as exc:
            raise ApiError(_explain(method, endpoint, exc), exc.status, exc.body) from exc

    def external_id(self) -> str:
        return self.settings.url

    def webhook_secrets(self) -> list[str]:
        return [s.get_secret_value() for s in self.settings.webhook_secrets.values()]

    def check(self) -> None:
        self._call("get", "customers", params={"per_page": 1})

    # -- pull --------------------------------------------------------------------------------

    def pull(self, stream: str, cursor: str | None) -> Iterator[Page[Any]]:
        state = json.loads(cursor) if cursor else {}
        if stream == "orders":
            return self._orders(state)
        if stream == "customers":
            return self._customers(state)
        return super().pull(stream, cursor)

    def _pages(self, endpoint: str, params: dict[str, Any], page: int
               ) -> Iterator[tuple[list[dict[str, Any]], int | None, int]]:
        """(rows, next page or None, total pages), page after page from ``page``."""
        paginator = PageNumberPaginator()
        while True:
            try:
                response = self._call("get", endpoint, params={
                    **params, "per_page": self.page_size, "page": page})
            except ApiError as exc:
                # Resuming past the end (orders deleted meanwhile): nothing left to read.
                if exc.status == 400 and "rest_post_invalid_page_number" in exc.body:
                    yield [], None, page - 1
                    return
                raise
            nxt = paginator.next_page(response, page)
            total = int(response.headers.get("X-WP-TotalPages") or 0)
            yield response.json(), nxt, total
            if nxt is None:
                return
            page = nxt

    def _orders(self, state: dict[str, Any]) -> Iterator[Page[Any]]:
        since: str | None = state.get("since")
        high: str | None = state.get("high")
        params: dict[str, Any] = {"orderby": "id", "order": "asc"}
        if since:
            params.update(modified_after=since, dates_are_gmt="true")
        for rows, nxt, _ in self._pages("orders", params, state.get("page") or 1):
            records = _mapped(order_record, rows, "order")
            stamps = [row["date_modified_gmt"] for row in rows if row.get("date_modified_gmt")]
            high = max([high, *stamps], key=lambda s: s or "") or None
            if nxt is not None:
                yield Page(records, json.dumps({"since": since, "page": nxt, "high": high}))
                continue
            following = since
            if high:
                following = max(since or "", (gmt(high) - LAG).strftime("%Y-%m-%dT%H:%M:%S"))
            yield Page(records, json.dumps({"since": following}))

    def _customers(self, state: dict[str, Any]) -> Iterator[Page[Any]]:
        params = {"orderby": "id", "order": "asc"}
        start = state.get("page") or state.get("resume") or 1
        for rows, nxt, total in self._pages("customers", params, start):
            records = _mapped(customer_record, rows, "customer")
            if nxt is not None:
                yield Page(records, json.dumps({"page": nxt}))
            else:
                yield Page(records, json.dumps({"resume": max(1, total - 1)}))

    # -- push --------------------------------------------------------------------------------

    def push_attributes(self, updates: Sequence[AttributeUpdate]) -> PushResult:
        """Loyalty attributes into customer ``meta_data`` (``_sadakat_*``), 100 per batch.

        Guests have no WooCommerce customer to hold meta: they are skipped and counted.
        """
        result = PushResult()
        addressable = []
        for update in updates:
            if update.contact.platform_id and update.contact.platform_id.isdigit():
                addressable.append(update)
            else:
                result.skipped += 1
        for start in range(0, len(addressable), BATCH_LIMIT):
            chunk = addressable[start:start + BATCH_LIMIT]
            body = {"update": [
                {"id": int(u.contact.platform_id), "meta_data": [
                    {"key": f"{META_PREFIX}{name}", "value": "" if value is None else value}
                    for name, value in u.attributes.items()
                ]}
                for u in chunk
            ]}
            answers = self._call("post", "customers/batch", data=body).json().get("update") or []
            result.batches += 1
            by_id = {a.get("id"): a for a in answers if isinstance(a, dict)}
            for update in chunk:
                answer = by_id.get(int(update.contact.platform_id))
                if answer is None:
                    result.failed.append((update.contact, "missing from the batch response"))
                elif "error" in answer:
                    err = answer["error"] or {}
                    result.failed.append(
                        (update.contact, f"{err.get('code', 'error')}: {err.get('message', '')}")
                    )
                else:
                    result.sent += 1
        return result

    # -- rewards -----------------------------------------------------------------------------

    def coupon_code(self, redemption_id: int) -> str:
        """Deterministic (a retried request finds its coupon) and unguessable (keyed by the
        consumer secret). WooCommerce stores codes lower-cased."""
        tag = hmac.new(self.settings.consumer_secret.get_secret_value().encode(),
                       f"redemption:{redemption_id}".encode(), hashlib.sha256).hexdigest()[:8]
        return f"{REWARD_PREFIX}{redemption_id}-{tag}"

    def issue_reward(self, request: RewardRequest) -> IssuedReward:
        if not request.customer_email:
            raise ApiError("the customer has no e-mail; WooCommerce coupons are restricted by "
                           "e-mail, so the reward cannot be issued safely")
        code = self.coupon_code(request.redemption_id)
        body: dict[str, Any] = {
            "code": code,
            "description": f"Sadakat reward: {request.title}",
            "email_restrictions": [request.customer_email],
            "usage_limit": 1,
            "usage_limit_per_user": 1,
            "individual_use": True,
            **_discount(request),
        }
        if request.min_order > 0:
            body["minimum_amount"] = f"{request.min_order:.2f}"
        if request.expires_at is not None:
            body["date_expires_gmt"] = request.expires_at.strftime("%Y-%m-%dT%H:%M:%S")
        try:
            coupon = self._call("post", "coupons", data=body).json()
        except ApiError as exc:
            if exc.status == 400 and "coupon_code_already_exists" in exc.body:
                coupon = self._existing_coupon(code)  # our own earlier attempt succeeded
            else:
                raise
        return IssuedReward(code=coupon["code"], platform_id=str(coupon["id"]),
                            expires_at=request.expires_at)

    def _existing_coupon(self, code: str) -> dict[str, Any]:
        found = self._call("get", "coupons", params={"code": code}).json()
        if not found:
            raise ApiError(f"coupon {code} reported as existing but not found")
        return found[0]

    # -- webhooks ----------------------------------------------------------------------------

    def register_webhooks(self, base_url: str) -> list[str]:
        """Make one active webhook per topic deliver to ``base_url`` (this connection's receiver
        URL), each with a fresh secret. Webhooks WooCommerce disabled after failed deliveries
        are re-activated with a new secret; missing ones are created. Persist
        ``self.settings.split()`` afterwards: the secrets changed."""
        existing = self._call("get", "webhooks", params={"per_page": PER_PAGE}).json()
        ours = {h["topic"]: h for h in existing if h.get("delivery_url") == base_url}
        kept = {k: v for k, v in self.settings.webhook_secrets.items()
                if any(str(h["id"]) == k for h in ours.values())}
        for topic in TOPICS:
            hook = ours.get(topic)
            if hook and hook.get("status") == "active" and str(hook["id"]) in kept:
                continue
            secret = secrets.token_urlsafe(32)
            if hook:
                self._call("put", f"webhooks/{hook['id']}", data={"status": "active", "secret": secret})
                hook_id = hook["id"]
            else:
                hook_id = self._call("post", "webhooks", data={
                    "name": f"Sadakat {topic}", "topic": topic, "delivery_url": base_url,
                    "secret": secret, "status": "active",
                }).json()["id"]
            kept[str(hook_id)] = SecretStr(secret)
        self.settings = self.settings.model_copy(update={"webhook_secrets": kept})
        return list(TOPICS)


def _mapped(mapper: Callable[[dict[str, Any]], Any], rows: list[dict[str, Any]], kind: str
            ) -> list[Any]:
    """Map a page; a record WooCommerce sent malformed is logged and skipped, so one bad row
    cannot stop every future sync at the same page (its webhook keeps it in the inbox)."""
    records = []
    for row in rows:
        try:
            records.append(mapper(row))
        except ValueError as exc:
            log.error("WooCommerce %s %s skipped: %s", kind, row.get("id"), exc)
    return records


def _explain(method: str, endpoint: str, exc: ApiError) -> str:
    """WooCommerce's own error code and message, without the request URL: over http the SDK
    puts the OAuth parameters (consumer key included) in it, and errors end up in logs and
    on redemptions."""
    try:
        body = json.loads(exc.body)
        detail = f"{body['code']}: {body['message']}"
    except (ValueError, KeyError, TypeError):
        detail = str(exc).rsplit(" -> ", 1)[-1] if exc.status else _QUERY.sub("?...", str(exc))
    status = f" ({exc.status})" if exc.status else ""
    return f"WooCommerce {method.upper()} {endpoint}{status}: {detail}"


def _discount(request: RewardRequest) -> dict[str, Any]:
    if request.kind == "fixed_amount":
        return {"discount_type": "fixed_cart", "amount": f"{request.value:.2f}"}
    if request.kind == "percent":
        return {"discount_type": "percent", "amount": f"{request.value:.2f}"}
    if request.kind == "free_shipping":
        return {"discount_type": "fixed_cart", "amount": "0", "free_shipping": True}
    if not request.product_id.isdigit():
        raise ApiError(f"free product reward needs a WooCommerce product id, got {request.product_id!r}")
    return {"discount_type": "percent", "amount": f"{Decimal(100):.2f}",
            "product_ids": [int(request.product_id)], "limit_usage_to_x_items": 1}
