"""Prometheus ``/metrics``: what the receiver saw, the inbox's state, and the contacts each
connection refuses.

Two sources, on purpose:
- the receiver counts requests (``sadakat_webhooks_received_total``,
  ``sadakat_webhooks_rejected_total``) with ``prometheus-client`` counters; under gunicorn
  ``sadakat serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` so every worker's counts are summed;
- processing happens in other processes (``sadakat worker``), so its figures are read from the
  inbox table at scrape time: rows per status (done = processed, failed, dead, received) and the
  lag, the age of the oldest delivery not yet processed. They are right whichever process did
  the work, and survive restarts. So are the refused contacts (``sadakat_push_refused_contacts``
  per connection, platform and reason), read from ``push_refusal``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from integration import refusals
from integration.app import runtime
from integration.db import read_session, utcnow
from integration.models import Connection
from webhooks.models import InboxDelivery, InboxStatus

RECEIVED = Counter(
    "sadakat_webhooks_received", "Authenticated deliveries (result: stored or duplicate).",
    ["platform", "result"], registry=None,
)
REJECTED = Counter(
    "sadakat_webhooks_rejected", "Requests refused (forged, unsigned, too big, wrong type...).",
    ["platform", "reason"], registry=None,
)
PENDING = (InboxStatus.RECEIVED, InboxStatus.FAILED)

blueprint = Blueprint("metrics", __name__)


class InboxCollector:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        rows = GaugeMetricFamily(
            "sadakat_inbox_deliveries",
            "Inbox rows by status: done (processed), failed (will retry), dead, received.",
            labels=["status"],
        )
        lag = GaugeMetricFamily(
            "sadakat_inbox_lag_seconds", "Age of the oldest delivery not processed yet."
        )
        table = InboxDelivery.__table__
        with self.engine.connect() as db:
            counts = dict(db.execute(select(table.c.status, func.count()).group_by(table.c.status)).all())
            oldest = db.execute(
                select(func.min(table.c.received_at)).where(table.c.status.in_(PENDING))
            ).scalar()
        for status in InboxStatus:
            rows.add_metric([status.value], counts.get(status.value, 0))
        lag.add_metric([], (utcnow() - oldest).total_seconds() if oldest else 0.0)
        yield rows
        yield lag


class RefusalCollector:
    """Contacts each connection's platform refuses for good, by reason: a merchant's list to
    act on, and a rise worth an alert (an address list imported with typos, say)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        refused = GaugeMetricFamily(
            "sadakat_push_refused_contacts",
            "Contacts a connection's platform refuses for good and pushes leave out, by reason.",
            labels=["connection", "platform", "reason"],
        )
        with read_session(self.engine) as db:
            counts = refusals.by_reason(db)
            platforms = dict(db.execute(select(Connection.id, Connection.platform).where(
                Connection.id.in_(list(counts)))).all()) if counts else {}  # type: ignore[attr-defined]
        for connection_id, by_reason in sorted(counts.items()):
            for reason, count in sorted(by_reason.items()):
                refused.add_metric([str(connection_id), platforms.get(connection_id, ""), reason], count)
        yield refused


@blueprint.get("/metrics")
def metrics() -> Response:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(RECEIVED)
        registry.register(REJECTED)
    registry.register(InboxCollector(runtime().engine))
    registry.register(RefusalCollector(runtime().engine))
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
