"""The Generic Store connector: pulls customers and orders from the paged REST export, pushes
loyalty attributes in batches of 100, and reads Standard Webhooks deliveries."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from connectors.sdk import (
    AttributeUpdate,
    Capability,
    Connector,
    ConnectorSettings,
    HttpClient,
    JsonCursorPaginator,
    Page,
    PushResult,
)
from sadakat_generic_store import mapping, signing
from sadakat_generic_store.webhooks import GenericStoreWebhooks

__version__ = "0.1.0"


class GenericStoreSettings(ConnectorSettings):
    base_url: str = Field(description="Root of the store's API, e.g. https://shop.example.com")
    api_key: SecretStr = Field(min_length=8, description="Bearer token from the store's admin")
    webhook_secret: SecretStr = Field(description="The whsec_... signing secret of the webhook endpoint")
    page_size: int = Field(default=50, ge=1, le=100, description="Records per page (the API allows 100)")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL such as https://shop.example.com")
        return value.rstrip("/")

    @field_validator("webhook_secret")
    @classmethod
    def _whsec(cls, value: SecretStr) -> SecretStr:
        signing.secret_key(value.get_secret_value())  # raises ValueError with the reason
        return value


class GenericStoreConnector(Connector):
    name = "generic_store"
    title = "Generic Store (Standard Webhooks + REST export)"
    version = __version__
    capabilities = frozenset({Capability.PULL, Capability.PUSH_ATTRIBUTES, Capability.WEBHOOKS})
    streams = ("customers", "orders")
    Settings = GenericStoreSettings
    webhooks = GenericStoreWebhooks()
    push_batch_size = 100  # POST /v1/customers/attributes accepts at most 100 updates

    settings: GenericStoreSettings

    def __init__(self, settings: GenericStoreSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.http = HttpClient(
            settings.base_url, policy=self.policy, timeout=20,
            headers={"Authorization": f"Bearer {settings.api_key.get_secret_value()}"},
        )

    def external_id(self) -> str:
        return urlsplit(self.settings.base_url).netloc

    def webhook_secrets(self) -> list[str]:
        return [self.settings.webhook_secret.get_secret_value()]

    def check(self) -> None:
        self.http.get("/v1/ping")

    def pull(self, stream: str, cursor: str | None) -> Iterator[Page[Any]]:
        if stream not in self.streams:
            raise ValueError(f"unknown stream {stream!r}")
        to_record = mapping.customer if stream == "customers" else mapping.order
        # stops the sync with PaginationLoop if the store ever hands out the same cursor twice
        pager = JsonCursorPaginator(extract=lambda body: (body["has_more"], body["next"]))
        while True:
            params: dict[str, Any] = {"limit": self.settings.page_size}
            if cursor:
                params["after"] = cursor
            body = self.http.get(f"/v1/{stream}", params=params).json()
            # ``next`` is the position after the last row returned; on the last page it is the
            # watermark the next incremental run starts from.
            cursor = body["next"] or cursor or ""
            yield Page([to_record(row) for row in body["data"]], cursor)
            if pager.next_cursor(body) is None:
                return

    def push_attributes(self, updates: Sequence[AttributeUpdate]) -> PushResult:
        result = PushResult()
        for start in range(0, len(updates), self.push_batch_size):
            batch = updates[start:start + self.push_batch_size]
            addressable = [u for u in batch if u.contact.platform_id]
            result.skipped += len(batch) - len(addressable)  # never seen in this store
            if not addressable:
                continue
            body = self.http.post("/v1/customers/attributes", json={"updates": [
                {"customer_id": int(u.contact.platform_id), "attributes": dict(u.attributes)}
                for u in addressable
            ]}).json()
            refused = {str(e["customer_id"]): e["message"] for e in body["errors"]}
            result.batches += 1
            result.sent += len(addressable) - len(refused)
            result.failed.extend(
                (u.contact, refused[u.contact.platform_id]) for u in addressable
                if u.contact.platform_id in refused
            )
        return result
