"""How each connection of an account is doing, from the records that already exist.

Nothing here is stored for the page: the job runs (last sync, last push, API calls, failures,
throttles the retry policy counted), the webhook inbox (deliveries not processed yet) and the
contacts the connection refuses (``integration.refusals``) say it all. "Lag" is two figures a merchant can act on: how long the oldest unprocessed webhook has
waited, and how long ago a sync last succeeded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from integration import refusals
from integration.models import Connection, JobRun, RunStatus
from webhooks.models import InboxDelivery, InboxStatus

RECENT = timedelta(hours=24)  # the window of "recent" errors and throttles
SHOWN_ERRORS = 3


@dataclass
class ConnectionHealth:
    connection: Connection
    last_sync: JobRun | None = None          # latest finished sync run, whatever its outcome
    last_push: JobRun | None = None
    synced_at: datetime | None = None        # when a sync last succeeded
    oldest_unprocessed_at: datetime | None = None
    unprocessed: int = 0                     # inbox deliveries received or failed, not done
    api_calls: int = 0                       # in the recent window
    throttled: int = 0
    failed_runs: int = 0
    partial_runs: int = 0                    # finished with part of the work not done
    refused: Counter[str] = field(default_factory=Counter)  # contacts refused, by reason
    errors: list[str] = field(default_factory=list)  # first lines of recent failures, newest first

    def inbox_lag(self, now: datetime) -> timedelta | None:
        return now - self.oldest_unprocessed_at if self.oldest_unprocessed_at else None

    def sync_lag(self, now: datetime) -> timedelta | None:
        return now - self.synced_at if self.synced_at else None


def _latest(db: Session, connection_id: int, job: str, *statuses: RunStatus) -> JobRun | None:
    return db.exec(
        select(JobRun).where(JobRun.connection_id == connection_id, JobRun.job == job,
                             JobRun.status.in_(statuses))  # type: ignore[attr-defined]
        .order_by(JobRun.started_at.desc(), JobRun.id.desc())  # type: ignore[attr-defined]
    ).first()


FINISHED = (RunStatus.SUCCEEDED, RunStatus.PARTIAL, RunStatus.FAILED)


def connection_health(db: Session, connections: Sequence[Connection],
                      now: datetime) -> list[ConnectionHealth]:
    """One ``ConnectionHealth`` per connection, in the order given.

    A sync counts as successful when its job run succeeded; ``Connection.last_sync_at`` (set as
    each page is committed) stands in only where no sync ever ran as a job (a command-line sync).
    """
    health = [ConnectionHealth(c) for c in connections]
    by_id = {h.connection.id: h for h in health}
    if not by_id:
        return []
    for connection_id, oldest, count in db.exec(
        select(InboxDelivery.connection_id, func.min(InboxDelivery.received_at), func.count())
        .where(InboxDelivery.connection_id.in_(by_id),  # type: ignore[attr-defined]
               InboxDelivery.status.in_((InboxStatus.RECEIVED, InboxStatus.FAILED)))  # type: ignore[attr-defined]
        .group_by(InboxDelivery.connection_id)
    ):
        by_id[connection_id].oldest_unprocessed_at, by_id[connection_id].unprocessed = oldest, count
    for connection_id, counts in refusals.by_reason(db, list(by_id)).items():
        by_id[connection_id].refused = counts
    for item in health:
        cid = item.connection.id
        item.last_sync = _latest(db, cid, "sync", *FINISHED)
        item.last_push = _latest(db, cid, "push", *FINISHED)
        succeeded = _latest(db, cid, "sync", RunStatus.SUCCEEDED)
        item.synced_at = succeeded.finished_at if succeeded else (
            None if item.last_sync else item.connection.last_sync_at)
        recent = db.exec(
            select(JobRun).where(JobRun.connection_id == cid, JobRun.started_at >= now - RECENT)
            .order_by(JobRun.started_at.desc(), JobRun.id.desc())  # type: ignore[attr-defined]
        ).all()
        for run in recent:
            item.api_calls += run.api_calls
            item.throttled += int(run.counts.get("throttled", 0))
            if run.status == RunStatus.PARTIAL:
                item.partial_runs += 1
            if run.status == RunStatus.FAILED:
                item.failed_runs += 1
                if len(item.errors) < SHOWN_ERRORS:
                    item.errors.append(run.error.splitlines()[0] if run.error else run.job)
    return health
