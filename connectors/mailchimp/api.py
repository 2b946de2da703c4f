"""The official ``mailchimp-marketing`` client, behind the SDK's retry policy.

Two things are changed on the SDK's ``ApiClient`` instance, both through its own attributes:

- ``host`` when the connection names another base URL (the fake in tests, a proxy);
- ``request``, its transport: the SDK sends every call through module-level ``requests.get``
  and friends (a new TCP connection each time, no pool bound) and turns error responses into
  ``ApiClientError(text, status_code)``, dropping the headers and with them ``Retry-After``.
  Our transport sends through one pooled ``requests.Session`` whose pool is capped at the
  connection's limit (Mailchimp refuses more than 10 simultaneous connections per key) and
  classifies the response with ``connectors.sdk.raise_for_status`` while the headers are still
  there. The SDK wraps whatever the transport raises in ``ApiClientError``; ``call`` unwraps
  it, so ``RetryPolicy`` sees ``RetriableError`` (with ``retry_after``), ``AuthError`` or
  ``ApiError`` as for any other connector.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import mailchimp_marketing as MailchimpMarketing
import requests
from mailchimp_marketing.api_client import ApiClientError
from requests.adapters import HTTPAdapter

from connectors.sdk import ApiError, AuthError, RetriableError, RetryPolicy, raise_for_status

T = TypeVar("T")
TIMEOUT = 120.0  # Mailchimp cuts calls off after 120 s; so does the SDK by default


def datacenter(api_key: str) -> str:
    """``…-us21`` → ``us21``: the key's suffix names the data center its account lives in."""
    _, _, server = api_key.rpartition("-")
    if not server or not server.isalnum():
        raise ValueError("a Mailchimp API key ends with its data center, e.g. '-us21'")
    return server


class MailchimpApi:
    def __init__(self, api_key: str, *, policy: RetryPolicy, host: str | None = None,
                 max_connections: int = 10) -> None:
        self.policy = policy
        self.client = MailchimpMarketing.Client()
        self.client.set_config({"api_key": api_key, "server": datacenter(api_key), "timeout": TIMEOUT})
        if host:
            self.client.api_client.host = host.rstrip("/")
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max_connections, pool_block=True)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.auth = ("sadakat", api_key)
        self.client.api_client.request = self._send

    def _send(self, method: str, url: str, query_params: Any = None, headers: Any = None,
              body: Any = None) -> requests.Response:
        data = json.dumps(body) if body is not None and method in ("POST", "PUT", "PATCH") else None
        response = self.session.request(method, url, params=query_params, headers=headers,
                                        data=data, timeout=TIMEOUT)
        return raise_for_status(response)

    def call(self, fn: Callable[[], T]) -> T | None:
        """Run one SDK call under the retry policy; a 204's empty answer is ``None``."""

        def attempt() -> T | None:
            try:
                result = fn()
            except ApiClientError as exc:
                raise _translate(exc) from None
            return None if isinstance(result, requests.Response) else result

        return self.policy.call(attempt)

    def download(self, url: str) -> bytes:
        """Batch results live on a pre-signed storage URL: no credentials go there."""
        return self.policy.call(
            lambda: raise_for_status(requests.get(url, timeout=TIMEOUT))
        ).content

    def close(self) -> None:
        self.session.close()


def _translate(exc: ApiClientError) -> Exception:
    """What the transport raised, unwrapped; or, for an SDK-made error, its status classified."""
    if isinstance(exc.text, Exception):
        return exc.text
    status = exc.status_code
    text = exc.text if isinstance(exc.text, str) else json.dumps(exc.text)
    if status in (401, 403):
        return AuthError(f"Mailchimp refused the credentials ({status})", status, text)
    if status is None or status == 429 or status >= 500:
        return RetriableError(f"Mailchimp call failed ({status})", status, text)
    return ApiError(f"Mailchimp refused the call ({status})", status, text)
