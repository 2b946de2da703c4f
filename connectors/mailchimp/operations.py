"""Sending many member operations: directly when few, as batch operations when many.

An ``Operation`` is one member write (upsert, tags, event) described once and sent either way:

- **directly** through the SDK's named call, on a thread pool no larger than the connection's
  concurrency limit (Mailchimp answers 429 beyond 10 simultaneous connections);
- **in a batch** (``POST /batches``): Mailchimp runs it asynchronously; we poll its status with
  growing pauses until ``finished``, download the gzip'd tar of per-operation results and read
  each ``status_code``. Operations that failed transiently (429, 5xx, or no result) are sent
  again in a new batch, a few rounds at most; the rest of the failures are reported.

Either way the caller gets, for each operation, ``None`` (done) or the ``Failure`` Mailchimp
answered (status, problem title and detail), which the connector classifies.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import tarfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from connectors.mailchimp.api import MailchimpApi
from connectors.sdk import ApiError, AuthError, RetriableError

log = logging.getLogger(__name__)

_RETRIABLE = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Operation:
    kind: str  # "member" (PUT upsert) | "tags" | "event"
    subscriber_hash: str
    body: dict[str, Any]


_BATCH_FORM = {  # kind → (method, path below the member)
    "member": ("PUT", ""),
    "tags": ("POST", "/tags"),
    "event": ("POST", "/events"),
}


@dataclass(frozen=True)
class Failure:
    """Mailchimp's answer to one failed operation: its problem+json ``title`` names the kind
    ("Forgotten Email Not Subscribed", "Invalid Resource", ...), ``detail`` says more."""

    status: int
    title: str = ""
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.status}: {self.detail or self.title}"


@dataclass
class Sent:
    errors: list[Failure | None]  # per operation, in order: None when it succeeded
    batches: int = 0


@dataclass
class Sender:
    api: MailchimpApi
    list_id: str
    max_connections: int
    direct_limit: int = 50       # fewer operations than this go directly: a batch takes minutes
    batch_size: int = 1000
    retry_rounds: int = 2
    poll_first: float = 0.05
    poll_max: float = 15.0
    poll_deadline: float = 3600.0
    sleep: Callable[[float], None] = field(default=time.sleep)

    def send(self, operations: Sequence[Operation]) -> Sent:
        if len(operations) < self.direct_limit:
            return Sent(self._direct(operations))
        sent = Sent([None] * len(operations))
        pending = list(range(len(operations)))
        for round_ in range(self.retry_rounds + 1):
            retry: list[int] = []
            for start in range(0, len(pending), self.batch_size):
                chunk = pending[start:start + self.batch_size]
                outcomes = self._batch([operations[i] for i in chunk])
                sent.batches += 1
                for index, failure in zip(chunk, outcomes, strict=True):
                    sent.errors[index] = failure
                    if failure is not None and failure.status in _RETRIABLE:
                        retry.append(index)
            if not retry or round_ == self.retry_rounds:
                break
            log.warning("retrying %d batch operations that failed transiently", len(retry))
            pending = retry
        return sent

    # -- directly ----------------------------------------------------------------------------

    def _direct(self, operations: Sequence[Operation]) -> list[Failure | None]:
        if not operations:
            return []
        workers = min(self.max_connections, len(operations))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(self._one, operations))

    def _one(self, operation: Operation) -> Failure | None:
        lists = self.api.client.lists
        call = {
            "member": lists.set_list_member,
            "tags": lists.update_list_member_tags,
            "event": lists.create_list_member_event,
        }[operation.kind]
        try:
            self.api.call(lambda: call(self.list_id, operation.subscriber_hash, operation.body))
        except AuthError:
            raise
        except ApiError as exc:
            return _failure(exc.status or 0, exc.body or str(exc))
        return None

    # -- as a batch --------------------------------------------------------------------------

    def _batch(self, operations: Sequence[Operation]) -> list[Failure | None]:
        payload = {"operations": [
            {
                "method": _BATCH_FORM[op.kind][0],
                "path": f"/lists/{self.list_id}/members/{op.subscriber_hash}{_BATCH_FORM[op.kind][1]}",
                "operation_id": str(index),
                "body": json.dumps(op.body),
            }
            for index, op in enumerate(operations)
        ]}
        batch = self.api.call(lambda: self.api.client.batches.start(payload))
        status = self._wait(batch["id"])
        results = _read_results(self.api.download(status["response_body_url"]))
        return [results.get(str(index), Failure(503, "", "no result for this operation"))
                for index in range(len(operations))]

    def _wait(self, batch_id: str) -> dict[str, Any]:
        """Poll until finished: once operations are running, pause for about the time the rest
        should take at the pace so far; before that, pauses grow by half each time."""
        pause, waited = self.poll_first, 0.0
        while True:
            status = self.api.call(lambda: self.api.client.batches.status(batch_id))
            if status["status"] == "finished":
                return status
            if waited >= self.poll_deadline:
                raise RetriableError(f"batch {batch_id} not finished after {waited:.0f}s")
            done, total = status.get("finished_operations", 0), status.get("total_operations", 0)
            if done and waited:
                pause = waited * (total - done) / done
            pause = min(max(pause, self.poll_first), self.poll_max)
            self.sleep(pause)
            waited += pause
            pause *= 1.5


def _read_results(archive: bytes) -> dict[str, Failure | None]:
    """``operation_id`` → ``None`` (done) or its ``Failure``, from the results tarball."""
    results: dict[str, Failure | None] = {}
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(archive)), mode="r:") as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.endswith(".json"):
                continue
            for item in json.load(tar.extractfile(member)):  # type: ignore[arg-type]
                status = int(item["status_code"])
                results[str(item["operation_id"])] = (
                    _failure(status, item.get("response", "")) if status >= 400 else None)
    return results


def _failure(status: int, body: str) -> Failure:
    """A problem+json body as a ``Failure``: its title, and its detail with per-field errors."""
    try:
        problem = json.loads(body)
    except (TypeError, ValueError):
        return Failure(status, "", body[:300])
    if not isinstance(problem, dict):
        return Failure(status, "", body[:300])
    fields = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in problem.get("errors") or [])
    detail = " ".join(filter(None, [problem.get("detail", ""), fields]))[:500]
    return Failure(status, str(problem.get("title", "")), detail)
