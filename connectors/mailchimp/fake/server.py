"""A fake Mailchimp Marketing API v3 for one audience, served over real HTTP on localhost.

It behaves as Mailchimp documents (``/work/shared/reference/platform-apis.md`` §3 at build time):
HTTP Basic auth with the API key as password; ``application/problem+json`` errors with
``type``/``title``/``status``/``detail``/``instance``; ``count`` at most 1000; merge tags of at
most 10 characters (and at most 80 merge fields); ``status_if_new`` required to create a member;
at most 10 simultaneous requests (429 beyond); batch operations run asynchronously
(pending → started → finished) and their results are a gzip'd tar of JSON arrays of
``{status_code, operation_id, response}``; at most 500 unfinished batches. Every request body,
direct or inside a batch, is checked against the official schemas in ``spec/``.

Tags are static segments ("Static segments are now known as tags", the segment ``type`` field
in the list-id spec): ``POST /lists/{id}/segments/{segment_id}`` adds and removes at most 500
members per array ("A maximum of 500 members can be sent"; addresses not on the list "will be
ignored", so the fake ignores them silently, the least convenient reading).

Addresses the audience refuses, with the problem bodies Mailchimp sends (captured responses,
cited where each is raised): a permanently deleted ("forgotten") contact cannot be re-added
(``400 Forgotten Email Not Subscribed``) and, not being a member, cannot be tagged (404); an
address held in compliance state cannot be added (``400 Member In Compliance State``); an
address Mailchimp calls fake or invalid cannot be added (``400 Invalid Resource … looks fake or
invalid``). A forgotten or compliance-held contact comes back only by signing up again through
Mailchimp's own form (``signup``).

Tests steer it with ``inject`` (fail the next matching requests or batch operations, with
429 + Retry-After or 5xx), ``forget`` / ``hold_in_compliance`` / ``fake_addresses`` /
``signup``, read ``log`` (every request and batch operation) and read the audience directly
(``audience.members``).
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import random
import re
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import requests
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from connectors.mailchimp.fake.schema import body_schemas, errors
from connectors.mailchimp.fake.store import Audience, Batch, Member, now, stamp, subscriber_hash

MAX_COUNT = 1000
MAX_CONNECTIONS = 10
MAX_PENDING_BATCHES = 500
MAX_MERGE_FIELDS = 80
MAX_SEGMENT_MEMBERS = 500  # per members_to_add / members_to_remove array
RESULTS_PER_FILE = 500
# Disposable-mail domains Mailchimp refuses as "fake or invalid" (Arcadier/Mailchimp-Exporter
# wiki, "Mailchimp Sync Errors": "all well-known temporary email services like yopmail.com or
# sharklasers.com").
DISPOSABLE_DOMAINS = frozenset({"yopmail.com", "sharklasers.com"})
_EVENT_NAME = re.compile(r"^[A-Za-z0-9_-]{2,30}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ERROR_DOCS = "https://mailchimp.com/developer/marketing/docs/errors/"


class Problem(Exception):
    def __init__(self, status: int, title: str, detail: str,
                 errors: list[dict[str, str]] | None = None, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.errors = errors
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": _ERROR_DOCS, "title": self.title, "status": self.status,
                                "detail": self.detail, "instance": str(uuid.uuid4())}
        if self.errors:
            body["errors"] = self.errors
        return body


def _not_found() -> Problem:
    return Problem(404, "Resource Not Found",
                   "The requested resource could not be found.")


@dataclass
class Injected:
    """Fail ``times`` requests (or batch operations) whose path contains ``path``, after letting
    the first ``after`` of them through (a failure in the middle of a paged read)."""

    status: int
    times: int = 1
    after: int = 0
    path: str = ""
    method: str = ""
    retry_after: int | None = None
    in_batch: bool = False


@dataclass(frozen=True)
class Logged:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    batch_id: str | None = None  # set for operations run inside a batch


_ROUTES = Map([
    Rule("/3.0/ping", endpoint="ping", methods=["GET"]),
    Rule("/3.0/lists/<list_id>", endpoint="get_list", methods=["GET"]),
    Rule("/3.0/lists/<list_id>/members", endpoint="list_members", methods=["GET"]),
    Rule("/3.0/lists/<list_id>/members/<hash>", endpoint="get_member", methods=["GET"]),
    Rule("/3.0/lists/<list_id>/members/<hash>", endpoint="put_member", methods=["PUT"]),
    Rule("/3.0/lists/<list_id>/members/<hash>/tags", endpoint="post_tags", methods=["POST"]),
    Rule("/3.0/lists/<list_id>/members/<hash>/events", endpoint="post_event", methods=["POST"]),
    Rule("/3.0/lists/<list_id>/members/<hash>/actions/delete-permanent",
         endpoint="delete_permanent", methods=["POST"]),
    Rule("/3.0/lists/<list_id>/merge-fields", endpoint="list_merge_fields", methods=["GET"]),
    Rule("/3.0/lists/<list_id>/merge-fields", endpoint="add_merge_field", methods=["POST"]),
    Rule("/3.0/lists/<list_id>/segments", endpoint="list_segments", methods=["GET"]),
    Rule("/3.0/lists/<list_id>/segments", endpoint="create_segment", methods=["POST"]),
    Rule("/3.0/lists/<list_id>/segments/<segment_id>", endpoint="batch_segment_members",
         methods=["POST"]),
    Rule("/3.0/lists/<list_id>/webhooks", endpoint="list_webhooks", methods=["GET"]),
    Rule("/3.0/lists/<list_id>/webhooks", endpoint="add_webhook", methods=["POST"]),
    Rule("/3.0/lists/<list_id>/webhooks/<webhook_id>", endpoint="update_webhook",
         methods=["PATCH"]),
    Rule("/3.0/batches", endpoint="start_batch", methods=["POST"]),
    Rule("/3.0/batches/<batch_id>", endpoint="batch_status", methods=["GET"]),
    Rule("/batch-results/<batch_id>.tar.gz", endpoint="batch_results", methods=["GET"]),
])
ROUTES = _ROUTES.bind("fake")


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """The request log is ``FakeMailchimp.log``; keep stderr for real problems."""


class FakeMailchimp:
    """``with FakeMailchimp(members=500) as fake: fake.url, fake.api_key, fake.list_id``."""

    def __init__(self, *, seed: int = 0, members: int = 0, api_key: str = "",
                 list_id: str = "a1b2c3d4e5", batch_delay: float = 0.02,
                 latency: float = 0.0) -> None:
        self.api_key = api_key or f"{uuid.UUID(int=random.Random(seed).getrandbits(128)).hex}-us21"
        self.list_id = list_id
        self.audience = Audience(list_id)
        self.audience.seed(random.Random(seed), members)
        self.batch_delay = batch_delay
        self.latency = latency  # seconds each HTTP request takes, to make concurrency visible
        self.batches: dict[str, Batch] = {}
        self.log: list[Logged] = []
        self.fake_addresses: set[str] = set()  # lower-cased addresses Mailchimp calls fake
        self.max_in_flight = 0
        self._injected: list[Injected] = []
        self._in_flight = 0
        self._guard = threading.Lock()
        self._server: Any = None
        self.url = ""

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> FakeMailchimp:
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True,
                                   request_handler=_Quiet)
        self.root = f"http://127.0.0.1:{self._server.server_port}"
        self.url = f"{self.root}/3.0"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- test controls -----------------------------------------------------------------------

    def inject(self, status: int, *, times: int = 1, after: int = 0, path: str = "",
               method: str = "", retry_after: int | None = None, in_batch: bool = False) -> None:
        with self._guard:
            self._injected.append(
                Injected(status, times, after, path, method, retry_after, in_batch))

    def requests(self, method: str = "", contains: str = "", *, in_batch: bool | None = None) -> list[Logged]:
        """Logged requests filtered by method, path fragment and whether they ran in a batch."""
        return [
            entry for entry in list(self.log)
            if (not method or entry.method == method) and contains in entry.path
            and (in_batch is None or (entry.batch_id is not None) == in_batch)
        ]

    def http_calls(self) -> int:
        """Requests that reached the server over HTTP (batch operations excluded)."""
        return sum(1 for entry in list(self.log) if entry.batch_id is None)

    def member(self, email: str) -> Member | None:
        return self.audience.members.get(subscriber_hash(email))

    def add_member(self, email: str, status: str = "subscribed") -> Member:
        with self.audience.lock:
            return self.audience.add_member(email, status)

    def forget(self, email: str) -> None:
        """The merchant permanently deletes a contact in Mailchimp (or it was never a member
        here but was deleted before): the address is remembered and refused from now on."""
        with self.audience.lock:
            member = self.member(email)
            if member is not None:
                self.audience.forget(member)
            self.audience.forgotten.add(subscriber_hash(email))

    def hold_in_compliance(self, email: str) -> None:
        """Mailchimp holds the address in compliance state (it unsubscribed or bounced and was
        then removed, or it is under compliance review): it cannot be added by API."""
        with self.audience.lock:
            member = self.member(email)
            if member is not None:
                del self.audience.members[member.id]
            self.audience.compliance.add(subscriber_hash(email))

    def signup(self, email: str) -> Member:
        """The contact signs up again through Mailchimp's own form: the only way back for a
        forgotten or compliance-held address ("The contact must re-subscribe")."""
        key = subscriber_hash(email)
        with self.audience.lock:
            self.audience.forgotten.discard(key)
            self.audience.compliance.discard(key)
            member = self.audience.members.get(key) or self.audience.add_member(email, "subscribed")
            member.status, member.last_changed = "subscribed", now()
            return member

    def fire_webhook(self, url: str, kind: str, data: dict[str, Any], *,
                     fired_at: datetime | None = None) -> requests.Response:
        """POST a webhook as Mailchimp does: form-encoded ``type``, ``fired_at``, ``data[...]``."""
        form = {"type": kind, "fired_at": (fired_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S")}
        form.update(_flatten("data", {"list_id": self.list_id, **data}))
        return requests.post(url, data=urlencode(form), timeout=10,
                             headers={"Content-Type": "application/x-www-form-urlencoded",
                                      "User-Agent": "MailChimp"})

    # -- HTTP --------------------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self._guard:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            crowded = self._in_flight > MAX_CONNECTIONS
        try:
            if self.latency:
                time.sleep(self.latency)
            response = self._respond(request, crowded)
        finally:
            with self._guard:
                self._in_flight -= 1
        return response(environ, start_response)

    def _respond(self, request: Request, crowded: bool) -> Response:
        query = dict(request.args)
        body: Any = None
        try:
            if crowded:
                raise Problem(429, "Too Many Requests",
                              f"You have exceeded the limit of {MAX_CONNECTIONS} simultaneous connections.")
            endpoint, args = ROUTES.match(request.path, request.method)
            if endpoint != "batch_results":
                self._authenticate(request)
            if request.data:
                try:
                    body = json.loads(request.data)
                except ValueError:
                    raise Problem(400, "JSON Parse Exception",
                                  "We encountered an unspecified JSON parsing error.") from None
            self._maybe_fail(request.method, request.path, in_batch=False)
            status, payload = self._dispatch(endpoint, args, query, body)
        except (NotFound, MethodNotAllowed):
            status, payload = 404, _not_found()
        except Problem as problem:
            status, payload = problem.status, problem
        self.log.append(Logged(request.method, request.path, query, body, status))
        if isinstance(payload, Problem):
            response = Response(json.dumps(payload.body()), status,
                                content_type="application/problem+json")
            if payload.retry_after is not None:
                response.headers["Retry-After"] = str(payload.retry_after)
            return response
        if isinstance(payload, bytes):
            return Response(payload, status, content_type="application/x-gzip")
        if payload is None:
            return Response(b"", status)
        return Response(json.dumps(payload), status, content_type="application/json; charset=utf-8")

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("Authorization", "")
        key = ""
        if header.startswith("Basic "):
            try:
                key = base64.b64decode(header[6:]).decode().partition(":")[2]
            except ValueError:
                key = ""
        if key != self.api_key:
            raise Problem(401, "API Key Invalid",
                          "Your API key may be invalid, or you've attempted to access the wrong datacenter.")

    def _maybe_fail(self, method: str, path: str, *, in_batch: bool) -> None:
        with self._guard:
            for rule in self._injected:
                if (rule.in_batch == in_batch and rule.times > 0 and rule.path in path
                        and (not rule.method or rule.method == method)):
                    if rule.after > 0:
                        rule.after -= 1
                        continue
                    rule.times -= 1
                    title = "Too Many Requests" if rule.status == 429 else "Internal Server Error"
                    raise Problem(rule.status, title, "Injected failure.", retry_after=rule.retry_after)

    def _dispatch(self, endpoint: str, args: dict[str, str], query: dict[str, str],
                  body: Any) -> tuple[int, Any]:
        list_id = args.pop("list_id", None)
        if list_id is not None and list_id != self.list_id:
            raise _not_found()
        with self.audience.lock:
            return getattr(self, f"_{endpoint}")(query=query, body=body, **args)

    # -- endpoints ---------------------------------------------------------------------------

    def _ping(self, **_: Any) -> tuple[int, Any]:
        return 200, {"health_status": "Everything's Chimpy!"}

    def _get_list(self, **_: Any) -> tuple[int, Any]:
        statuses = [m.status for m in self.audience.members.values()]
        return 200, {"id": self.list_id, "name": self.audience.name,
                     "stats": {"member_count": statuses.count("subscribed"),
                               "unsubscribe_count": statuses.count("unsubscribed"),
                               "cleaned_count": statuses.count("cleaned")}}

    def _list_members(self, query: dict[str, str], **_: Any) -> tuple[int, Any]:
        count, offset = _paging(query)
        members: list[Member] = list(self.audience.members.values())
        if "status" in query:
            members = [m for m in members if m.status == query["status"]]
        if "since_last_changed" in query:
            since = _parse_time(query["since_last_changed"], "since_last_changed")
            members = [m for m in members if m.last_changed > since]
        if query.get("sort_field") == "last_changed":
            members.sort(key=lambda m: (m.last_changed, m.id),
                         reverse=query.get("sort_dir", "ASC").upper() == "DESC")
        page = members[offset:offset + count]
        tag_ids = self.audience.tag_ids()
        return 200, {"members": [m.as_json(self.list_id, tag_ids) for m in page], "list_id": self.list_id,
                     "total_items": len(members)}

    def _get_member(self, hash: str, **_: Any) -> tuple[int, Any]:
        return 200, self._find(hash).as_json(self.list_id, self.audience.tag_ids())

    def _put_member(self, hash: str, body: Any, **_: Any) -> tuple[int, Any]:
        _check("PUT /lists/{list_id}/members/{subscriber_hash}", body)
        email = body["email_address"]
        if subscriber_hash(email) != hash:
            raise Problem(400, "Invalid Resource",
                          "The subscriber hash does not match the e-mail address.")
        merges = self._merge_values(body.get("merge_fields", {}))
        member = self.audience.members.get(hash)
        if member is None:
            self._refuse_new(hash, email)
            member = self.audience.add_member(email, body.get("status") or body["status_if_new"])
        elif "status" in body:
            member.status = body["status"]
        member.merge_fields.update(merges)
        member.last_changed = now()
        return 200, member.as_json(self.list_id, self.audience.tag_ids())

    def _refuse_new(self, hash: str, email: str) -> None:
        """The addresses Mailchimp will not add to the audience, with its own problem bodies."""
        if hash in self.audience.forgotten:
            # Captured: hitobito/hitobito#1930 (a batch operation's result), pastebin QYm97nCC.
            raise Problem(400, "Forgotten Email Not Subscribed",
                          f"{email} was permanently deleted and cannot be re-imported. The "
                          "contact must re-subscribe to get back on the list.")
        if hash in self.audience.compliance:
            # Captured: ibericode/mailchimp-for-wordpress#798, tbar0970/jethro-pmm#656 (batch).
            raise Problem(400, "Member In Compliance State",
                          f"{email} is in a compliance state due to unsubscribe, bounce, or "
                          "compliance review and cannot be subscribed.")
        lowered = email.strip().lower()
        if lowered in self.fake_addresses or lowered.rpartition("@")[2] in DISPOSABLE_DOMAINS:
            # Captured: Arcadier/Mailchimp-Exporter wiki, "Mailchimp Sync Errors".
            raise Problem(400, "Invalid Resource",
                          f"{email} looks fake or invalid, please enter a real email address.")

    def _post_tags(self, hash: str, body: Any, **_: Any) -> tuple[int, Any]:
        _check("POST /lists/{list_id}/members/{subscriber_hash}/tags", body)
        member = self._find(hash)
        for tag in body["tags"]:
            self.audience.set_tag(member, tag["name"], tag["status"] == "active")
        return 204, None

    def _post_event(self, hash: str, body: Any, **_: Any) -> tuple[int, Any]:
        _check("POST /lists/{list_id}/members/{subscriber_hash}/events", body)
        if not _EVENT_NAME.match(body["name"]):
            raise Problem(400, "Invalid Resource", "The event name is invalid.",
                          [{"field": "name", "message": "2-30 letters, digits, _ or -"}])
        self._find(hash).events.append(body)
        return 204, None

    def _delete_permanent(self, hash: str, **_: Any) -> tuple[int, Any]:
        self.audience.forget(self._find(hash))
        return 204, None

    def _list_segments(self, query: dict[str, str], **_: Any) -> tuple[int, Any]:
        count, offset = _paging(query)
        tags = [t for t in self.audience.tags.values() if query.get("type", "static") == "static"]
        return 200, {"segments": [t.as_segment(self.list_id) for t in tags[offset:offset + count]],
                     "list_id": self.list_id, "total_items": len(tags)}

    def _create_segment(self, body: Any, **_: Any) -> tuple[int, Any]:
        _check("POST /lists/{list_id}/segments", body)
        if "options" in body:  # saved (condition) segments: the connector never makes them
            raise Problem(400, "Invalid Resource", "The fake makes static segments (tags) only.")
        name = body["name"]
        if name in self.audience.tags:
            # Mailchimp documents nothing for a second tag of one name; refusing is the least
            # convenient answer, so a connector must look its tag up before creating it.
            raise Problem(400, "Invalid Resource", f"A tag named \"{name}\" already exists.")
        tag = self.audience.tag(name)
        for email in body.get("static_segment", []):
            member = self.audience.members.get(subscriber_hash(email))
            if member is not None:
                self.audience.set_tag(member, name, True)
        return 200, tag.as_segment(self.list_id)

    def _batch_segment_members(self, body: Any, segment_id: str, **_: Any) -> tuple[int, Any]:
        _check("POST /lists/{list_id}/segments/{segment_id}", body)
        tag = next((t for t in self.audience.tags.values() if str(t.id) == segment_id), None)
        if tag is None:
            raise _not_found()
        for key in ("members_to_add", "members_to_remove"):
            if len(body.get(key, [])) > MAX_SEGMENT_MEMBERS:
                raise Problem(400, "Invalid Resource", "The resource submitted could not be validated.",
                              [{"field": key, "message": f"A maximum of {MAX_SEGMENT_MEMBERS} members can be sent."}])
        tag_ids = self.audience.tag_ids()
        changed: dict[str, list[dict[str, Any]]] = {"members_to_add": [], "members_to_remove": []}
        for key, active in (("members_to_add", True), ("members_to_remove", False)):
            for email in body.get(key, []):
                member = self.audience.members.get(subscriber_hash(email))
                if member is None or (tag.name in member.tags) == active:
                    continue  # not on the list: ignored, as documented; or nothing to change
                self.audience.set_tag(member, tag.name, active)
                member.last_changed = now()
                changed[key].append(member.as_json(self.list_id, tag_ids))
        added, removed = changed["members_to_add"], changed["members_to_remove"]
        return 200, {"members_added": added, "members_removed": removed, "errors": [],
                     "total_added": len(added), "total_removed": len(removed), "error_count": 0}

    def _list_merge_fields(self, query: dict[str, str], **_: Any) -> tuple[int, Any]:
        count, offset = _paging(query)
        fields = list(self.audience.merge_fields.values())
        return 200, {"merge_fields": [f.as_json(self.list_id) for f in fields[offset:offset + count]],
                     "list_id": self.list_id, "total_items": len(fields)}

    def _add_merge_field(self, body: Any, **_: Any) -> tuple[int, Any]:
        _check("POST /lists/{list_id}/merge-fields", body)
        tag = body.get("tag", "").upper()
        if not tag or len(tag) > 10:
            raise Problem(400, "Invalid Resource", "Merge tags must be 1 to 10 characters.",
                          [{"field": "tag", "message": "Tag must be 10 characters or fewer"}])
        if tag in self.audience.merge_fields:
            raise Problem(400, "Invalid Resource", f"A Merge Field with the tag \"{tag}\" already exists for this list.")
        if len(self.audience.merge_fields) >= MAX_MERGE_FIELDS:
            raise Problem(400, "Invalid Resource", f"An audience can have at most {MAX_MERGE_FIELDS} merge fields.")
        return 200, self.audience.add_merge_field(tag, body["name"], body["type"]).as_json(self.list_id)

    def _list_webhooks(self, **_: Any) -> tuple[int, Any]:
        return 200, {"webhooks": list(self.audience.webhooks), "list_id": self.list_id,
                     "total_items": len(self.audience.webhooks)}

    def _add_webhook(self, body: Any, **_: Any) -> tuple[int, Any]:
        _check("POST /lists/{list_id}/webhooks", body)
        if not body.get("url", "").startswith(("http://", "https://")):
            raise Problem(400, "Invalid Resource", "The resource submitted could not be validated.",
                          [{"field": "url", "message": "A valid URL is required"}])
        if any(hook["url"] == body["url"] for hook in self.audience.webhooks):
            # Mailchimp keeps one webhook per URL on an audience and refuses a second one.
            raise Problem(400, "Invalid Resource", "The resource submitted could not be validated.",
                          [{"field": "url", "message": "A webhook with this URL already exists"}])
        hook = {"id": uuid.uuid4().hex[:10], "list_id": self.list_id, **body}
        self.audience.webhooks.append(hook)
        return 200, hook

    def _update_webhook(self, body: Any, webhook_id: str, **_: Any) -> tuple[int, Any]:
        _check("PATCH /lists/{list_id}/webhooks/{webhook_id}", body)
        hook = next((h for h in self.audience.webhooks if h["id"] == webhook_id), None)
        if hook is None:
            raise Problem(404, "Resource Not Found", "The requested resource could not be found.")
        hook.update(body)
        return 200, hook

    def _start_batch(self, body: Any, **_: Any) -> tuple[int, Any]:
        _check("POST /batches", body)
        with self._guard:
            unfinished = sum(1 for b in self.batches.values() if b.status != "finished")
            if unfinished >= MAX_PENDING_BATCHES:
                raise Problem(429, "Too Many Requests",
                              f"You have more than {MAX_PENDING_BATCHES} pending batches.")
            batch = Batch(uuid.uuid4().hex[:10], body["operations"], datetime.now(UTC))
            self.batches[batch.id] = batch
        threading.Thread(target=self._run_batch, args=(batch,), daemon=True).start()
        return 200, self._batch_json(batch)

    def _batch_status(self, batch_id: str, **_: Any) -> tuple[int, Any]:
        if batch_id not in self.batches:
            raise _not_found()
        return 200, self._batch_json(self.batches[batch_id])

    def _batch_results(self, batch_id: str, **_: Any) -> tuple[int, Any]:
        batch = self.batches.get(batch_id)
        if batch is None or batch.status != "finished":
            raise _not_found()
        return 200, batch.results

    # -- batches -----------------------------------------------------------------------------

    def _batch_json(self, batch: Batch) -> dict[str, Any]:
        finished = batch.status == "finished"
        return {
            "id": batch.id, "status": batch.status, "total_operations": len(batch.operations),
            "finished_operations": batch.finished_operations,
            "errored_operations": batch.errored_operations,
            "submitted_at": stamp(batch.submitted_at),
            "completed_at": stamp(batch.completed_at) if batch.completed_at else "",
            "response_body_url": f"{self.root}/batch-results/{batch.id}.tar.gz" if finished else "",
        }

    def _run_batch(self, batch: Batch) -> None:
        time.sleep(self.batch_delay)
        batch.status = "started"
        results = []
        for operation in batch.operations:
            status, payload = self._run_operation(batch, operation)
            batch.finished_operations += 1
            if status >= 400:
                batch.errored_operations += 1
            response = payload.body() if isinstance(payload, Problem) else payload
            results.append({"status_code": status, "operation_id": operation.get("operation_id"),
                            "response": json.dumps(response) if response is not None else ""})
        batch.results = _tarball(batch.id, results)
        batch.completed_at = datetime.now(UTC)
        batch.status = "finished"

    def _run_operation(self, batch: Batch, operation: dict[str, Any]) -> tuple[int, Any]:
        method, path = operation["method"], operation["path"]
        body: Any = None
        try:
            body = json.loads(operation["body"]) if operation.get("body") else None
            self._maybe_fail(method, path, in_batch=True)
            endpoint, args = ROUTES.match(f"/3.0{path}", method)
            if endpoint in ("start_batch", "batch_status", "batch_results"):
                raise _not_found()
            status, payload = self._dispatch(endpoint, args, dict(operation.get("params") or {}), body)
        except (NotFound, MethodNotAllowed):
            status, payload = 404, _not_found()
        except ValueError:
            status, payload = 400, Problem(400, "JSON Parse Exception", "The operation body is not JSON.")
        except Problem as problem:
            status, payload = problem.status, problem
        self.log.append(Logged(method, f"/3.0{path}", {}, body, status, batch.id))
        return status, payload

    # -- helpers -----------------------------------------------------------------------------

    def _find(self, hash: str) -> Member:
        member = self.audience.members.get(hash)
        if member is None:
            raise _not_found()
        return member

    def _merge_values(self, values: dict[str, Any]) -> dict[str, Any]:
        problems = []
        for tag, value in values.items():
            merge = self.audience.merge_fields.get(tag)
            if merge is None:
                problems.append({"field": f"merge_fields.{tag}", "message": "Unknown merge field"})
            elif value != "" and merge.type == "number" and not _numeric(value):
                problems.append({"field": f"merge_fields.{tag}", "message": "Please enter a number"})
            elif value != "" and merge.type == "date" and not (isinstance(value, str) and _DATE.match(value)):
                problems.append({"field": f"merge_fields.{tag}", "message": "Please enter a date"})
        if problems:
            raise Problem(400, "Invalid Resource", "Your merge fields were invalid.", problems)
        return values


def _check(operation: str, body: Any) -> None:
    if body is None:
        raise Problem(400, "Invalid Resource", "The request body is missing.")
    found = errors(body, body_schemas()[operation])
    if found:
        raise Problem(400, "Invalid Resource", "The resource submitted could not be validated.", found)


def _paging(query: dict[str, str]) -> tuple[int, int]:
    try:
        count, offset = int(query.get("count", 10)), int(query.get("offset", 0))
    except ValueError:
        raise Problem(400, "Invalid Resource", "count and offset must be integers.") from None
    if count > MAX_COUNT or count < 0 or offset < 0:
        raise Problem(400, "Invalid Resource", f"count must be between 0 and {MAX_COUNT}.",
                      [{"field": "count", "message": f"Must be at most {MAX_COUNT}"}])
    return count, offset


def _parse_time(value: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Problem(400, "Invalid Resource", f"{field} is not an ISO 8601 time.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _tarball(batch_id: str, results: list[dict[str, Any]]) -> bytes:
    """Results as Mailchimp ships them: ``<batch>/<n>.json`` files of JSON arrays, tar'd, gzip'd."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for start in range(0, max(len(results), 1), RESULTS_PER_FILE):
            data = json.dumps(results[start:start + RESULTS_PER_FILE]).encode()
            info = tarfile.TarInfo(f"{batch_id}/{start // RESULTS_PER_FILE}.json")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), compresslevel=1)


def _flatten(prefix: str, value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flatten(f"{prefix}[{key}]", item)
    else:
        yield prefix, str(value)


