"""The connector SDK: everything a connector needs, from one stable module.

Shipped connectors use exactly this surface. See ``docs/connectors.md``.
"""

from connectors.sdk.base import (
    AttributeUpdate,
    Capability,
    Connector,
    ConnectorSettings,
    ContactRef,
    IssuedReward,
    LoyaltyEvent,
    Page,
    PushResult,
    REQUEST_PATH_HEADER,
    SegmentChange,
    Unsupported,
    WebhookDelivery,
    WebhookHandler,
    WebhookRejected,
)
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
from integration.records import (
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
    RefundCreated,
    RefundRecord,
    ReviewApproved,
    RewardRequest,
    normalize_email,
)
from integration.models.orders import OrderStatus

__all__ = [
    "ApiError", "AttributeUpdate", "AuthError", "CallStats", "Capability", "ConnectionRemoved",
    "Connector", "ConnectorSettings", "Consent", "ConsentChanged", "ContactRecord", "ContactRef",
    "ContactUpserted", "CustomerDataRequested", "CustomerRecord", "CustomerRedactRequested",
    "CustomerUpserted", "EmailChanged", "Event", "HttpClient", "IssuedReward",
    "JsonCursorPaginator", "LinkHeaderPaginator", "LoyaltyEvent", "OrderDeleted",
    "OrderLineRecord", "OrderRecord", "OrderStatus", "OrderUpserted", "Page",
    "PageNumberPaginator", "PaginationLoop", "PushResult", "REQUEST_PATH_HEADER", "RefundCreated", "RefundRecord",
    "RetriableError", "RetryPolicy", "ReviewApproved", "RewardRequest", "SegmentChange",
    "Unsupported", "WebhookDelivery", "WebhookHandler", "WebhookRejected", "normalize_email",
    "parse_retry_after", "raise_for_status",
]
