"""Mailchimp: one audience (list) per connection, on the official ``mailchimp-marketing`` SDK.

- **Pull** ``contacts``: list members with their status (subscribed, unsubscribed, cleaned,
  pending, transactional) become ``ContactRecord``s; the core matches them to customers by
  e-mail and never creates customers from them. Paged with ``count``/``offset`` (1000, the
  maximum) in ``last_changed`` order, incremental with ``since_last_changed``.
- **Push** loyalty attributes as merge fields (created on first use, tags ≤ 10 characters),
  segments as tags (in bulk: a tag is a static segment), loyalty events as member events (for
  Customer Journeys). Mailchimp's permanent refusals of a contact (permanently deleted, held in
  compliance state, an address it calls fake) are reported as ``refused`` (``refusals``).
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
from concurrent.futures import ThreadPoolExecutor
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
from connectors.mailchimp.refusals import refusal
from connectors.mailchimp.webhooks import TOPICS, MailchimpWebhooks
from connectors.sdk import (
    ApiError,
    AuthError,
    AttributeUpdate,
    Capability,
    Connector,
    ConnectorSettings,
    ContactRecord,
    ContactRef,
    LoyaltyEvent,
    Page,
    PushResult,
    Refusal,
    RefusalReason,
    RetriableError,
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
# Members per ``members_to_add`` / ``members_to_remove`` array of one bulk segment call: "A
# maximum of 500 members can be sent" (list-id spec, POST /lists/{list_id}/segments/{segment_id}).
SEGMENT_BATCH = 500
NO_ADDRESS = Refusal(RefusalReason.NO_ADDRESS, "no e-mail address to find the Mailchimp member by")


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
        self._segment_ids: dict[str, int] | None = None

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
        """A segment is a tag, which the API also shows as a static segment ("Static segments
        are now known as tags", list-id spec): members go on and off it in bulk calls of up to
        500 additions and 500 removals, several at a time within the connection limit.

        Mailchimp ignores addresses not in the audience without saying so (documented), so the
        core sends tags only for contacts an attribute push has put there.
        """
        result = PushResult()
        added = self._addressed(change.added, result)
        removed = self._addressed(change.removed, result)
        if not added and not removed:
            return result
        segment_id = self._segment_id(change.segment)
        calls = [(added[start:start + SEGMENT_BATCH], removed[start:start + SEGMENT_BATCH])
                 for start in range(0, max(len(added), len(removed)), SEGMENT_BATCH)]
        with ThreadPoolExecutor(max_workers=min(self.settings.max_connections, len(calls))) as pool:
            for outcome in pool.map(lambda call: self._segment_call(segment_id, *call), calls):
                result.merge(outcome)
        return result

    def _addressed(self, refs: Sequence[ContactRef], result: PushResult) -> list[ContactRef]:
        result.refused.extend((ref, NO_ADDRESS) for ref in refs if not ref.email)
        return [ref for ref in refs if ref.email]

    def _segment_call(self, segment_id: int, add: list[ContactRef],
                      remove: list[ContactRef]) -> PushResult:
        body: dict[str, list[str]] = {}
        if add:
            body["members_to_add"] = [ref.email for ref in add]  # type: ignore[misc]
        if remove:
            body["members_to_remove"] = [ref.email for ref in remove]  # type: ignore[misc]
        result = PushResult(batches=1)
        try:
            answer = self.api.call(lambda: self.api.client.lists.batch_segment_members(
                body, self.settings.list_id, segment_id)) or {}
        except (AuthError, RetriableError):
            raise
        except ApiError as exc:
            result.failed = [(ref, f"tag {exc.status}: {exc}") for ref in add + remove]
            return result
        errors = {address.lower(): entry.get("error", "")
                  for entry in answer.get("errors") or [] for address in entry.get("email_addresses") or []}
        for ref in add + remove:
            error = errors.get(ref.email.lower())  # type: ignore[union-attr]
            if error is None:
                result.sent += 1
            else:
                result.failed.append((ref, f"tag: {error}"))
        return result

    def _segment_id(self, name: str) -> int:
        """The tag's id: looked up among the audience's static segments once, created if new
        (tags made by hand in Mailchimp, or by an earlier push, are reused)."""
        if self._segment_ids is None:
            self._segment_ids = {}
            offset = 0
            while True:
                page = self.api.call(lambda: self.api.client.lists.list_segments(
                    self.settings.list_id, type="static", count=self.page_size, offset=offset,
                    fields=["segments.id", "segments.name", "total_items"]))
                self._segment_ids.update({s["name"]: s["id"] for s in page["segments"]})
                offset += len(page["segments"])
                if not page["segments"] or offset >= page["total_items"]:
                    break
        if name not in self._segment_ids:
            created = self.api.call(lambda: self.api.client.lists.create_segment(
                self.settings.list_id, {"name": name, "static_segment": []}))
            self._segment_ids[name] = created["id"]
        return self._segment_ids[name]

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
        """Build each contact's operation from its e-mail and send them all; no e-mail, no send.
        Each failure is either one of Mailchimp's permanent refusals or failed for now."""
        result = PushResult()
        refs, operations = [], []
        for ref, build in items:
            if not ref.email:
                result.refused.append((ref, NO_ADDRESS))
                continue
            refs.append(ref)
            operations.append(build(ref.email))
        sent = self.sender.send(operations)
        result.batches = sent.batches
        for ref, failure in zip(refs, sent.errors, strict=True):
            if failure is None:
                result.sent += 1
            elif (refused := refusal(failure)) is not None:
                result.refused.append((ref, refused))
            else:
                result.failed.append((ref, str(failure)))
        return result
