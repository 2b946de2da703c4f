"""Klaviyo through the official ``klaviyo-api`` SDK, pinned to revision 2026-07-15.

One retry policy: the SDK's own retry wrapper is built with ``max_retries=0`` and urllib3's
connection retries are switched off, so every call goes once through ``self.policy.call``; the
SDK's ``ApiException`` statuses become ``RetriableError`` (429/5xx, with ``Retry-After``),
``AuthError`` (401/403) or ``ApiError``.

Consent is never touched. Pushes go through profile bulk-import jobs, whose profile schema has
no ``subscriptions`` field, and list membership, which in Klaviyo is not consent (subscribing is
a separate bulk-subscribe job we never call). Customers without marketing consent are pushed
too: Klaviyo keeps them as profiles that are not subscribed, so flows and segments can use
their points while campaigns (which need consent) still skip them. Suppressed profiles too:
neither a bulk import nor a list relationship changes a profile's suppression (Klaviyo's
``bulk_suppress_profiles``: "Suppressed profiles cannot receive email marketing, independent of
their consent status"), so they are not refused and stay suppressed.

Klaviyo's permanent refusal of a contact is an import error on the profile's ``email`` (the
errors of a job name the profile and field by a JSON pointer,
``get_errors_for_bulk_import_profiles_job``): the address itself is refused, and is reported as
``refused`` (``INVALID_ADDRESS``). Other import errors are failed for now and sent again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlparse

import urllib3
from klaviyo_api import KlaviyoAPI
from openapi_client import rest
from openapi_client.api_arg_options import USE_DICTIONARY_FOR_RESPONSE_DATA
from openapi_client.exceptions import ApiException
from pydantic import SecretStr

from connectors.klaviyo.mapping import contact_record, parse_time, profile_properties
from connectors.klaviyo.webhooks import TOPIC_CONSENT, KlaviyoWebhooks
from connectors.sdk import (
    ApiError,
    AttributeUpdate,
    AuthError,
    Capability,
    Connector,
    ConnectorSettings,
    ContactRef,
    LinkHeaderPaginator,
    LoyaltyEvent,
    Page,
    PushResult,
    Refusal,
    RefusalReason,
    RetriableError,
    RetryPolicy,
    SegmentChange,
    Unsupported,
    parse_retry_after,
)
from connectors.sdk.http import RETRIABLE_STATUS

T = TypeVar("T")

REVISION = "2026-07-15"
PAGE_SIZE = 100                      # get_profiles page[size] maximum
IMPORT_MAX_PROFILES = 10_000         # profile bulk-import job: profiles per job
IMPORT_MAX_BYTES = 5 * 1024 * 1024   # ... and payload size
LIST_BATCH = 1_000                   # list relationships: profiles per call
EMAIL_LOOKUP_BATCH = 100             # any(email,[...]) values per get_profiles call
PULL_LAG = timedelta(minutes=1)      # re-read window for profiles updated during the last run
LIST_PREFIX = "Sadakat: "
WEBHOOK_NAME = "Sadakat consent"
NO_ADDRESS = Refusal(RefusalReason.NO_ADDRESS, "no e-mail or Klaviyo id to find the profile by")


class KlaviyoSettings(ConnectorSettings):
    api_key: SecretStr                       # private API key (pk_...)
    webhook_secret: SecretStr | None = None  # secret_key of our system webhook, >= 16 chars
    base_url: str = "https://a.klaviyo.com"
    timeout: float = 30.0
    poll_interval: float = 1.0               # first wait between bulk-job status checks
    poll_max_interval: float = 10.0
    poll_timeout: float = 1800.0             # give up on a bulk job after this long


class KlaviyoConnector(Connector):
    name = "klaviyo"
    title = "Klaviyo"
    version = "1"
    capabilities = frozenset({
        Capability.PULL, Capability.PUSH_ATTRIBUTES, Capability.PUSH_SEGMENTS,
        Capability.PUSH_EVENTS, Capability.WEBHOOKS, Capability.ERASE,
    })
    streams = ("profiles",)
    Settings = KlaviyoSettings
    webhooks = KlaviyoWebhooks()
    push_batch_size = IMPORT_MAX_PROFILES

    settings: KlaviyoSettings

    def __init__(self, settings: KlaviyoSettings, *, policy: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(settings, policy=policy)
        self.sleep = sleep
        self.api = KlaviyoAPI(
            settings.api_key.get_secret_value(), max_retries=0, test_host=settings.base_url,
            options={USE_DICTIONARY_FOR_RESPONSE_DATA: True},
        )
        self.api.api_client.default_headers["revision"] = REVISION
        self.api.configuration.retries = False  # urllib3 must not retry behind the policy's back
        self.api.api_client.rest_client = rest.RESTClientObject(self.api.configuration)
        self.profiles = self.api.Profiles
        self.lists = self.api.Lists
        self._list_ids: dict[str, str] = {}
        self._found: dict[str, str] = {}  # e-mail → profile id looked up during this run
        self._account_id: str | None = None

    # -- calls ---------------------------------------------------------------------------------

    def _call(self, operation: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        kwargs.setdefault("_request_timeout", float(self.settings.timeout))

        def attempt() -> T:
            try:
                return fn(*args, **kwargs)
            except ApiException as exc:
                raise _translate(operation, exc) from exc
            except urllib3.exceptions.HTTPError as exc:
                raise RetriableError(f"klaviyo {operation}: {exc}") from exc

        return self.policy.call(attempt)

    def _account(self) -> str:
        if self._account_id is None:
            body = self._call("get_accounts", self.api.Accounts.get_accounts)
            self._account_id = body["data"][0]["id"]
        return self._account_id

    def check(self) -> None:
        self._account()

    def external_id(self) -> str:
        return self._account()

    def webhook_secrets(self) -> list[str]:
        secret = self.settings.webhook_secret
        return [secret.get_secret_value()] if secret else []

    # -- pull ----------------------------------------------------------------------------------

    def pull(self, stream: str, cursor: str | None) -> Iterator[Page[Any]]:
        """Profiles with their e-mail consent, oldest change first.

        The cursor is JSON: ``{"since": <iso>}`` between runs (the newest ``updated`` seen), plus
        ``"page"`` (Klaviyo's ``page[cursor]``) and ``"newest"`` while a run is in progress.
        """
        if stream != "profiles":
            raise Unsupported(f"klaviyo cannot pull {stream}")
        state = json.loads(cursor) if cursor else {}
        since, page_cursor = state.get("since"), state.get("page")
        newest = state.get("newest") or since
        query: dict[str, Any] = {"additional_fields_profile": ["subscriptions"],
                                 "page_size": PAGE_SIZE, "sort": "updated"}
        if since:
            query["filter"] = f"greater-than(updated,{(parse_time(since) - PULL_LAG).isoformat()})"
        paginator = LinkHeaderPaginator()
        while True:
            body = self._call("get_profiles", self.profiles.get_profiles, page_cursor=page_cursor, **query)
            records = [r for r in map(contact_record, body["data"]) if r is not None]
            for profile in body["data"]:
                updated = profile["attributes"].get("updated")
                if updated and (newest is None or parse_time(updated) > parse_time(newest)):
                    newest = updated
            next_url = paginator.next_from_body((body.get("links") or {}).get("next"))
            if next_url is None:
                yield Page(records, json.dumps({"since": newest}))
                return
            page_cursor = parse_qs(urlparse(next_url).query)["page[cursor]"][0]
            yield Page(records, json.dumps({"since": since, "page": page_cursor, "newest": newest}))

    # -- push attributes -----------------------------------------------------------------------

    def push_attributes(self, updates: Sequence[AttributeUpdate]) -> PushResult:
        """Profile properties through bulk-import jobs (≤ 10,000 profiles, ≤ 5 MB each), all
        submitted first, then polled to completion; per-profile import errors become
        ``failed``."""
        result = PushResult()
        jobs: list[tuple[str, list[AttributeUpdate]]] = []
        for chunk, body in self._import_bodies(updates, result):
            response = self._call("bulk_import_profiles", self.profiles.bulk_import_profiles, body)
            jobs.append((response["data"]["id"], chunk))
        for job_id, chunk in jobs:
            result.merge(self._finish_import(job_id, chunk))
        return result

    def _import_bodies(
        self, updates: Sequence[AttributeUpdate], result: PushResult,
    ) -> Iterator[tuple[list[AttributeUpdate], dict[str, Any]]]:
        envelope = len(json.dumps(_import_body([])))
        chunk: list[AttributeUpdate] = []
        profiles: list[dict[str, Any]] = []
        size = envelope
        for update in updates:
            if not update.contact.email:
                result.refused.append((update.contact, NO_ADDRESS))
                continue
            profile = {"type": "profile", "attributes": {
                "email": update.contact.email, "properties": profile_properties(update.attributes)}}
            profile_size = len(json.dumps(profile)) + 1
            if profiles and (len(profiles) == IMPORT_MAX_PROFILES or size + profile_size > IMPORT_MAX_BYTES):
                yield chunk, _import_body(profiles)
                chunk, profiles, size = [], [], envelope
            chunk.append(update)
            profiles.append(profile)
            size += profile_size
        if profiles:
            yield chunk, _import_body(profiles)

    def _finish_import(self, job_id: str, chunk: list[AttributeUpdate]) -> PushResult:
        attributes = self._wait_for_job(job_id)
        result = PushResult(batches=1)
        if attributes["status"] != "complete":
            result.failed = [(u.contact, f"bulk import job {job_id} {attributes['status']}") for u in chunk]
            return result
        failed: dict[int, tuple[str, str]] = {}
        if attributes.get("failed_count"):
            failed = self._import_errors(job_id, chunk)
        for n, (reason, pointer) in sorted(failed.items()):
            if pointer.endswith("/attributes/email"):
                result.refused.append((chunk[n].contact, Refusal(RefusalReason.INVALID_ADDRESS, reason)))
            else:
                result.failed.append((chunk[n].contact, reason))
        result.sent = len(chunk) - len(failed)
        return result

    def _wait_for_job(self, job_id: str) -> dict[str, Any]:
        interval, waited = self.settings.poll_interval, 0.0
        while True:
            body = self._call("get_bulk_import_profiles_job",
                              self.profiles.get_bulk_import_profiles_job, job_id)
            attributes = body["data"]["attributes"]
            if attributes["status"] in ("complete", "cancelled"):
                return attributes
            if waited >= self.settings.poll_timeout:
                raise RetriableError(f"klaviyo bulk import job {job_id} still {attributes['status']} "
                                     f"after {waited:.0f}s")
            self.sleep(interval)
            waited += interval
            interval = min(interval * 2, self.settings.poll_max_interval)

    def _import_errors(self, job_id: str, chunk: list[AttributeUpdate]) -> dict[int, tuple[str, str]]:
        """Index in ``chunk`` → (reason, JSON pointer), from the job's import-errors (each names
        its profile by a pointer into the job body, else by its original payload's e-mail)."""
        by_email = {u.contact.email.lower(): n for n, u in enumerate(chunk) if u.contact.email}
        failed: dict[int, tuple[str, str]] = {}
        paginator = LinkHeaderPaginator()
        page_cursor = None
        while True:
            body = self._call("get_errors_for_bulk_import_profiles_job",
                              self.profiles.get_errors_for_bulk_import_profiles_job, job_id,
                              page_size=PAGE_SIZE, page_cursor=page_cursor)
            for error in body["data"]:
                attrs = error["attributes"]
                pointer = ((attrs.get("source") or {}).get("pointer")) or ""
                index = _pointer_index(pointer)
                if index is None:
                    email = ((attrs.get("original_payload") or {}).get("email") or "").lower()
                    index = by_email.get(email)
                if index is not None and index < len(chunk):
                    reason = f"{attrs.get('title', 'error')}: {attrs.get('detail', '')}".strip()
                    failed[index] = (reason, pointer)
            next_url = paginator.next_from_body((body.get("links") or {}).get("next"))
            if next_url is None:
                return failed
            page_cursor = parse_qs(urlparse(next_url).query)["page[cursor]"][0]

    # -- segments as lists ---------------------------------------------------------------------

    def push_segment(self, change: SegmentChange) -> PushResult:
        """Segment membership as the list ``Sadakat: <segment>`` (created on first use), in list
        relationship calls of up to 1,000 profiles. List membership is not consent in Klaviyo:
        nobody is subscribed by it."""
        list_id = self._list_id(change.segment)
        result = PushResult()
        for refs, call, operation in (
            (change.added, self.lists.add_profiles_to_list, "add_profiles_to_list"),
            (change.removed, self.lists.remove_profiles_from_list, "remove_profiles_from_list"),
        ):
            items = list(self._profile_ids(refs, result).items())
            for start in range(0, len(items), LIST_BATCH):
                result.merge(self._relate(list_id, call, operation, items[start:start + LIST_BATCH]))
        return result

    def _relate(self, list_id: str, call: Callable[..., Any], operation: str,
                batch: list[tuple[ContactRef, str]]) -> PushResult:
        """One list relationships call. Klaviyo refuses the whole call for a profile id it no
        longer has (deleted, or merged into another profile) and names it by a JSON pointer
        (``/data/<n>/id``): those are taken out and looked up again by e-mail (a merged or
        re-created profile has another id), and the call goes again for the others."""
        result = PushResult()
        looked_up: set[int] = set()
        while batch:
            body = {"data": [{"type": "profile", "id": pid} for _, pid in batch]}
            try:
                self._call(operation, call, list_id, body)
            except ApiError as exc:
                if isinstance(exc, (AuthError, RetriableError)):
                    raise
                named = _named_items(exc.body, len(batch))
                if not named:
                    result.failed.extend((ref, f"{operation}: {exc}") for ref, _ in batch)
                    return result
                gone = [batch[n][0] for n in sorted(named)]
                batch = [item for n, item in enumerate(batch) if n not in named]
                again = [ref for ref in gone if ref.email and ref.customer_id not in looked_up]
                result.failed.extend((ref, f"{operation}: Klaviyo has no profile {ref.platform_id} any more")
                                     for ref in gone if ref not in again)
                looked_up.update(ref.customer_id for ref in again)
                for ref in again:
                    self._found.pop(ref.email.lower(), None)  # type: ignore[union-attr]
                by_email = [ContactRef(ref.customer_id, ref.email) for ref in again]
                batch += [(original, pid) for original in again
                          for ref, pid in self._profile_ids(by_email, result).items()
                          if ref.customer_id == original.customer_id]
                continue
            result.sent += len(batch)
            result.batches += 1
            return result
        return result

    def _list_id(self, segment: str) -> str:
        name = f"{LIST_PREFIX}{segment}"
        if name not in self._list_ids:
            quoted = name.replace("\\", "\\\\").replace('"', '\\"')
            found = self._call("get_lists", self.lists.get_lists, filter=f'equals(name,"{quoted}")')
            if found["data"]:
                self._list_ids[name] = found["data"][0]["id"]
            else:
                created = self._call("create_list", self.lists.create_list,
                                     {"data": {"type": "list", "attributes": {"name": name}}})
                self._list_ids[name] = created["data"]["id"]
        return self._list_ids[name]

    def _profile_ids(self, refs: Sequence[ContactRef], result: PushResult) -> dict[ContactRef, str]:
        """Klaviyo profile ids: known ones as given, the rest looked up by e-mail, once per run
        (a contact in several segments is looked up for the first)."""
        ids = {ref: ref.platform_id for ref in refs if ref.platform_id}
        ids |= {ref: self._found[ref.email.lower()] for ref in refs
                if not ref.platform_id and ref.email and ref.email.lower() in self._found}
        missing = [ref for ref in refs if ref not in ids and ref.email]
        result.refused.extend((ref, NO_ADDRESS) for ref in refs if not ref.platform_id and not ref.email)
        for start in range(0, len(missing), EMAIL_LOOKUP_BATCH):
            batch = missing[start:start + EMAIL_LOOKUP_BATCH]
            emails = json.dumps([ref.email for ref in batch])
            body = self._call("get_profiles", self.profiles.get_profiles,
                              filter=f"any(email,{emails})", page_size=PAGE_SIZE)
            found = {p["attributes"]["email"].lower(): p["id"] for p in body["data"]}
            self._found.update(found)
            for ref in batch:
                pid = found.get(ref.email.lower())
                if pid:
                    ids[ref] = pid
                else:
                    result.failed.append((ref, "no Klaviyo profile with this e-mail yet"))
        return ids

    # -- events, erasure, webhooks -------------------------------------------------------------

    def push_events(self, events: Sequence[LoyaltyEvent]) -> PushResult:
        """Each event once: its ``id`` is Klaviyo's ``unique_id``, so a retried send is dropped."""
        result = PushResult()
        for event in events:
            profile = ({"email": event.contact.email} if event.contact.email else {})
            if not profile and not event.contact.platform_id:
                result.failed.append((event.contact, "no e-mail or Klaviyo id"))
                continue
            body = {"data": {"type": "event", "attributes": {
                "properties": profile_properties(event.properties),
                "time": event.occurred_at.isoformat(),
                "unique_id": event.id,
                "metric": {"data": {"type": "metric", "attributes": {"name": event.name}}},
                "profile": {"data": {"type": "profile", "attributes": profile,
                                     **({"id": event.contact.platform_id} if event.contact.platform_id else {})}},
            }}}
            self._call("create_event", self.api.Events.create_event, body)
            result.sent += 1
            result.batches += 1
        return result

    def erase_contact(self, contact: ContactRef) -> None:
        """File a data-privacy deletion request; Klaviyo deletes the profile asynchronously."""
        if contact.email:
            profile: dict[str, Any] = {"type": "profile", "attributes": {"email": contact.email}}
        elif contact.platform_id:
            profile = {"type": "profile", "id": contact.platform_id, "attributes": {}}
        else:
            raise ApiError("cannot erase a Klaviyo profile without an e-mail or id")
        self._call("request_profile_deletion", self.api.Data_Privacy.request_profile_deletion,
                   {"data": {"type": "data-privacy-deletion-job",
                             "attributes": {"profile": {"data": profile}}}})

    def register_webhooks(self, url: str) -> list[str]:
        """One system webhook for the consent topics, signed with ``webhook_secret``.

        Registering again (a reconnect, the admin's button) updates the webhook already pointed
        at ``url`` (new secret, topics, enabled) instead of adding a second one that would send
        every event twice.
        """
        if self.settings.webhook_secret is None:
            raise ApiError("set webhook_secret (at least 16 characters) before registering webhooks")
        topics = sorted(TOPIC_CONSENT)
        data: dict[str, Any] = {
            "type": "webhook",
            "attributes": {"name": WEBHOOK_NAME, "endpoint_url": url, "enabled": True,
                           "secret_key": self.settings.webhook_secret.get_secret_value()},
            "relationships": {"webhook-topics": {"data": [{"type": "webhook-topic", "id": t} for t in topics]}},
        }
        listed = self._call("get_webhooks", self.api.Webhooks.get_webhooks)["data"]
        existing = next((w["id"] for w in listed if w["attributes"]["endpoint_url"] == url), None)
        if existing is None:
            self._call("create_webhook", self.api.Webhooks.create_webhook, {"data": data})
        else:
            self._call("update_webhook", self.api.Webhooks.update_webhook, existing,
                       {"data": {**data, "id": existing}})
        return topics


def _import_body(profiles: list[dict[str, Any]]) -> dict[str, Any]:
    return {"data": {"type": "profile-bulk-import-job",
                     "attributes": {"profiles": {"data": profiles}}}}


def _named_items(body: str, size: int) -> set[int]:
    """Indexes of a list relationships body's items that Klaviyo's errors point at
    (``source.pointer`` ``/data/<n>/id``)."""
    try:
        errors = json.loads(body)["errors"]
    except (ValueError, KeyError, TypeError):
        return set()
    named = set()
    for error in errors:
        parts = (((error.get("source") or {}).get("pointer")) or "").strip("/").split("/")
        if len(parts) == 3 and parts[0] == "data" and parts[1].isdigit() and parts[2] == "id":
            if int(parts[1]) < size:
                named.add(int(parts[1]))
    return named


def _pointer_index(pointer: str) -> int | None:
    parts = pointer.strip("/").split("/")
    if parts[:4] == ["data", "attributes", "profiles", "data"] and len(parts) > 4 and parts[4].isdigit():
        return int(parts[4])
    return None


def _translate(operation: str, exc: ApiException) -> ApiError:
    status = exc.status or None
    body = exc.body.decode(errors="replace") if isinstance(exc.body, bytes) else str(exc.body or "")
    detail = body
    try:
        detail = "; ".join(e.get("detail", "") for e in json.loads(body)["errors"])
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    message = f"klaviyo {operation} -> {status}: {detail}"[:500]
    if status is None or status in RETRIABLE_STATUS:
        headers = exc.headers or {}
        return RetriableError(message, status, body, parse_retry_after(headers.get("Retry-After")))
    if status in (401, 403):
        return AuthError(message, status, body)
    return ApiError(message, status, body)
