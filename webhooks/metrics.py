"""Prometheus ``/metrics``: what the receiver saw, and the inbox's state.

Two sources, on purpose:
- the receiver counts requests (``sadakat_webhooks_received_total``,
  ``sadakat_webhooks_rejected_total``) with ``prometheus-client`` counters; under gunicorn
  ``sadakat serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` so every worker's counts are summed;
- processing happens in other processes (``sadakat worker``), so its figures are read from the
  inbox table at scrape time: rows per status (done = processed, failed, dead, received) and the
  lag, the age of the oldest delivery not yet processed. They are right whichever process did
  the work, and survive restarts.
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

from integration.app import runtime
from integration.db import utcnow
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


@blueprint.get("/metrics")
def metrics() -> Response:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(RECEIVED)
        registry.register(REJECTED)
    registry.register(InboxCollector(runtime().engine))
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
