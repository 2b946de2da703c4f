"""The connector contract: a handful of methods plus declared capabilities.

A connector is a class that declares its ``name``, the ``capabilities`` it has, the ``streams``
it can pull, and a pydantic ``Settings`` model (fields typed ``SecretStr`` are secrets: the core
stores them encrypted). It overrides only the methods its capabilities promise; the core never
calls a method whose capability is not declared.

Pulls are resumable: ``pull(stream, cursor)`` yields ``Page``s, each carrying the cursor to resume
*after* that page. The core applies a page's records and stores its cursor in one transaction, so
a crash replays at most one page, and replays are harmless (events are idempotent).

Pushes receive only what changed since the last successful push (the core keeps that state) and
return a ``PushResult``; they batch at the platform's maximum and never change a contact's
marketing consent. A contact the platform refuses for good (``PushResult.refused``, with a
``RefusalReason``) is stored by the core and left out of later pushes until something that
would change the platform's answer happens; a contact that failed for now (``failed``) is sent
again next push. Neither holds up the other contacts of the call.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from connectors.sdk.http import CallStats, RetryPolicy
from integration.records import Event, Record, RewardRequest

R = TypeVar("R", bound=Record)


class Capability(StrEnum):
    PULL = "pull"                          # streams of customers / orders / contacts
    PUSH_ATTRIBUTES = "push_attributes"    # points, tier, expiry, CLV onto the platform's profile
    PUSH_SEGMENTS = "push_segments"        # segment membership as tags or lists
    PUSH_EVENTS = "push_events"            # "Points Earned" etc. for flows and journeys
    ISSUE_REWARDS = "issue_rewards"        # redemptions become discount codes / coupons
    WEBHOOKS = "webhooks"                  # the platform notifies us; see ``WebhookHandler``
    ERASE = "erase"                        # delete a contact for a redaction request


class Unsupported(NotImplementedError):
    """Raised by a contract method the connector did not declare a capability for."""


@dataclass(frozen=True)
class SettingField:
    """One declared setting, as an admin form or ``sadakat connectors list`` shows it."""

    name: str
    type: str
    required: bool
    secret: bool
    default: Any = None
    description: str = ""


class InvalidSettings(ValueError):
    """Settings a merchant entered were refused; ``problems`` maps each field to its reason."""

    def __init__(self, connector: str, problems: dict[str, str]) -> None:
        self.problems = problems
        details = "; ".join(f"{name}: {reason}" for name, reason in problems.items())
        super().__init__(f"invalid {connector} settings: {details}")


def _type_name(annotation: Any) -> str:
    """``SecretStr | None`` rather than ``pydantic.types.SecretStr | None``."""
    if isinstance(annotation, type):
        return annotation.__name__
    return re.sub(r"\b(?:\w+\.)+(\w+)", r"\1", str(annotation).replace("typing.", ""))


class ConnectorSettings(BaseModel):
    """Base of a connector's settings: declare fields with types, defaults and validation.

    Type a secret (API key, webhook signing secret) as ``SecretStr``: the core stores it
    encrypted in ``Connection.credentials`` and it never appears in logs or ``repr``. Everything
    else goes to the plain ``Connection.settings`` JSON. Add a ``Field(description=...)`` to
    explain a field, and pydantic validators (``Field(ge=1)``, ``@field_validator``) to refuse
    bad values at connection time rather than at the first sync. Unknown keys are refused.

    Example::

        class Settings(ConnectorSettings):
            base_url: str = Field(description="https://shop.example.com")
            api_key: SecretStr = Field(min_length=8)
            page_size: int = Field(default=50, ge=1, le=100)
    """

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def secret_fields(cls) -> set[str]:
        return {
            name for name, info in cls.model_fields.items()
            if info.annotation is SecretStr or info.annotation == SecretStr | None
        }

    @classmethod
    def fields(cls) -> list[SettingField]:
        """The declared settings, in declaration order, with their secret flag."""
        secrets = cls.secret_fields()
        return [
            SettingField(
                name=name,
                type=_type_name(info.annotation),
                required=info.is_required(),
                secret=name in secrets,
                default=None if info.is_required() else info.get_default(call_default_factory=True),
                description=info.description or "",
            )
            for name, info in cls.model_fields.items()
        ]

    @classmethod
    def from_input(cls, data: Mapping[str, Any], connector: str = "connector") -> Self:
        """Validate what a merchant entered; raise ``InvalidSettings`` naming each bad field."""
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            problems = {
                ".".join(str(part) for part in error["loc"]) or "settings": error["msg"]
                for error in exc.errors()
            }
            raise InvalidSettings(connector, problems) from None

    def split(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(plain settings, secrets) as JSON-ready dicts, for ``Connection.settings`` and the
        encrypted ``Connection.credentials``."""
        secrets = self.secret_fields()
        dumped = self.model_dump(mode="json")  # URLs, dates, decimals become JSON values
        plain, hidden = {}, {}
        for name, value in dumped.items():
            if name in secrets:
                secret = getattr(self, name)
                hidden[name] = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
            else:
                plain[name] = value
        return plain, hidden


@dataclass
class Page(Generic[R]):
    records: list[R]
    # Where to resume after this page. After the last page it is the watermark the next
    # incremental run starts from (e.g. the newest ``updated_at`` seen), never "start over".
    cursor: str


@dataclass(frozen=True)
class ContactRef:
    """Who a push is about, as the platform can find them."""

    customer_id: int
    email: str | None = None
    platform_id: str | None = None


@dataclass(frozen=True)
class AttributeUpdate:
    """New values of the loyalty attributes of one customer (only changed customers are sent)."""

    contact: ContactRef
    attributes: Mapping[str, Any]


@dataclass(frozen=True)
class SegmentChange:
    segment: str
    added: Sequence[ContactRef] = ()
    removed: Sequence[ContactRef] = ()


@dataclass(frozen=True)
class LoyaltyEvent:
    """An event for the platform's flows; ``id`` is unique so a retried send is deduplicated."""

    id: str
    name: str  # "Points Earned", "Reward Redeemed", "Tier Changed", "Points Expiring"
    contact: ContactRef
    occurred_at: datetime
    properties: Mapping[str, Any] = field(default_factory=dict)


class RefusalReason(StrEnum):
    """Why a platform refuses a contact for good: the reasons a connector may report, one
    vocabulary so the admin can tell the merchant what each means and what to do."""

    NO_ADDRESS = "no_address"            # nothing the platform can find the contact by
    INVALID_ADDRESS = "invalid_address"  # the platform calls the address fake or invalid
    FORGOTTEN = "forgotten"              # permanently deleted there; it will not re-add them
    COMPLIANCE = "compliance"            # held in compliance state (unsubscribed, bounced, review)


@dataclass(frozen=True)
class Refusal:
    """A platform's permanent no for one contact: sending again gets the same answer until the
    address changes or the shopper subscribes again. ``detail`` is the platform's own words."""

    reason: RefusalReason
    detail: str = ""


@dataclass
class PushResult:
    """What one push call did: ``failed`` may work next time (sent again then); ``refused`` will
    not until something changes (the core keeps those contacts out of later pushes)."""

    sent: int = 0
    skipped: int = 0
    batches: int = 0
    failed: list[tuple[ContactRef, str]] = field(default_factory=list)
    refused: list[tuple[ContactRef, Refusal]] = field(default_factory=list)

    def merge(self, other: PushResult) -> PushResult:
        self.sent += other.sent
        self.skipped += other.skipped
        self.batches += other.batches
        self.failed.extend(other.failed)
        self.refused.extend(other.refused)
        return self


@dataclass(frozen=True)
class IssuedReward:
    code: str
    platform_id: str = ""
    expires_at: datetime | None = None


@dataclass(frozen=True)
class WebhookDelivery:
    """A webhook request as the receiver stores it in the inbox.

    ``delivery_id`` is the deduplication key, unique per connection for one logical event
    (Shopify's event id; WooCommerce's resource id + modification time, since its delivery ids
    are new on every send).
    """

    topic: str
    delivery_id: str
    external_id: str | None  # names the connection when the URL does not (Shopify shop domain)


# The receiver passes the request's URL path (no query string) to ``identify``/``verify`` under
# this pseudo-header, for platforms that authenticate webhooks by a secret in the URL instead of
# a signature (Mailchimp). It is set by the receiver, never taken from the request's own headers.
REQUEST_PATH_HEADER = "X-Sadakat-Request-Path"


class WebhookRejected(Exception):
    """The request is not a valid delivery (missing headers, bad signature); answer 401/400."""


class WebhookHandler:
    """How one platform's webhooks are recognised, authenticated and turned into events.

    ``identify`` runs first, before the connection is known; ``verify`` checks the signature
    with the connection's secrets (several during a secret rotation); ``parse`` runs later in
    the inbox worker and raises ``ValueError`` for a payload it cannot read (kept as failed).
    """

    platform: ClassVar[str]

    def identify(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        raise NotImplementedError

    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str]) -> bool:
        raise NotImplementedError

    def parse(self, topic: str, body: bytes) -> list[Event]:
        raise NotImplementedError


class Connector:
    """Base of every connector. Subclass it, declare the class attributes, and override only the
    methods your ``capabilities`` promise; the core never calls the others.

    The core builds a connector from a stored connection with ``from_stored`` (settings plus
    decrypted secrets) and a ``RetryPolicy``; pass ``self.policy`` to your ``HttpClient`` (or
    wrap SDK calls in ``self.policy.call``) so retries, ``Retry-After`` and call statistics are
    shared with the job that runs you.

    Declared attributes:

    - ``name``: the platform key, equal to the entry-point name (``Connection.platform``).
    - ``title``/``version``: shown by ``sadakat connectors list``.
    - ``capabilities``: what the connector can do (``Capability`` flags).
    - ``streams``: what ``pull`` accepts, e.g. ``("customers", "orders")``.
    - ``Settings``: a ``ConnectorSettings`` subclass (secrets typed ``SecretStr``).
    - ``webhooks``: a ``WebhookHandler`` instance if the platform sends webhooks.
    - ``push_batch_size``: the platform's real maximum items per write call.
    - ``connect_with``: empty for a platform a merchant connects by entering its ``Settings``
      (``sadakat connect``, the admin's form); otherwise the command or page that connects it
      instead (an OAuth install, a key hand-over), which those two point the merchant to.
    """

    name: ClassVar[str]
    title: ClassVar[str] = ""
    version: ClassVar[str] = "0"
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    streams: ClassVar[tuple[str, ...]] = ()
    Settings: ClassVar[type[ConnectorSettings]] = ConnectorSettings
    webhooks: ClassVar[WebhookHandler | None] = None
    # Largest number of items the platform accepts in one push call (metafieldsSet: 25, ...).
    push_batch_size: ClassVar[int] = 100
    connect_with: ClassVar[str] = ""

    def __init__(self, settings: ConnectorSettings, *, policy: RetryPolicy | None = None) -> None:
        self.settings = settings
        self.policy = policy or RetryPolicy()

    @classmethod
    def from_stored(
        cls, settings: Mapping[str, Any], credentials: Mapping[str, Any], **kwargs: Any
    ) -> Connector:
        """Rebuild from ``Connection.settings`` and the decrypted ``Connection.credentials``."""
        return cls(cls.Settings.model_validate({**settings, **credentials}), **kwargs)

    @property
    def stats(self) -> CallStats:
        return self.policy.stats

    def external_id(self) -> str:
        """How the platform names this connection (shop domain, site URL, list id)."""
        raise NotImplementedError

    def webhook_secrets(self) -> list[str]:
        """Secrets that may sign this connection's webhooks (current first)."""
        return []

    def check(self) -> None:
        """Make one cheap authenticated call; raise ``AuthError`` if the credentials fail."""

    def pull(self, stream: str, cursor: str | None) -> Iterator[Page[Any]]:
        """Yield ``Page``s of records of ``stream`` from ``cursor`` (``None``: from the start).

        Read in ascending order of modification; each page's ``cursor`` is where to resume
        after it, and the last page's cursor is the watermark of the next incremental run.
        Records are ``CustomerRecord``, ``OrderRecord`` or ``ContactRecord``, each with its
        ``platform_id``.
        """
        raise Unsupported(f"{self.name} cannot pull {stream}")

    def push_attributes(self, updates: Sequence[AttributeUpdate]) -> PushResult:
        """Write changed loyalty attributes; batch at ``push_batch_size``; report per-contact
        failures in ``PushResult.failed`` (sent again next push) and the platform's documented
        permanent refusals in ``PushResult.refused`` instead of raising."""
        raise Unsupported(f"{self.name} cannot push attributes")

    def push_segment(self, change: SegmentChange) -> PushResult:
        """Add and remove contacts of one segment (tags, lists) in the platform's largest bulk
        calls; never touch consent; report per contact as ``push_attributes`` does."""
        raise Unsupported(f"{self.name} cannot push segments")

    def push_events(self, events: Sequence[LoyaltyEvent]) -> PushResult:
        """Send loyalty events for flows; ``LoyaltyEvent.id`` deduplicates a retried send."""
        raise Unsupported(f"{self.name} cannot push events")

    def issue_reward(self, request: RewardRequest) -> IssuedReward:
        """Create the discount code or coupon of a redemption. Raise ``ApiError`` if the
        platform refuses (the points are given back), ``RetriableError`` if it may work later."""
        raise Unsupported(f"{self.name} cannot issue rewards")

    def erase_contact(self, contact: ContactRef) -> None:
        """Delete a contact on the platform for a redaction request."""
        raise Unsupported(f"{self.name} cannot erase contacts")

    def register_webhooks(self, base_url: str) -> list[str]:
        """Subscribe to the topics the receiver handles; returns the topics registered."""
        raise Unsupported(f"{self.name} has no webhooks to register")
