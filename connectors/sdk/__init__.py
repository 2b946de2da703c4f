"""The connector SDK: everything a connector needs, from one stable module.

Shipped connectors and third-party packages use exactly this surface (``from connectors.sdk
import ...``); the submodules are implementation detail. ``docs/connectors.md`` is the tutorial
and the reference. In short:

- the contract: ``Connector`` (declared ``name``, ``capabilities``, ``streams``, ``Settings``,
  ``webhooks``) and ``WebhookHandler``; ``Capability`` flags; ``Page``, ``AttributeUpdate``,
  ``SegmentChange``, ``PushResult`` and friends;
- settings: ``ConnectorSettings`` (``SecretStr`` fields are secrets), ``SettingField``,
  ``InvalidSettings``;
- records and events the core accepts: ``CustomerRecord``, ``OrderRecord``, ``ContactRecord``,
  ``OrderUpserted``, ...;
- HTTP: ``HttpClient`` with one ``RetryPolicy`` (429/5xx, ``Retry-After``), ``ApiError``,
  ``AuthError``, ``RetriableError``; paginators with loop detection;
- cursors: ``CursorStore`` (the sync runner owns it; connectors only yield cursors);
- discovery: ``installed()``, ``connector_class()``, entry-point group ``GROUP``.

For tests: the conformance suite ``connectors.sdk.conformance`` (needs pytest) and the
fake-server base ``connectors.sdk.fakes.FakePlatform``; neither is imported here.
"""

from connectors.sdk.base import (
    AttributeUpdate,
    Capability,
    Connector,
    ConnectorSettings,
    ContactRef,
    InvalidSettings,
    IssuedReward,
    LoyaltyEvent,
    Page,
    PushResult,
    REQUEST_PATH_HEADER,
    Refusal,
    RefusalReason,
    SegmentChange,
    SettingField,
    Unsupported,
    WebhookDelivery,
    WebhookHandler,
    WebhookRejected,
)
from connectors.sdk.cursors import CursorStore
from connectors.sdk.http import (
    ApiError,
    AuthError,
    CallStats,
    HttpClient,
    RetriableError,
    RetryPolicy,
    parse_retry_after,
    raise_for_status,
)
from connectors.sdk.paging import (
    JsonCursorPaginator,
    LinkHeaderPaginator,
    PageNumberPaginator,
    PaginationLoop,
)
from connectors.sdk.registry import GROUP, Installed, connector_class, installed
from integration.records import (
    AnyEvent,
    Consent,
    ConnectionRemoved,
    ConsentChanged,
    ContactRecord,
    ContactUpserted,
    CustomerDataRequested,
    CustomerRecord,
    CustomerRedactRequested,
    CustomerUpserted,
    EmailChanged,
    Event,
    OrderDeleted,
    OrderLineRecord,
    OrderRecord,
    OrderUpserted,
    Record,
    RefundCreated,
    RefundRecord,
    ReviewApproved,
    RewardRequest,
    normalize_email,
)
from integration.models.orders import OrderStatus

__all__ = [
    "GROUP", "AnyEvent", "ApiError", "AttributeUpdate", "AuthError", "CallStats", "Capability",
    "ConnectionRemoved", "Connector", "ConnectorSettings", "Consent", "ConsentChanged",
    "ContactRecord", "ContactRef", "ContactUpserted", "CursorStore", "CustomerDataRequested",
    "CustomerRecord", "CustomerRedactRequested", "CustomerUpserted", "EmailChanged", "Event",
    "HttpClient", "Installed", "InvalidSettings", "IssuedReward", "JsonCursorPaginator",
    "LinkHeaderPaginator", "LoyaltyEvent", "OrderDeleted", "OrderLineRecord", "OrderRecord",
    "OrderStatus", "OrderUpserted", "Page", "PageNumberPaginator", "PaginationLoop", "PushResult",
    "REQUEST_PATH_HEADER", "Record", "Refusal", "RefusalReason", "RefundCreated", "RefundRecord", "RetriableError", "RetryPolicy", "ReviewApproved",
    "RewardRequest", "SegmentChange", "SettingField", "Unsupported", "WebhookDelivery",
    "WebhookHandler", "WebhookRejected", "connector_class", "installed", "normalize_email",
    "parse_retry_after", "raise_for_status",
]
