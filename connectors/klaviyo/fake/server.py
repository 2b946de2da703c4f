"""A fake Klaviyo API: a real HTTP server on localhost that behaves as Klaviyo documents.

What it enforces, each from Klaviyo's OpenAPI spec (``connectors/klaviyo/spec/stable.json``)
or its developer guides:

- ``Authorization: Klaviyo-API-Key <key>`` (401 otherwise) and a ``revision`` header of the form
  ``YYYY-MM-DD[.suffix]`` no newer than the spec this fake implements (400 otherwise);
- JSON:API bodies (``application/vnd.api+json``) checked against the operation's schema; errors
  come back as ``{"errors": [{id, status, code, title, detail, source}]}``;
- limits: ``page[size]`` 1..100, bulk import ≤ 10,000 profiles and ≤ 5 MB, list relationship
  calls ≤ 1,000 profiles;
- per-operation rate limits from ``x-klaviyo-ratelimit`` (burst per second, steady per minute),
  answered with 429 and ``Retry-After`` in whole seconds;
- bulk import and deletion jobs run asynchronously (queued → processing → complete) with
  per-profile import errors; events are deduplicated on ``unique_id``.

Tests inject failures (``inject``), reject e-mails in imports (``reject_emails``), change
consent inside "Klaviyo" (``change_consent``) and fire signed system webhooks (``fire_webhook``).
Every request is kept in ``log``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import queue
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import requests
from flask import Flask, Response, request
from werkzeug.serving import WSGIRequestHandler, make_server

from connectors.klaviyo.fake import spec
from connectors.klaviyo.fake.store import Job, Store, iso, profile_id, seconds

SPEC_REVISION = "2026-07-15"
MAX_PAGE_SIZE = 100
MAX_IMPORT_PROFILES = 10_000
MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_LIST_RELATIONSHIPS = 1_000
MAX_BODY_BYTES = 100 * 1024  # every other write: "payload ≤ 100 KB"
REVISION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")


class KlaviyoError(Exception):
    def __init__(self, status: int, code: str, title: str, detail: str,
                 source: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.errors = [(code, title, detail, source or {})]
        self.status = status
        self.headers = headers or {}

    @classmethod
    def invalid(cls, errors: list[tuple[str, str]]) -> KlaviyoError:
        exc = cls(400, "invalid", "Invalid input.", errors[0][1], {"pointer": errors[0][0]})
        exc.errors = [("invalid", "Invalid input.", message, {"pointer": pointer})
                      for pointer, message in errors]
        return exc

    def response(self) -> Response:
        body = {"errors": [
            {"id": str(uuid.uuid4()), "status": self.status, "code": code, "title": title,
             "detail": detail, "source": source, "links": {}, "meta": {}}
            for code, title, detail, source in self.errors
        ]}
        return Response(json.dumps(body), self.status, self.headers,
                        content_type="application/vnd.api+json")


@dataclass
class Logged:
    method: str
    path: str
    operation: str
    status: int
    query: dict[str, str]
    body: Any = None
    at: float = field(default_factory=time.monotonic)


@dataclass
class Injected:
    operation: str
    status: int | None  # None: answer normally, only late (``delay``)
    times: int
    after: int
    retry_after: int | None
    delay: float = 0.0
    seen: int = 0


class RateLimiter:
    """Sliding one-second and one-minute windows per operation, as Klaviyo's burst/steady."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.calls: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def check(self, op: spec.Operation) -> float | None:
        """None if allowed (and counted), else seconds until a slot frees."""
        now = time.monotonic()
        burst = max(1, int(op.rate_limit.burst_per_second * self.scale))
        steady = max(1, int(op.rate_limit.steady_per_minute * self.scale))
        with self.lock:
            calls = self.calls.setdefault(op.operation_id, deque())
            while calls and calls[0] <= now - 60:
                calls.popleft()
            recent = sum(1 for t in calls if t > now - 1)
            if recent >= burst:
                oldest = next(t for t in calls if t > now - 1)
                return oldest + 1 - now
            if len(calls) >= steady:
                return calls[0] + 60 - now
            calls.append(now)
            return None


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """The fake's own ``log`` records every request; no per-request stderr lines."""


class FakeKlaviyo:
    """``with FakeKlaviyo(seed=1, profiles=1000) as fake: fake.url``"""

    def __init__(self, *, seed: int = 1, profiles: int = 1000, api_key: str = "pk_test_sadakat",
                 account_id: str = "SdkFake", rate_limits: float | None = 1.0,
                 job_delay: float = 0.02) -> None:
        self.api_key = api_key
        self.account_id = account_id
        self.store = Store(seed, profiles, seconds(datetime.now(UTC)))
        self.limiter = RateLimiter(rate_limits) if rate_limits else None
        self.job_delay = job_delay
        self.log: list[Logged] = []
        self.injected: list[Injected] = []
        self.reject_emails: set[str] = set()
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self.app = self._build_app()
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True,
                                   request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._threads: list[threading.Thread] = []

    # -- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> FakeKlaviyo:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        for target in (lambda: self._server.serve_forever(poll_interval=0.05), self._work):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._jobs.put(None)
        self._server.shutdown()
        self._server.server_close()

    # -- test controls -------------------------------------------------------------------------

    def inject(self, operation: str, status: int | None = 503, *, times: int = 1, after: int = 0,
               retry_after: int | None = None, delay: float = 0.0) -> None:
        """Fail the next ``times`` calls of ``operation`` (an operationId) after ``after`` good
        ones: answer ``status`` (with ``Retry-After`` if given), after ``delay`` seconds (longer
        than the client's timeout, it is a timeout)."""
        self.injected.append(Injected(operation, status, times, after, retry_after, delay))

    def calls(self, operation: str | None = None) -> list[Logged]:
        with self._lock:
            return [e for e in self.log if operation is None or e.operation == operation]

    def email(self, index: int) -> str:
        return self.store.emails[index]

    def consent_of(self, email: str) -> tuple[str, str | None]:
        return self.store.consent_of(self.store.by_email[email.lower()])

    def properties_of(self, email: str) -> dict[str, Any]:
        return dict(self.store.properties.get(self.store.by_email[email.lower()], {}))

    def list_members(self, name: str) -> set[str]:
        for list_id, info in self.store.lists.items():
            if info["name"] == name:
                return {self.store.emails[i] for i in self.store.list_members[list_id]}
        return set()

    def change_consent(self, email: str, consent: str, suppression: str | None = None,
                       at: datetime | None = None) -> int:
        index = self.store.by_email[email.lower()]
        self.store.set_consent(index, consent, suppression, seconds(at or datetime.now(UTC)))
        return index

    def system_webhook(self, secret: str, topic: str, email: str, *, at: datetime | None = None,
                       webhook_id: str = "01WHFAKE0000000000000000") -> tuple[dict[str, str], bytes]:
        """(headers, body) of a system webhook as Klaviyo sends it: ``data[]`` of ``{topic,
        external_id, payload}`` (payload shaped like Get Event with the profile included), signed
        with hex HMAC-SHA256(secret, raw body + Klaviyo-Timestamp)."""
        when = at or datetime.now(UTC)
        index = self.store.by_email[email.lower()]
        event_id = uuid.uuid4().hex[:12]
        stamp = datetime.now(UTC).isoformat()
        body = json.dumps({
            "meta": {"klaviyo_account_id": self.account_id, "klaviyo_webhook_id": webhook_id,
                     "timestamp": stamp, "version": SPEC_REVISION},
            "data": [{"topic": topic, "external_id": event_id, "payload": {
                "data": {"type": "event", "id": event_id, "attributes": {
                    "timestamp": int(when.timestamp()), "datetime": when.isoformat(),
                    "event_properties": {"email_address": email}, "uuid": str(uuid.uuid4()),
                }, "relationships": {"profile": {"data": {"type": "profile", "id": profile_id(index)}}}},
                "included": [{"type": "profile", "id": profile_id(index),
                              "attributes": {"email": self.store.emails[index]}}],
            }}],
        }).encode()
        signature = hmac.new(secret.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
        return {"Content-Type": "application/json", "Klaviyo-Webhook-Id": webhook_id,
                "Klaviyo-Timestamp": stamp, "Klaviyo-Signature": signature}, body

    def fire_webhook(self, url: str, secret: str, topic: str, email: str, *,
                     at: datetime | None = None) -> requests.Response:
        """POST a signed system webhook to a receiver."""
        headers, body = self.system_webhook(secret, topic, email, at=at)
        return requests.post(url, data=body, headers=headers, timeout=10)

    # -- HTTP ----------------------------------------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask("fake_klaviyo")

        @app.route("/api/<path:rest>", methods=["GET", "POST", "PATCH", "DELETE"])
        def api(rest: str) -> Response:
            return self._handle()

        return app

    def _handle(self) -> Response:
        found = spec.match(request.method, request.path)
        operation = found[0].operation_id if found else "unknown"
        body: Any = None
        try:
            if found is None:
                raise KlaviyoError(404, "not_found", "Not found.", f"{request.method} {request.path}")
            op, params = found
            self._check_headers()
            if self.limiter is not None and (wait := self.limiter.check(op)) is not None:
                raise KlaviyoError(429, "throttled", "Request was throttled.",
                                   f"Request was throttled. Expected available in {math.ceil(wait)} seconds.",
                                   headers={"Retry-After": str(max(1, math.ceil(wait)))})
            self._injected(operation)
            if op.has_body:
                body = self._body(op)
            response = getattr(self, f"_op_{operation}")(body, **params)
        except KlaviyoError as exc:
            response = exc.response()
        with self._lock:
            self.log.append(Logged(request.method, request.path, operation, response.status_code,
                                   dict(request.args), body))
        return response

    def _check_headers(self) -> None:
        if request.headers.get("Authorization") != f"Klaviyo-API-Key {self.api_key}":
            raise KlaviyoError(401, "not_authenticated", "Authentication credentials were not provided.",
                               "Missing or invalid private key.")
        revision = request.headers.get("revision", "")
        if not revision:
            raise KlaviyoError(400, "invalid", "Invalid input.", "Missing required 'revision' header.",
                               {"header": "revision"})
        if not REVISION.match(revision) or revision.split(".")[0] > SPEC_REVISION:
            raise KlaviyoError(400, "invalid", "Invalid input.",
                               f"Invalid revision {revision!r}: this API implements {SPEC_REVISION}.",
                               {"header": "revision"})

    def _injected(self, operation: str) -> None:
        with self._lock:
            chosen = None
            for inj in self.injected:
                if inj.operation != operation or inj.times <= 0:
                    continue
                inj.seen += 1
                if inj.seen > inj.after:
                    inj.times -= 1
                    chosen = inj
                break
        if chosen is None:
            return
        time.sleep(chosen.delay)
        if chosen.status is not None:
            headers = {"Retry-After": str(chosen.retry_after)} if chosen.retry_after is not None else {}
            raise KlaviyoError(chosen.status, "injected", "Injected failure.",
                               f"injected {chosen.status} for {operation}", headers=headers)

    def _body(self, op: spec.Operation) -> Any:
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
        if content_type not in ("application/vnd.api+json", "application/json"):
            raise KlaviyoError(415, "unsupported_media_type", "Unsupported media type.",
                               f"Content-Type {content_type!r} is not application/vnd.api+json.")
        limit = MAX_IMPORT_BYTES if op.operation_id == "bulk_import_profiles" else MAX_BODY_BYTES
        raw = request.get_data()
        if len(raw) > limit:
            raise KlaviyoError(413, "payload_too_large", "Payload too large.",
                               f"Payload is {len(raw)} bytes; the limit is {limit}.")
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise KlaviyoError(400, "parse_error", "Malformed JSON.", str(exc)) from exc
        _check_batch_size(op.operation_id, body)  # cheap limits before the full schema check
        errors = spec.body_errors(op, body)
        if errors:
            raise KlaviyoError.invalid(errors)
        return body

    def _json(self, body: Any, status: int = 200) -> Response:
        return Response(json.dumps(body), status, content_type="application/vnd.api+json")

    def _next_link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        args = {k: v for k, v in request.args.items() if k != "page[cursor]"}
        args["page[cursor]"] = cursor
        return f"{self.url}{request.path}?{urlencode(args)}"

    @staticmethod
    def _page_size(default: int = 20) -> int:
        raw = request.args.get("page[size]", str(default))
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
            raise KlaviyoError(400, "invalid", "Invalid input.",
                               f"page[size] must be between 1 and {MAX_PAGE_SIZE}.",
                               {"parameter": "page[size]"})
        return int(raw)

    # -- operations ----------------------------------------------------------------------------

    def _op_get_accounts(self, body: Any) -> Response:
        return self._json({"data": [{"type": "account", "id": self.account_id, "attributes": {
            "test_account": True, "contact_information": {"default_sender_email": "shop@example.com",
                                                          "organization_name": "Sadakat Fake Store"},
            "timezone": "UTC", "preferred_currency": "USD", "public_api_key": self.account_id,
        }}], "links": {"self": f"{self.url}/api/accounts/"}})

    def _op_get_profiles(self, body: Any) -> Response:
        size = self._page_size()
        after_updated, emails = _profile_filter(request.args.get("filter"))
        sort = request.args.get("sort")
        if sort not in (None, "updated"):
            raise KlaviyoError(400, "invalid", "Invalid input.", f"Unsupported sort {sort!r}.",
                               {"parameter": "sort"})
        subscriptions = "subscriptions" in request.args.get("additional-fields[profile]", "").split(",")
        store = self.store
        if emails is not None:
            indexes = [i for e in emails if (i := store.find(email=e)) is not None][:size]
            cursor = None
        else:
            key = _decode_cursor(request.args.get("page[cursor]"))
            indexes = store.page_after(key, after_updated, size + 1)
            more = len(indexes) > size
            indexes = indexes[:size]
            cursor = _encode_cursor((store.updated[indexes[-1]], indexes[-1])) if more else None
        data = [store.resource(i, subscriptions=subscriptions, base_url=self.url) for i in indexes]
        return self._json({"data": data, "links": {
            "self": request.url, "next": self._next_link(cursor), "prev": None}})

    def _op_bulk_import_profiles(self, body: Any) -> Response:
        profiles = body["data"]["attributes"]["profiles"]["data"]
        lists = [item["id"] for item in body["data"].get("relationships", {}).get("lists", {}).get("data", [])]
        for list_id in lists:
            if list_id not in self.store.lists:
                raise KlaviyoError(404, "not_found", "Not found.", f"List {list_id} does not exist.",
                                   {"pointer": "/data/relationships/lists/data"})
        job = Job(self.store.new_id("BIJ"), "profile-bulk-import-job", profiles, lists,
                  seconds(datetime.now(UTC)))
        self.store.jobs[job.id] = job
        self._jobs.put(job)
        return self._json({"data": self._job_resource(job)}, 202)

    def _op_get_bulk_import_profiles_job(self, body: Any, job_id: str) -> Response:
        job = self.store.jobs.get(job_id)
        if job is None or job.kind != "profile-bulk-import-job":
            raise KlaviyoError(404, "not_found", "Not found.", f"No bulk import job {job_id}.")
        return self._json({"data": self._job_resource(job)})

    def _op_get_errors_for_bulk_import_profiles_job(self, body: Any, id: str) -> Response:
        job = self.store.jobs.get(id)
        if job is None or job.kind != "profile-bulk-import-job":
            raise KlaviyoError(404, "not_found", "Not found.", f"No bulk import job {id}.")
        size = self._page_size()
        start = int(request.args.get("page[cursor]") or 0)
        page = job.failed[start:start + size]
        more = start + size < len(job.failed)
        return self._json({"data": page, "links": {
            "self": request.url, "next": self._next_link(str(start + size) if more else None),
            "prev": None}})

    def _job_resource(self, job: Job) -> dict[str, Any]:
        return {"type": job.kind, "id": job.id, "attributes": {
            "status": job.status, "created_at": iso(job.created), "total_count": len(job.payload),
            "completed_count": job.completed_count, "failed_count": len(job.failed),
            "completed_at": iso(job.completed) if job.completed else None,
            "expires_at": iso(job.created + 7 * 86400),
            "started_at": iso(job.started) if job.started else None,
        }, "links": {"self": f"{self.url}/api/profile-bulk-import-jobs/{job.id}/"}}

    def _op_get_lists(self, body: Any) -> Response:
        wanted = None
        raw = request.args.get("filter")
        if raw:
            found = re.fullmatch(r'equals\(name,"((?:[^"\\]|\\.)*)"\)', raw)
            if not found:
                raise KlaviyoError(400, "invalid", "Invalid input.", f"Unsupported filter {raw!r}.",
                                   {"parameter": "filter"})
            wanted = found.group(1).replace('\\"', '"')
        data = [
            {"type": "list", "id": list_id, "attributes": {"name": info["name"], "created": info["created"],
                                                          "updated": info["created"], "opt_in_process": "single_opt_in"}}
            for list_id, info in self.store.lists.items() if wanted is None or info["name"] == wanted
        ]
        return self._json({"data": data[:10], "links": {"self": request.url, "next": None, "prev": None}})

    def _op_create_list(self, body: Any) -> Response:
        name = body["data"]["attributes"]["name"]
        list_id = self.store.new_id("L")
        created = datetime.now(UTC).isoformat()
        self.store.lists[list_id] = {"name": name, "created": created}
        self.store.list_members[list_id] = set()
        return self._json({"data": {"type": "list", "id": list_id, "attributes": {
            "name": name, "created": created, "updated": created, "opt_in_process": "single_opt_in"}}}, 201)

    def _list_change(self, body: Any, list_id: str) -> tuple[set[int], list[int]]:
        if list_id not in self.store.lists:
            raise KlaviyoError(404, "not_found", "Not found.", f"List {list_id} does not exist.")
        items = body["data"]
        indexes = []
        for n, item in enumerate(items):
            index = self.store.find(pid=item["id"])
            if index is None:
                raise KlaviyoError(400, "invalid", "Invalid input.", f"Profile {item['id']} does not exist.",
                                   {"pointer": f"/data/{n}/id"})
            indexes.append(index)
        return self.store.list_members[list_id], indexes

    def _op_add_profiles_to_list(self, body: Any, id: str) -> Response:
        members, indexes = self._list_change(body, id)
        with self.store.lock:
            members.update(indexes)
        return Response(status=204)

    def _op_remove_profiles_from_list(self, body: Any, id: str) -> Response:
        members, indexes = self._list_change(body, id)
        with self.store.lock:
            members.difference_update(indexes)
        return Response(status=204)

    def _op_create_event(self, body: Any) -> Response:
        attributes = body["data"]["attributes"]
        profile = attributes["profile"]["data"]
        email = profile.get("attributes", {}).get("email")
        if not (email or profile.get("id") or profile.get("attributes", {}).get("phone_number")):
            raise KlaviyoError(400, "invalid", "Invalid input.", "A profile identifier is required.",
                               {"pointer": "/data/attributes/profile/data/attributes"})
        key = attributes.get("unique_id") or str(uuid.uuid4())
        with self.store.lock:
            if key not in self.store.events:  # Klaviyo drops a repeated unique_id silently
                self.store.events[key] = {"metric": attributes["metric"]["data"]["attributes"]["name"],
                                          "email": email, "properties": attributes["properties"],
                                          "time": attributes.get("time")}
        return Response(status=202)

    def _op_request_profile_deletion(self, body: Any) -> Response:
        profile = body["data"]["attributes"]["profile"]["data"]
        job = Job(self.store.new_id("DPJ"), "data-privacy-deletion-job", [profile], [],
                  seconds(datetime.now(UTC)))
        self.store.jobs[job.id] = job
        self._jobs.put(job)
        return Response(status=202)

    def _op_create_webhook(self, body: Any) -> Response:
        data = body["data"]
        attributes = data["attributes"]
        if len(attributes["secret_key"]) < 16:
            raise KlaviyoError(400, "invalid", "Invalid input.", "secret_key must be at least 16 characters.",
                               {"pointer": "/data/attributes/secret_key"})
        webhook_id = self.store.new_id("WH")
        topics = [t["id"] for t in data["relationships"]["webhook-topics"].get("data", [])]
        self.store.webhooks[webhook_id] = {"enabled": True, **attributes, "topics": topics}
        return self._json({"data": self._webhook(webhook_id)}, 201)

    def _op_get_webhooks(self, body: Any) -> Response:
        return self._json({"data": [self._webhook(i) for i in self.store.webhooks]})

    def _op_update_webhook(self, body: Any, id: str) -> Response:
        if id not in self.store.webhooks or body["data"].get("id") != id:
            raise KlaviyoError(404, "not_found", "Not found.", f"No webhook {id!r}.")
        hook = self.store.webhooks[id]
        hook.update(body["data"].get("attributes", {}))
        if "relationships" in body["data"]:
            hook["topics"] = [t["id"] for t in body["data"]["relationships"]["webhook-topics"]["data"]]
        return self._json({"data": self._webhook(id)})

    def _webhook(self, webhook_id: str) -> dict[str, Any]:
        """A webhook as Klaviyo shows it: never its secret."""
        hook = self.store.webhooks[webhook_id]
        return {"type": "webhook", "id": webhook_id, "attributes": {
            "name": hook["name"], "endpoint_url": hook["endpoint_url"], "enabled": hook["enabled"]}}

    # -- asynchronous jobs ---------------------------------------------------------------------

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            time.sleep(self.job_delay)
            job.status, job.started = "processing", seconds(datetime.now(UTC))
            if job.kind == "profile-bulk-import-job":
                self._import(job)
            else:
                identity = job.payload[0]
                index = self.store.find(email=identity.get("attributes", {}).get("email"),
                                        pid=identity.get("id"))
                if index is not None:
                    self.store.delete(index)
                job.completed_count = 1
            job.status, job.completed = "complete", seconds(datetime.now(UTC))

    def _import(self, job: Job) -> None:
        now = seconds(datetime.now(UTC))
        for n, profile in enumerate(job.payload):
            attributes = profile.get("attributes", {})
            email = (attributes.get("email") or "").strip().lower()
            problem = None
            if not email:
                problem = "A profile needs an email (this fake imports by e-mail only)."
            elif not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email) or email in self.reject_emails:
                problem = f"Invalid email address: {email}."
            if problem:
                job.failed.append({"type": "import-error", "id": str(uuid.uuid4()), "attributes": {
                    "code": "invalid", "title": "Invalid input.", "detail": problem,
                    "source": {"pointer": f"/data/attributes/profiles/data/{n}/attributes/email"},
                    "original_payload": attributes}})
                continue
            index = self.store.upsert(email, attributes.get("properties") or {}, now)
            for list_id in job.list_ids:
                self.store.list_members[list_id].add(index)
            job.completed_count += 1


BATCH_LIMITS = {  # operation: (path to the array, maximum, what it counts)
    "bulk_import_profiles": (("data", "attributes", "profiles", "data"), MAX_IMPORT_PROFILES, "profiles per bulk import job"),
    "add_profiles_to_list": (("data",), MAX_LIST_RELATIONSHIPS, "profiles per list relationships call"),
    "remove_profiles_from_list": (("data",), MAX_LIST_RELATIONSHIPS, "profiles per list relationships call"),
}


def _check_batch_size(operation: str, body: Any) -> None:
    if operation not in BATCH_LIMITS:
        return
    path, limit, what = BATCH_LIMITS[operation]
    items: Any = body
    for key in path:
        items = items.get(key) if isinstance(items, dict) else None
    if isinstance(items, list) and len(items) > limit:
        raise KlaviyoError(400, "invalid", "Invalid input.", f"At most {limit} {what}; got {len(items)}.",
                           {"pointer": "/" + "/".join(path)})


def _encode_cursor(key: tuple[float, int]) -> str:
    return base64.urlsafe_b64encode(f"{key[0]!r}|{key[1]}".encode()).decode()


def _decode_cursor(raw: str | None) -> tuple[float, int] | None:
    if not raw:
        return None
    try:
        updated, index = base64.urlsafe_b64decode(raw.encode()).decode().split("|")
        return float(updated), int(index)
    except ValueError as exc:
        raise KlaviyoError(400, "invalid", "Invalid input.", "Invalid page cursor.",
                           {"parameter": "page[cursor]"}) from exc


_GREATER = re.compile(r"greater-than\(updated,([0-9T:.+\-Z]+)\)")
_EQUALS = re.compile(r'equals\(email,"([^"]+)"\)')
_ANY = re.compile(r"any\(email,\[(.*)\]\)")


def _profile_filter(raw: str | None) -> tuple[float | None, list[str] | None]:
    """The filters this fake supports on profiles: ``greater-than(updated,<iso>)``,
    ``equals(email,"…")`` and ``any(email,["…",…])`` (≤ 100 values)."""
    if not raw:
        return None, None
    if found := _GREATER.fullmatch(raw):
        return seconds(datetime.fromisoformat(found.group(1))), None
    if found := _EQUALS.fullmatch(raw):
        return None, [found.group(1)]
    if found := _ANY.fullmatch(raw):
        emails = json.loads(f"[{found.group(1)}]")
        if len(emails) > 100:
            raise KlaviyoError(400, "invalid", "Invalid input.", "any() takes at most 100 values.",
                               {"parameter": "filter"})
        return None, emails
    raise KlaviyoError(400, "invalid", "Invalid input.", f"Unsupported filter {raw!r}.",
                       {"parameter": "filter"})
