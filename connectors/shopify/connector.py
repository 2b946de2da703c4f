"""The Shopify store connector, on the GraphQL Admin API (version 2026-07).

- Pull: a first (or ``full``) sync runs a bulk operation and streams its JSONL result; later
  syncs page through ``updated_at:>'…'`` sorted by ``UPDATED_AT``. Every page carries a cursor to
  resume from (bulk: operation id + objects done; paged: the page cursor), and the last page's
  cursor is the watermark for the next run, taken a little earlier than the newest change seen
  (``LAG``) because Shopify's search index trails writes.
- Push: loyalty attributes as ``sadakat`` customer metafields (``metafieldsSet``, 25 per call;
  a null attribute deletes its metafield), segments as ``sadakat:``-prefixed customer tags.
- Rewards: a customer-specific, single-use discount code whose code is derived from the
  redemption, so a retried creation finds its own code instead of minting a second one.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import SecretStr, field_validator

from connectors.sdk import (
    ApiError,
    AttributeUpdate,
    Capability,
    Connector,
    ConnectorSettings,
    ContactRef,
    HttpClient,
    IssuedReward,
    Page,
    PushResult,
    RetriableError,
    RetryPolicy,
    RewardRequest,
    SegmentChange,
)
from connectors.shopify import mapping, queries
from connectors.shopify.bulk import join_children
from connectors.shopify.client import AdminClient, AdminSession
from connectors.shopify.webhooks import ShopifyWebhooks

SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]\.myshopify\.com$")
LAG = timedelta(seconds=60)
# Bytes read from the socket at a time when streaming a bulk result: requests' default of 512
# made the reading loop, not the parsing, the cost of a 700 MB download.
DOWNLOAD_CHUNK = 1 << 16
# Compliance topics are not in WebhookSubscriptionTopic: an app declares them in its
# shopify.app.toml. Every other topic the handler reads is subscribed to through the API.
COMPLIANCE_TOPICS = {"customers/data_request", "customers/redact", "shop/redact"}
WEBHOOK_TOPICS = tuple(
    topic.upper().replace("/", "_") for topic in ShopifyWebhooks.topics
    if topic not in COMPLIANCE_TOPICS
)
METAFIELD_TYPES = {
    "points_balance": "number_integer",
    "pending_points": "number_integer",
    "points_expiring": "number_integer",
    "points_expiring_at": "date",
    "tier": "single_line_text_field",
}


def valid_shop(value: str) -> str:
    value = value.strip().lower().removeprefix("https://").rstrip("/")
    if not SHOP_DOMAIN.match(value):
        raise ValueError(f"{value!r} is not a shop domain like my-store.myshopify.com")
    return value


class ShopifySettings(ConnectorSettings):
    shop: str
    access_token: SecretStr
    api_secret: SecretStr  # the app's client secret: signs webhooks and OAuth redirects
    # "namespace.key" of a customer metafield holding the birthday (YYYY-MM-DD), if any.
    birthday_metafield: str = ""
    metafield_namespace: str = "sadakat"
    tag_prefix: str = "sadakat:"
    code_prefix: str = "SADAKAT-"
    # Base URL instead of https://{shop}: the fake Shopify in tests and the demo.
    endpoint: str = ""
    timeout: float = 30.0
    bulk_poll_seconds: float = 1.0
    # Records per page (= per committed transaction) when reading a bulk result.
    bulk_page_size: int = 1000

    @field_validator("shop")
    @classmethod
    def _shop_domain(cls, value: str) -> str:
        return valid_shop(value)

    @field_validator("birthday_metafield")
    @classmethod
    def _namespace_dot_key(cls, value: str) -> str:
        if value and "." not in value:
            raise ValueError("must be namespace.key, e.g. facts.birth_date")
        return value


def _metafield_value(key: str, value: Any) -> tuple[str, str] | None:
    """(type, value string) for metafieldsSet, or None when the metafield should be removed."""
    if value is None or value == "":
        return None
    if key in METAFIELD_TYPES:
        return METAFIELD_TYPES[key], str(value)
    if isinstance(value, bool):
        return "boolean", "true" if value else "false"
    if isinstance(value, int):
        return "number_integer", str(value)
    if isinstance(value, float | Decimal):
        return "number_decimal", str(value)
    if isinstance(value, datetime):
        return "date_time", value.isoformat()
    if isinstance(value, date):
        return "date", value.isoformat()
    if isinstance(value, list | tuple):
        return "list.single_line_text_field", json.dumps([str(v) for v in value])
    return "single_line_text_field", str(value)


class ShopifyConnector(Connector):
    name = "shopify"
    title = "Shopify"
    version = "2026-07"
    connect_with = "the app install (/auth/shopify/install?shop=...) or `sadakat shopify connect`"
    capabilities = frozenset({
        Capability.PULL, Capability.PUSH_ATTRIBUTES, Capability.PUSH_SEGMENTS,
        Capability.ISSUE_REWARDS, Capability.WEBHOOKS,
    })
    streams = ("customers", "orders")
    Settings = ShopifySettings
    webhooks = ShopifyWebhooks()
    push_batch_size = 25  # metafieldsSet's per-call maximum
    settings: ShopifySettings

    def __init__(self, settings: ShopifySettings, *, policy: RetryPolicy | None = None) -> None:
        super().__init__(settings, policy=policy)
        self.session = AdminSession(settings.shop, settings.access_token.get_secret_value(),
                                    settings.endpoint)
        self.client = AdminClient(self.session, self.policy, timeout=settings.timeout)
        self.files = HttpClient(timeout=settings.timeout, policy=self.policy)

    # -- identity ---------------------------------------------------------------------------

    def external_id(self) -> str:
        return self.settings.shop

    def webhook_secrets(self) -> list[str]:
        return [self.settings.api_secret.get_secret_value()]

    def check(self) -> None:
        self.client.execute(queries.SHOP)

    def shop(self) -> dict[str, Any]:
        return self.client.execute(queries.SHOP)["shop"]

    # -- pull -------------------------------------------------------------------------------

    @property
    def _birthday(self) -> tuple[str, str] | None:
        value = self.settings.birthday_metafield
        return tuple(value.split(".", 1)) if value else None  # type: ignore[return-value]

    def _record(self, stream: str, node: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]):
        if stream == "customers":
            return mapping.customer(node)
        return mapping.order(node, lines, code_prefix=self.settings.code_prefix)

    def pull(self, stream: str, cursor: str | None) -> Iterator[Page[Any]]:
        if stream not in self.streams:
            raise ApiError(f"shopify has no stream {stream!r}")
        state = json.loads(cursor) if cursor else {}
        if "since" in state and "bulk" not in state:
            return self._pull_updated(stream, state)
        return self._pull_bulk(stream, state)

    def _pull_bulk(self, stream: str, state: dict[str, Any]) -> Iterator[Page[Any]]:
        """Pages of the bulk result; each page is handed over once the next one is read, so
        the last page can carry the watermark instead of a resume position."""
        operation = self._finished_bulk(stream, state.get("bulk"))
        since = _stamp(datetime.fromisoformat(operation["createdAt"]) - LAG)
        skip = state.get("done", 0) if state.get("bulk") == operation["id"] else 0
        last: Page[Any] | None = None
        batch: list[Any] = []
        done = objects = 0
        for node, children in self._bulk_rows(operation):
            done += 1
            objects += 1 + len(children)
            if done <= skip:
                continue
            batch.append(self._record(stream, node, children))
            if len(batch) == self.settings.bulk_page_size:
                if last is not None:
                    yield last
                last = Page(batch, json.dumps({"bulk": operation["id"], "done": done}))
                batch = []
        if objects < int(operation.get("objectCount") or 0):
            # A download cut without an error (connection closed early) must not pass for the
            # whole result: the pages read so far are kept, the next run resumes after them.
            raise RetriableError(f"bulk result of {operation['id']} ended after {objects} of "
                                 f"{operation['objectCount']} objects")
        if batch:
            if last is not None:
                yield last
            last = Page(batch, "")
        last = last or Page([], "")
        last.cursor = json.dumps({"since": since})
        yield last

    def _bulk_rows(self, operation: Mapping[str, Any]):
        if not operation.get("url"):
            return iter(())  # a shop with nothing to export has no result file
        response = self.files.get(operation["url"], stream=True)
        return join_children(response.iter_lines(chunk_size=DOWNLOAD_CHUNK))

    def _finished_bulk(self, stream: str, resume_id: str | None) -> dict[str, Any]:
        """The completed bulk operation to read: the one being resumed if it is still there,
        otherwise a new one, polled until it finishes."""
        operation = None
        if resume_id:
            operation = self.client.execute(queries.BULK_STATUS, {"id": resume_id})["bulkOperation"]
            if not operation or operation["status"] in ("FAILED", "CANCELED", "EXPIRED"):
                operation = None
        if operation is None:
            document = (queries.bulk_customers(self._birthday) if stream == "customers"
                        else queries.BULK_ORDERS)
            result = self.client.execute(queries.BULK_RUN, {"query": document})
            started = result["bulkOperationRunQuery"]
            if started["userErrors"]:
                raise ApiError("bulkOperationRunQuery refused: " + _messages(started["userErrors"]))
            operation = started["bulkOperation"]
        while operation["status"] in ("CREATED", "RUNNING"):
            time.sleep(self.settings.bulk_poll_seconds)
            operation = self.client.execute(
                queries.BULK_STATUS, {"id": operation["id"]}
            )["bulkOperation"]
        if operation["status"] != "COMPLETED":
            raise ApiError(f"bulk operation {operation['id']} ended {operation['status']}"
                           f" ({operation.get('errorCode')})")
        return operation

    def _pull_updated(self, stream: str, state: dict[str, Any]) -> Iterator[Page[Any]]:
        since = state["since"]
        after = state.get("after")
        seen = datetime.fromisoformat(state.get("seen") or since)
        if stream == "customers":
            document = queries.customers_page(self._birthday)
            variables = {"first": queries.CUSTOMERS_PAGE}
        else:
            document = queries.ORDERS_PAGE_QUERY
            variables = {"first": queries.ORDERS_PAGE, "lines": queries.ORDER_LINES}
        while True:
            data = self.client.execute(document, {
                **variables, "after": after, "query": f"updated_at:>'{since}'",
            })[stream]
            records = []
            for node in data["nodes"]:
                seen = max(seen, datetime.fromisoformat(node["updatedAt"]))
                lines = self._all_lines(node) if stream == "orders" else ()
                records.append(self._record(stream, node, lines))
            info = data["pageInfo"]
            if not info["hasNextPage"]:
                watermark = max(datetime.fromisoformat(since), seen - LAG)
                yield Page(records, json.dumps({"since": _stamp(watermark)}))
                return
            after = info["endCursor"]
            yield Page(records, json.dumps({"since": since, "after": after, "seen": _stamp(seen)}))

    def _all_lines(self, order: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        connection = order["lineItems"]
        lines = list(connection["nodes"])
        while connection["pageInfo"]["hasNextPage"]:
            connection = self.client.execute(queries.ORDER_LINES_QUERY, {
                "id": order["id"], "first": queries.LINES_PAGE,
                "after": connection["pageInfo"]["endCursor"],
            })["order"]["lineItems"]
            lines.extend(connection["nodes"])
        return lines

    # -- push -------------------------------------------------------------------------------

    def push_attributes(self, updates: Sequence[AttributeUpdate]) -> PushResult:
        result = PushResult()
        batches: list[list[tuple[ContactRef, dict[str, str]]]] = [[]]
        removals: list[tuple[ContactRef, dict[str, str]]] = []
        for update in updates:
            if not update.contact.platform_id:
                result.skipped += 1  # a guest has no Shopify customer to carry metafields
                continue
            owner = mapping.gid("Customer", update.contact.platform_id)
            entries = []
            for key, value in update.attributes.items():
                identifier = {"ownerId": owner, "namespace": self.settings.metafield_namespace,
                              "key": key}
                typed = _metafield_value(key, value)
                if typed is None:
                    removals.append((update.contact, identifier))
                else:
                    entries.append((update.contact,
                                    {**identifier, "type": typed[0], "value": typed[1]}))
            # Keep a customer's metafields in one call where they fit, so a refused call
            # leaves each customer either fully pushed or fully not.
            if len(batches[-1]) + len(entries) > self.push_batch_size:
                batches.append([])
            for entry in entries:
                if len(batches[-1]) == self.push_batch_size:
                    batches.append([])
                batches[-1].append(entry)
        failed: dict[int, tuple[ContactRef, str]] = {}
        for batch in filter(None, batches):
            result.batches += 1
            payload = self.client.execute(
                queries.METAFIELDS_SET, {"metafields": [entry for _, entry in batch]}
            )["metafieldsSet"]
            errors = payload["userErrors"]
            if errors:
                # metafieldsSet is atomic: one bad entry and nothing in the call was saved.
                blamed = {e.get("elementIndex"): e["message"] for e in errors}
                for index, (contact, _) in enumerate(batch):
                    reason = blamed.get(index) or f"call refused: {_messages(errors)}"
                    failed.setdefault(contact.customer_id, (contact, reason))
        for start in range(0, len(removals), 250):  # any input list holds at most 250 items
            chunk = removals[start:start + 250]
            result.batches += 1
            payload = self.client.execute(
                queries.METAFIELDS_DELETE, {"metafields": [i for _, i in chunk]}
            )["metafieldsDelete"]
            if payload["userErrors"]:
                for contact, _ in chunk:
                    failed.setdefault(contact.customer_id,
                                      (contact, _messages(payload["userErrors"])))
        pushed = {u.contact.customer_id for u in updates if u.contact.platform_id}
        result.failed = list(failed.values())
        result.sent = len(pushed - failed.keys())
        return result

    def segment_tag(self, segment: str) -> str:
        return self.settings.tag_prefix + segment.replace(",", " ").strip()

    def push_segment(self, change: SegmentChange) -> PushResult:
        result = PushResult()
        tag = self.segment_tag(change.segment)
        for document, field, contacts in (
            (queries.TAGS_ADD, "tagsAdd", change.added),
            (queries.TAGS_REMOVE, "tagsRemove", change.removed),
        ):
            for contact in contacts:
                if not contact.platform_id:
                    result.skipped += 1
                    continue
                result.batches += 1
                payload = self.client.execute(document, {
                    "id": mapping.gid("Customer", contact.platform_id), "tags": [tag],
                })[field]
                if payload["userErrors"]:
                    result.failed.append((contact, _messages(payload["userErrors"])))
                else:
                    result.sent += 1
        return result

    # -- rewards ----------------------------------------------------------------------------

    def reward_code(self, redemption_id: int) -> str:
        """Unguessable, yet the same on every attempt for one redemption."""
        secret = self.settings.access_token.get_secret_value()
        tail = hashlib.sha256(f"{secret}:{redemption_id}".encode()).hexdigest()[:8].upper()
        return f"{self.settings.code_prefix}{redemption_id}-{tail}"

    def issue_reward(self, request: RewardRequest) -> IssuedReward:
        if not request.customer_platform_id:
            raise ApiError("the customer has no Shopify account to tie a code to")
        code = self.reward_code(request.redemption_id)
        discount: dict[str, Any] = {
            "title": f"{request.title} ({code})",
            "code": code,
            "startsAt": _stamp(datetime.now(UTC)),
            "usageLimit": 1,
            "appliesOncePerCustomer": True,
            "context": {"customers": {"add": [mapping.gid("Customer", request.customer_platform_id)]}},
        }
        if request.expires_at is not None:
            discount["endsAt"] = _stamp(request.expires_at)
        if request.min_order > 0:
            discount["minimumRequirement"] = {
                "subtotal": {"greaterThanOrEqualToSubtotal": str(request.min_order)}
            }
        if request.kind == "free_shipping":
            discount["destination"] = {"all": True}
            document, field = queries.DISCOUNT_FREE_SHIPPING_CREATE, "discountCodeFreeShippingCreate"
        else:
            discount["customerGets"] = _customer_gets(request)
            document, field = queries.DISCOUNT_BASIC_CREATE, "discountCodeBasicCreate"
        payload = self.client.execute(document, {"discount": discount})[field]
        errors = payload["userErrors"]
        if errors and all(e.get("code") == "TAKEN" and "code" in (e.get("field") or [])
                          for e in errors):
            # An earlier attempt created it (its answer was lost): the code is ours.
            return IssuedReward(code=code, expires_at=request.expires_at)
        if errors:
            raise ApiError(f"Shopify refused the discount code: {_messages(errors)}")
        node = payload["codeDiscountNode"] or {}
        return IssuedReward(code=code, platform_id=node.get("id", ""),
                            expires_at=request.expires_at)

    # -- webhooks ---------------------------------------------------------------------------

    def register_webhooks(self, url: str) -> list[str]:
        registered = []
        for topic in WEBHOOK_TOPICS:
            payload = self.client.execute(
                queries.WEBHOOK_SUBSCRIBE, {"topic": topic, "uri": url}
            )["webhookSubscriptionCreate"]
            errors = payload["userErrors"]
            if errors and not all("already been taken" in e["message"] for e in errors):
                raise ApiError(f"webhook {topic} refused: {_messages(errors)}")
            registered.append(topic)
        return registered


def _customer_gets(request: RewardRequest) -> dict[str, Any]:
    if request.kind == "percent":
        return {"value": {"percentage": float(request.value / 100)}, "items": {"all": True}}
    if request.kind == "fixed_amount":
        return {"value": {"discountAmount": {"amount": str(request.value),
                                             "appliesOnEachItem": False}},
                "items": {"all": True}}
    if request.kind == "free_product":
        if not request.product_id:
            raise ApiError("a free-product reward needs a product id")
        return {"value": {"percentage": 1.0},
                "items": {"products": {"productsToAdd": [mapping.gid("Product", request.product_id)]}}}
    raise ApiError(f"unknown reward kind {request.kind!r}")


def _messages(errors: Sequence[Mapping[str, Any]]) -> str:
    return "; ".join(
        f"{'.'.join(map(str, e.get('field') or [])) or '-'}: {e.get('message')}" for e in errors
    )


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
