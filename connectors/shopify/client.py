"""Talking to the Admin GraphQL API through ``ShopifyAPI``, within Shopify's cost budget.

The SDK builds the endpoint and the access-token header from a ``shopify.Session`` and posts with
urllib; it neither retries nor throttles and sets no timeout. This module adds exactly that:

- every call runs inside the connector's ``RetryPolicy`` (5xx, timeouts and resets retried with
  jittered backoff); urllib's errors are translated into ``RetriableError`` / ``AuthError`` /
  ``ApiError``;
- a local leaky-bucket estimate (``CostBucket``) fed by each response's ``extensions.cost`` makes
  a call wait just long enough for its requested cost to be available, so THROTTLED should not
  happen; if it does anyway, the wait before the retry is computed from the reported bucket.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import shopify

from connectors.sdk import ApiError, AuthError, RetriableError, RetryPolicy, parse_retry_after
from connectors.sdk.http import RETRIABLE_STATUS
from connectors.shopify.schema import API_VERSION

log = logging.getLogger(__name__)


class AdminSession(shopify.Session):
    """A ``shopify.Session`` whose base URL can point somewhere else than ``https://{shop}``.

    ``endpoint`` is for the fake Shopify in tests and the demo (``http://127.0.0.1:<port>``);
    empty means the real shop.
    """

    def __init__(self, shop: str, token: str | None, endpoint: str = "") -> None:
        super().__init__(shop, API_VERSION, token)
        self.endpoint = endpoint.rstrip("/")

    @property
    def base_url(self) -> str:
        return self.endpoint or f"https://{self.url}"

    @property
    def site(self) -> str:
        return self.version.api_path(self.base_url)


class _GraphQL(shopify.GraphQL):
    """The SDK's GraphQL client with a timeout (the SDK's ``urlopen`` has none, so a stalled
    connection would hang a sync forever) and without its printing of error bodies to stdout."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.headers = dict(self.headers)  # the SDK hands out its thread-local dict
        self.timeout = timeout

    def execute(self, query: str, variables: dict[str, Any] | None = None,
                operation_name: str | None = None) -> str:
        headers = {"Accept": "application/json", "Content-Type": "application/json",
                   **self.headers}
        data = json.dumps({"query": query, "variables": variables,
                           "operationName": operation_name}).encode()
        request = urllib.request.Request(self.endpoint, data, headers)
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return response.read().decode("utf-8")


def graphql_for(session: AdminSession, timeout: float) -> shopify.GraphQL:
    shopify.ShopifyResource.activate_session(session)
    try:
        return _GraphQL(timeout)
    finally:
        shopify.ShopifyResource.clear_session()


@dataclass
class CostBucket:
    """Our estimate of the shop's leaky bucket, corrected by every response.

    Until the first response tells us the real plan, assume the smallest one (1,000 points,
    restoring 50/s) so the first calls cannot overdraw a small bucket.
    """

    maximum: float = 1000.0
    available: float = 1000.0
    restore_rate: float = 50.0
    at: float = field(default_factory=time.monotonic)
    clock: Callable[[], float] = time.monotonic

    def estimate(self) -> float:
        return min(self.maximum, self.available + self.restore_rate * (self.clock() - self.at))

    def wait_for(self, cost: float) -> float:
        """Seconds until ``cost`` points are available (0 if they are now)."""
        deficit = min(cost, self.maximum) - self.estimate()
        return max(0.0, deficit / self.restore_rate)

    def spend(self, cost: float) -> None:
        self.available, self.at = self.estimate() - cost, self.clock()

    def observe(self, status: dict[str, Any]) -> None:
        self.maximum = float(status["maximumAvailable"])
        self.available = float(status["currentlyAvailable"])
        self.restore_rate = float(status["restoreRate"]) or self.restore_rate
        self.at = self.clock()


@dataclass
class CostLog:
    """What a run spent; the benchmark reads it to show how much of the budget it used."""

    requested: int = 0
    actual: int = 0
    throttled: int = 0
    waited_seconds: float = 0.0


class AdminClient:
    """One shop's Admin GraphQL endpoint: ``execute(document, variables) -> data``."""

    def __init__(self, session: AdminSession, policy: RetryPolicy, *, timeout: float = 30.0) -> None:
        self.session = session
        self.policy = policy
        self.graphql = graphql_for(session, timeout)
        self.bucket = CostBucket()
        self.costs = CostLog()
        self._requested: dict[str, int] = {}  # last requested cost per document

    def execute(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.policy.call(lambda: self._attempt(document, variables))

    def _attempt(self, document: str, variables: dict[str, Any] | None) -> dict[str, Any]:
        expected = self._requested.get(document, 0)
        wait = self.bucket.wait_for(expected)
        if wait > 0:
            self.costs.waited_seconds += wait
            self.policy.sleep(wait)
        self.bucket.spend(expected)
        body = self._post(document, variables)
        cost = (body.get("extensions") or {}).get("cost")
        if cost:
            self.bucket.observe(cost["throttleStatus"])
            self._requested[document] = int(cost["requestedQueryCost"])
            self.costs.requested += int(cost["requestedQueryCost"])
            self.costs.actual += int(cost.get("actualQueryCost") or 0)
        errors = body.get("errors") or []
        if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
            self.costs.throttled += 1
            needed = self._requested.get(document, expected)
            raise RetriableError("Shopify THROTTLED the call", 429, json.dumps(errors),
                                 retry_after=self.bucket.wait_for(needed))
        if errors:
            raise ApiError("GraphQL errors: " + "; ".join(e.get("message", "?") for e in errors),
                           200, json.dumps(errors))
        return body["data"]

    def _post(self, document: str, variables: dict[str, Any] | None) -> dict[str, Any]:
        try:
            raw = self.graphql.execute(document, variables)
        except urllib.error.HTTPError as exc:
            body = exc.read().decode("utf-8", "replace")
            message = f"Shopify answered {exc.code}"
            if exc.code in RETRIABLE_STATUS:
                raise RetriableError(message, exc.code, body,
                                     parse_retry_after(exc.headers.get("Retry-After"))) from None
            if exc.code in (401, 403):
                raise AuthError(message, exc.code, body) from None
            raise ApiError(message, exc.code, body) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError,
                http.client.HTTPException) as exc:
            raise RetriableError(f"transport failure talking to Shopify: {exc}") from None
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            raise RetriableError("Shopify answered with a body that is not JSON", 200, raw) from None
