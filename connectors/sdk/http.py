"""One HTTP retry policy for every connector.

429 and 5xx responses and connection errors/timeouts are retried with exponential backoff and
full jitter; ``Retry-After`` (seconds or HTTP date) is obeyed when the platform sends it. 4xx
other than 429 is fatal: retrying a bad request only repeats it. 401/403 raise ``AuthError`` so
the caller can mark the connection as needing attention.

Official SDKs that use ``requests`` underneath (``woocommerce``, ``ShopifyAPI``'s GraphQL client
via urllib is the exception) get the same policy by calling through ``RetryPolicy.call``.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRIABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class ApiError(Exception):
    """A platform call failed for good (after retries, or at once for a fatal status)."""

    def __init__(self, message: str, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body[:2000]


class AuthError(ApiError):
    """Credentials were refused (401/403): revoked keys, uninstalled app, missing scope."""


class RetriableError(ApiError):
    """A failure worth retrying; ``retry_after`` is the platform's own wait hint in seconds."""

    def __init__(self, message: str, status: int | None = None, body: str = "",
                 retry_after: float | None = None) -> None:
        super().__init__(message, status, body)
        self.retry_after = retry_after


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def raise_for_status(response: requests.Response) -> requests.Response:
    """Classify a response: return it if 2xx/3xx, raise the right ApiError otherwise."""
    status = response.status_code
    if status < 400:
        return response
    message = f"{response.request.method} {response.url} -> {status}"
    if status in RETRIABLE_STATUS:
        raise RetriableError(message, status, response.text,
                             parse_retry_after(response.headers.get("Retry-After")))
    if status in (401, 403):
        raise AuthError(message, status, response.text)
    raise ApiError(message, status, response.text)


@dataclass
class CallStats:
    """What a job records about its API use."""

    calls: int = 0
    retries: int = 0
    throttled: int = 0
    waited_seconds: float = 0.0


@dataclass
class RetryPolicy:
    attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    stats: CallStats = field(default_factory=CallStats)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(self.max_delay, retry_after)
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** attempt))

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` until it succeeds, raises a fatal error, or attempts run out."""
        for attempt in range(self.attempts):
            self.stats.calls += 1
            try:
                return fn()
            except RetriableError as exc:
                error: Exception = exc
                retry_after = exc.retry_after
                if exc.status == 429:
                    self.stats.throttled += 1
            except (requests.ConnectionError, requests.Timeout) as exc:
                error, retry_after = exc, None
            if attempt == self.attempts - 1:
                break
            wait = self.delay(attempt, retry_after)
            log.warning("retrying after %.2fs (attempt %d): %s", wait, attempt + 1, error)
            self.stats.retries += 1
            self.stats.waited_seconds += wait
            self.sleep(wait)
        if isinstance(error, ApiError):
            raise error
        raise RetriableError(f"giving up after {self.attempts} attempts: {error}") from error


class HttpClient:
    """A ``requests`` session with timeouts always set and the retry policy applied."""

    def __init__(self, base_url: str = "", *, timeout: float = 30.0,
                 policy: RetryPolicy | None = None, headers: dict[str, str] | None = None,
                 auth: Any = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self.session = requests.Session()
        self.session.headers.update(headers or {})
        self.session.auth = auth

    @property
    def stats(self) -> CallStats:
        return self.policy.stats

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"
        kwargs.setdefault("timeout", self.timeout)
        return self.policy.call(
            lambda: raise_for_status(self.session.request(method, url, **kwargs))
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        self.session.close()
