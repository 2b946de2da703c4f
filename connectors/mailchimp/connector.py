"""Mailchimp: one audience (list) per connection, on the official ``mailchimp-marketing`` SDK.

- **Pull** ``contacts``: list members with their status (subscribed, unsubscribed, cleaned,
  pending, transactional) become ``ContactRecord``s; the core matches them to customers by
  e-mail and never creates customers from them. Paged with ``count``/``offset`` (1000, the
  maximum) in ``last_changed`` order, incremental with ``since_last_changed``.
- **Push** loyalty attributes as merge fields (created on first use, tags ≤ 10 characters),
  segments as tags, loyalty events as member events (for Customer Journeys).
- **Consent is never changed by us.** Members are upserted by subscriber hash with
  ``status_if_new = "transactional"`` and no ``status``: an existing member keeps their status,
  a customer new to the audience is added as *transactional*, which Mailchimp allows for
  contacts without marketing consent (they get no campaigns, but their merge fields, tags and
  events exist for segmentation and journeys once they do subscribe).
- Connect with an API key (the data center is the key's suffix). OAuth is not supported yet.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any, ClassVar

from pydantic import Field, SecretStr, field_validator

from connectors.mailchimp.api import MailchimpApi, datacenter
from connectors.mailchimp.mapping import (
    MERGE_FIELDS,
    STATUS_IF_NEW,
    contact,
    event_name,
    event_properties,
    merge_values,
    parse_time,
    subscriber_hash,
)
from connectors.mailchimp.operations import Operation, Sender
from connectors.mailchimp.webhooks import TOPICS, MailchimpWebhooks
from connectors.sdk import (
    ApiError,
    AttributeUpdate,
    Capability,
    Connector,
    ConnectorSettings,
    ContactRecord,
    ContactRef,
    LoyaltyEvent,
    Page,
    PushResult,
    RetryPolicy,
    SegmentChange,
    Unsupported,
)

# Re-read this much before the newest change seen: members changed in the same second as the
# watermark, after the read, are caught next time. Re-reading is harmless (events are idempotent).
LAG = timedelta(seconds=60)
MEMBER_FIELDS = ["total_items"] + [
    f"members.{name}" for name in ("id", "contact_id", "email_address", "status", "last_changed")
]


class MailchimpSettings(ConnectorSettings):
    api_key: SecretStr
    list_id: str = Field(min_length=1, description="The audience (list) id to sync with")
    webhook_secret: SecretStr | None = Field(
        default=None, description="Unguessable path segment of our webhook URL (Mailchimp does not sign)")
    api_url: str | None = Field(
        default=None, description="Base URL instead of https://<dc>.api.mailchimp.com/3.0 (tests, proxies)")
    max_connections: int = Field(
        default=5, ge=1, le=10,
        description="Simultaneous connections; Mailchimp allows 10 per key, shared with other apps")

    @field_validator("api_key")
    @classmethod
    def _has_datacenter(cls, value: SecretStr) -> SecretStr:
        datacenter(value.get_secret_value())
        return value


class MailchimpConnector(Connector):
    name: ClassVar[str] = "mailchimp"
    title: ClassVar[str] = "Mailchimp"
    version: ClassVar[str] = "1"
    capabilities = frozenset({
        Capability.PULL, Capability.PUSH_ATTRIBUTES, Capability.PUSH_SEGMENTS,
        Capability.PUSH_EVENTS, Capability.WEBHOOKS, Capability.ERASE,
    })
    streams: ClassVar[tuple[str, ...]] = ("contacts",)
    Settings = MailchimpSettings
    webhooks = MailchimpWebhooks()
    # Operations per batch we submit. Mailchimp documents no per-batch cap; 1000 keeps a results
    # tarball small and a failed batch cheap to resend, and matches the core's push chunk.
    push_batch_size: ClassVar[int] = 1000
    page_size: int = 1000  # members per read: Mailchimp's maximum ``count``

    settings: MailchimpSettings

    def __init__(self, settings: ConnectorSettings, *, policy: RetryPolicy | None = None) -> None:
        super().__init__(settings, policy=policy)
        self.api = MailchimpApi(
            self.settings.api_key.get_secret_value(), policy=self.policy,
            host=self.settings.api_url, max_connections=self.settings.max_connections,
        )
        self.sender = Sender(self.api, self.settings.list_id, self.settings.max_connections,
                             batch_size=self.push_batch_size, sleep=self.policy.sleep)
        self._merge_tags: set[str] | None = None

    def external_id(self) -> str:
        return self.settings.list_id

    def webhook_secrets(self) -> list[str]:
        secret = self.settings.webhook_secret
        return [secret.get_secret_value()] if secret else []

    def check(self) -> None:
        self.api.call(lambda: self.api.client.lists.get_list(self.settings.list_id, fields=["id"]))

    # -- pull --------------------------------------------------------------------------------

    def pull(self, stream: str, cursor: str | None) -> Iterator[Page[ContactRecord]]:
        """Members in ``last_changed`` order, paged by that key rather than by offset alone.

        A member edited during a read moves to the end of the order; with plain offsets every
        member behind it would shift back one place and one would be skipped for good. So each
        page starts just before the second the previous page ended in (timestamps have
        one-second resolution and ``since_last_changed`` means "after"), skipping the members of
        that second already read. The cursor is ``{"since", "offset"}``; after the last page it
        is the watermark, a little before the newest change seen.
        """
        if stream != "contacts":
            raise Unsupported(f"mailchimp cannot pull {stream}")
        state = json.loads(cursor) if cursor else {}
        since: str | None = state.get("since")
        offset: int = state.get("offset", 0)
        while True:
            params: dict[str, Any] = {"count": self.page_size, "offset": offset, "fields": MEMBER_FIELDS,
                                      "sort_field": "last_changed", "sort_dir": "ASC"}
            if since:
                params["since_last_changed"] = since
            body = self.api.call(
                lambda: self.api.client.lists.get_list_members_info(self.settings.list_id, **params))
            members = body["members"]
            records = [contact(m) for m in members]
            if len(members) < self.page_size:
                newest = parse_time(members[-1]["last_changed"]) if members else None
                watermark = (newest - LAG).isoformat() if newest else since
                yield Page(records, json.dumps({"since": watermark, "offset": 0}))
                return
            last = members[-1]["last_changed"]
            boundary = (parse_time(last) - timedelta(seconds=1)).isoformat()
            if boundary == since:  # the whole page was one second: move on within it
                offset += len(members)
            else:
                since, offset = boundary, sum(1 for m in members if m["last_changed"] == last)
            yield Page(records, json.dumps({"since": since, "offset": offset}))

    # -- push --------------------------------------------------------------------------------

    def push_attributes(self, updates: Sequence[AttributeUpdate]) -> PushResult:
        used = {name for update in updates for name in update.attributes if name in MERGE_FIELDS}
        self._ensure_merge_fields(used)
        return self._send([
            (update.contact, lambda email, u=update: Operation("member", subscriber_hash(email), {
                "email_address": email,
                "status_if_new": STATUS_IF_NEW,
                "merge_fields": merge_values(dict(u.attributes)),
            }))
            for update in updates
        ])

    def push_segment(self, change: SegmentChange) -> PushResult:
        """A segment is a tag: added members get it active, removed ones inactive.

        Tags go to members already in the audience (attribute pushes put every customer there);
        a customer not in it yet is reported failed and retried with the next push.
        """
        def tag(status: str) -> Any:
            return lambda email: Operation("tags", subscriber_hash(email),
                                           {"tags": [{"name": change.segment, "status": status}]})

        return self._send([(ref, tag("active")) for ref in change.added]
                          + [(ref, tag("inactive")) for ref in change.removed])

    def push_events(self, events: Sequence[LoyaltyEvent]) -> PushResult:
        """Member events (``points_earned`` …) that Customer Journeys can start on.

        Mailchimp events carry no idempotency key: the event id is sent as a property, but a
        send retried after an unclear failure may show twice in Mailchimp.
        """
        return self._send([
            (event.contact, lambda email, e=event: Operation("event", subscriber_hash(email), {
                "name": event_name(e.name),
                "properties": event_properties(dict(e.properties), e.id),
                "occurred_at": e.occurred_at.isoformat(),
            }))
            for event in events
        ])

    def erase_contact(self, contact: ContactRef) -> None:
        """Permanent deletion (GDPR/KVKK); a member already gone is fine."""
        if not contact.email:
            raise ApiError("cannot find a Mailchimp member without an e-mail address")
        try:
            self.api.call(lambda: self.api.client.lists.delete_list_member_permanent(
                self.settings.list_id, subscriber_hash(contact.email)))
        except ApiError as exc:
            if exc.status != 404:
                raise

    def register_webhooks(self, url: str) -> list[str]:
        """Ask Mailchimp to notify ``{url}/{webhook_secret}`` of audience changes made by
        members and admins (not by API calls: those are ours).

        Mailchimp keeps one webhook per URL on an audience and refuses a second, so registering
        again (a reconnect, the admin's button) updates the one already there.
        """
        secrets = self.webhook_secrets()
        if not secrets:
            raise ApiError("set webhook_secret before registering webhooks")
        target = f"{url.rstrip('/')}/{secrets[0]}"
        wanted = {
            "events": {topic: True for topic in TOPICS} | {"campaign": False},
            "sources": {"user": True, "admin": True, "api": False},
        }
        lists = self.api.client.lists
        registered = self.api.call(lambda: lists.get_list_webhooks(self.settings.list_id))
        existing = next((h for h in registered["webhooks"] if h["url"] == target), None)
        if existing is None:
            self.api.call(lambda: lists.create_list_webhook(
                self.settings.list_id, {"url": target, **wanted}))
        else:
            self.api.call(lambda: lists.update_list_webhook(
                self.settings.list_id, existing["id"], wanted))
        return list(TOPICS)

    # -- helpers -----------------------------------------------------------------------------

    def _ensure_merge_fields(self, attributes: set[str]) -> None:
        """Create the merge fields the attributes need, once; existing ones are reused."""
        if self._merge_tags is None:
            listing = self.api.call(lambda: self.api.client.lists.get_list_merge_fields(
                self.settings.list_id, count=1000, fields=["merge_fields.tag"]))
            self._merge_tags = {f["tag"] for f in listing["merge_fields"]}
        for name in sorted(attributes):
            field = MERGE_FIELDS[name]
            if field.tag in self._merge_tags:
                continue
            self.api.call(lambda f=field: self.api.client.lists.add_list_merge_field(
                self.settings.list_id, {"tag": f.tag, "name": f.name, "type": f.type, "public": False}))
            self._merge_tags.add(field.tag)

    def _send(self, items: list[tuple[ContactRef, Any]]) -> PushResult:
        """Build each contact's operation from its e-mail and send them all; no e-mail, no send."""
        result = PushResult()
        refs, operations = [], []
        for ref, build in items:
            if not ref.email:
                result.failed.append((ref, "no e-mail address to find the Mailchimp member by"))
                continue
            refs.append(ref)
            operations.append(build(ref.email))
        sent = self.sender.send(operations)
        result.batches = sent.batches
        for ref, error in zip(refs, sent.errors, strict=True):
            if error is None:
                result.sent += 1
            else:
                result.failed.append((ref, error))
        return result
