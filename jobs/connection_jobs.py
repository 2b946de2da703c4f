"""Per-connection jobs: incremental sync, and the push of attributes and segment changes.

Both are thin: ``integration.sync`` and ``integration.push`` / ``integration.segments.push``
do the work; the job builds the connector, counts, and records the API calls it made and the
throttles and retries its retry policy met (``counts["throttled"]``, ``counts["retries"]``). A platform
that refuses our credentials marks the connection as needing attention (the scheduler then
stops running its jobs) and fails the run with the platform's message.

A push that could not do part of its work ends ``partial``: contacts the platform refused for
the first time (``refused_<reason>``), changes that failed for now and wait for the next push
(``attributes_failed``, ``segment_failed``, ``segment_deferred``). Contacts left out because of
refusals recorded earlier are counted in ``excluded`` and do not make a run partial.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from connectors.sdk.base import Capability, Connector
from connectors.sdk.http import AuthError
from connectors.sdk.registry import connector_class
from integration import refusals
from integration.connections import connector_for, mark_needs_attention
from integration.db import read_session, write_session
from integration.models import Connection
from integration.push import push_attributes
from integration.segments.push import push_segments
from integration.sync import sync_stream
from jobs.registry import job
from jobs.runs import JobContext

PUSHES = (Capability.PUSH_ATTRIBUTES, Capability.PUSH_SEGMENTS)


def capabilities(connection: Connection) -> frozenset[Capability]:
    try:
        return connector_class(connection.platform).capabilities
    except LookupError:
        return frozenset()


def can(*wanted: Capability) -> Callable[[Connection], bool]:
    return lambda connection: bool(capabilities(connection) & set(wanted))


def _connector(ctx: JobContext) -> Connector:
    assert ctx.connection is not None
    return connector_for(ctx.connection, ctx.runtime.box)


def _guard_auth(ctx: JobContext, connector: Connector, work: Callable[[], None]) -> None:
    try:
        work()
    except AuthError as exc:
        with write_session(ctx.runtime.engine) as session:
            mark_needs_attention(session, session.get(Connection, ctx.connection.id), str(exc))
        raise
    finally:
        stats = connector.stats
        ctx.api_calls = stats.calls
        for key, value in (("throttled", stats.throttled), ("retries", stats.retries)):
            if value:  # what the retry policy counted: 429s and Shopify's THROTTLED, retries
                ctx.count(key, value)


@job("sync", minutes=15, per_connection=True, applies_to=can(Capability.PULL))
def sync(ctx: JobContext) -> None:
    """Pull every stream of the connection from its saved cursor."""
    connector = _connector(ctx)

    def work() -> None:
        for stream in connector.streams:
            result = sync_stream(ctx.runtime.engine, ctx.connection.id, connector, stream,
                                 now=ctx.now, on_page=lambda page: ctx.progress(len(page.records)))
            ctx.count(f"{stream}_records", result.records)
            ctx.count("pages", result.pages)
            ctx.count("entries", result.entries)

    _guard_auth(ctx, connector, work)


@job("push", minutes=15, per_connection=True, applies_to=can(*PUSHES))
def push(ctx: JobContext) -> None:
    """Send changed loyalty attributes and segment membership changes to the connection."""
    connector = _connector(ctx)

    def work() -> None:
        engine, connection_id = ctx.runtime.engine, ctx.connection.id
        refused: Counter[str] = Counter()
        if Capability.PUSH_ATTRIBUTES in connector.capabilities:
            report = push_attributes(engine, connection_id, connector, now=ctx.now)
            ctx.count("attributes_changed", report.changed)
            ctx.count("attributes_sent", report.result.sent)
            ctx.incomplete("attributes_failed", len(report.result.failed))
            refused += report.refused
        if Capability.PUSH_SEGMENTS in connector.capabilities:
            segments = push_segments(engine, connection_id, connector, now=ctx.now)
            ctx.count("segment_changes", segments.changes)
            ctx.count("segment_retried", segments.retried)
            ctx.count("segment_sent", segments.result.sent)
            ctx.incomplete("segment_failed", len(segments.result.failed))
            ctx.incomplete("segment_deferred", segments.deferred)
            refused += segments.refused
        for reason, n in sorted(refused.items()):
            ctx.incomplete(f"refused_{reason}", n)
        with read_session(engine) as session:
            ctx.count("excluded", refusals.excluded(session, connection_id))

    _guard_auth(ctx, connector, work)
