"""The segment-membership phase of the email-tool benchmarks (``email_push_mailchimp.py``,
``email_push_klaviyo.py``): the account's customers in seven segments, pushed through
``integration.segments.push.push_segments`` to the platform's fake over real HTTP.

Each round is a first push (the platform holds none of the memberships yet, and the connection
has pushed no segment change) and then a 1 % delta (1 % of the customers' points move, the
segments are recomputed, the changes are pushed). Seconds and the requests the fake received are
printed per round with the load average beside them, then min / median / max over the rounds.
The customers must already be on the platform (an attribute push accepted them): segment pushes
wait for that.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine

from connectors.sdk import Connector
from integration.db import utcnow, write_session
from integration.models import Customer, SegmentMember, SegmentPushRetry, SegmentPushState
from integration.segments import SegmentDefinition, recompute_account, save_segment
from integration.segments.push import push_segments

# Seven segments over points balances (seeded 0..5000): overlapping, as real ones are.
SEGMENTS = {
    "Everyone": {"metric": "points", "op": ">=", "value": 0},
    "Points 1000+": {"metric": "points", "op": ">=", "value": 1000},
    "Points 2000+": {"metric": "points", "op": ">=", "value": 2000},
    "Points 3000+": {"metric": "points", "op": ">=", "value": 3000},
    "Points 4000+": {"metric": "points", "op": ">=", "value": 4000},
    "Under 500": {"metric": "points", "op": "<", "value": 500},
    "Middle": {"metric": "points", "op": "between", "value": [1500, 3500]},
}


@dataclass
class Platform:
    """What the phase needs from one platform's benchmark."""

    name: str
    connector: Callable[[], Connector]   # a new connector, as each job run builds one
    requests: Callable[[], int]          # requests the fake has received so far
    forget_memberships: Callable[[], None]  # empty the fake's tags / lists for a first push


def load() -> str:
    return "load %.2f %.2f %.2f" % os.getloadavg()


def _recompute(engine: Engine, account_id: int) -> tuple[int, float]:
    started = time.perf_counter()
    with write_session(engine) as session:
        recompute_account(session, account_id, utcnow())
        members = session.execute(select(func.count()).select_from(SegmentMember).where(
            SegmentMember.account_id == account_id)).scalar_one()
    return members, time.perf_counter() - started


def _push(engine: Engine, connection_id: int, platform: Platform) -> tuple[float, int, int]:
    connector = platform.connector()
    before = platform.requests()
    started = time.perf_counter()
    report = push_segments(engine, connection_id, connector)
    elapsed = time.perf_counter() - started
    if report.result.failed or report.deferred:
        print(f"    ! {len(report.result.failed)} failed, {report.deferred} deferred")
    return elapsed, platform.requests() - before, report.changes + report.retried


def run(engine: Engine, account_id: int, connection_id: int, platform: Platform, *,
        rounds: int, rng: random.Random) -> None:
    with write_session(engine) as session:
        for name, rule in SEGMENTS.items():
            save_segment(session, account_id, SegmentDefinition(name=name, rule=rule))
    members, took = _recompute(engine, account_id)
    with write_session(engine) as session:
        customers = session.execute(select(func.count()).select_from(Customer).where(
            Customer.account_id == account_id)).scalar_one()
    print(f"\n== segments ({platform.name}): {customers:,} customers in {len(SEGMENTS)} segments, "
          f"{members:,} memberships (recomputed in {took:.1f} s, {load()})")
    print(f"{'round':>5}  {'phase':<11} {'seconds':>8} {'requests':>9} {'changes':>9}   load")
    figures: dict[str, list[tuple[float, int]]] = {"first push": [], "1% delta": []}
    for number in range(1, rounds + 1):
        with write_session(engine) as session:  # the connection has pushed no segment yet
            session.execute(delete(SegmentPushState).where(SegmentPushState.connection_id == connection_id))
            session.execute(delete(SegmentPushRetry).where(SegmentPushRetry.connection_id == connection_id))
        platform.forget_memberships()
        seconds, requests, changes = _push(engine, connection_id, platform)
        figures["first push"].append((seconds, requests))
        print(f"{number:>5}  {'first push':<11} {seconds:8.1f} {requests:9,} {changes:9,}   {load()}")

        with write_session(engine) as session:
            ids = session.execute(select(Customer.id).where(Customer.account_id == account_id)).scalars().all()
            moved = rng.sample(list(ids), max(1, len(ids) // 100))
            session.execute(update(Customer).where(Customer.id.in_(moved)).values(
                points_balance=func.abs(5000 - Customer.points_balance), updated_at=utcnow()))
        _recompute(engine, account_id)
        seconds, requests, changes = _push(engine, connection_id, platform)
        figures["1% delta"].append((seconds, requests))
        print(f"{number:>5}  {'1% delta':<11} {seconds:8.1f} {requests:9,} {changes:9,}   {load()}")
    for phase, values in figures.items():
        seconds = sorted(v[0] for v in values)
        requests = sorted(v[1] for v in values)
        print(f"{phase:<11} seconds min {seconds[0]:.1f} / median {statistics.median(seconds):.1f} / "
              f"max {seconds[-1]:.1f}; requests min {requests[0]:,} / median "
              f"{statistics.median(requests):,.0f} / max {requests[-1]:,}  ({load()})")
