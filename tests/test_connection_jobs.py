"""Sync and push jobs per connection, with a connector plugged in through the real entry-point
group (a dist-info folder on ``sys.path``, exactly as a third-party connector package installs).

``MemoryConnector`` stands in for an outside platform; everything of ours runs for real.
"""

from __future__ import annotations

import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import ClassVar

import pytest
from pydantic import SecretStr
from sqlmodel import select

from connectors.sdk.base import (
    Capability,
    Connector,
    ConnectorSettings,
    Page,
    PushResult,
)
from connectors.sdk.http import AuthError
from connectors.sdk.registry import installed
from integration.accounts import add_connection, create_account
from integration.models import Connection, ConnectionStatus, Customer, RunStatus, SyncCursor
from integration.records import CustomerRecord, OrderRecord
from integration.runtime import Runtime
from integration.segments import SegmentDefinition, save_segment
from jobs.registry import get_job
from jobs.runs import run_job
from jobs.scheduler import SchedulerService

T0 = datetime(2026, 5, 1, tzinfo=UTC)


class MemorySettings(ConnectorSettings):
    token: SecretStr
    refuse: list[str] = []


class MemoryConnector(Connector):
    """A platform held in memory: customers and orders to pull, pushes recorded per token."""

    name = "memory"
    capabilities = frozenset({Capability.PULL, Capability.PUSH_ATTRIBUTES,
                              Capability.PUSH_SEGMENTS})
    streams = ("customers", "orders")
    Settings = MemorySettings
    data: ClassVar[dict[str, dict[str, list]]] = {}
    pushed: ClassVar[dict[str, dict[str, list]]] = {}

    def _token(self) -> str:
        return self.settings.token.get_secret_value()

    def _call(self) -> None:
        self.stats.calls += 1
        if self._token() == "revoked":
            raise AuthError("401 Unauthorized: access token revoked", status=401)

    def pull(self, stream, cursor):
        rows = self.data[self._token()][stream]
        start = int(cursor or 0)
        for at in range(start, len(rows), 2):
            self._call()
            yield Page(rows[at:at + 2], str(min(at + 2, len(rows))))

    def push_attributes(self, updates):
        self._call()
        self.pushed[self._token()]["attributes"].extend(updates)
        return PushResult(sent=len(updates), batches=1)

    def push_segment(self, change):
        self._call()
        refused = [(ref, "contact is archived") for ref in [*change.added, *change.removed]
                   if ref.email in self.settings.refuse]
        self.pushed[self._token()]["segments"].append(change)
        return PushResult(sent=len(change.added) + len(change.removed) - len(refused),
                          batches=1, failed=refused)


@pytest.fixture(scope="module", autouse=True)
def memory_connector_installed(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    dist = site / "sadakat_memory-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: sadakat-memory\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        f"[sadakat.connectors]\nmemory = {MemoryConnector.__module__}:MemoryConnector\n")
    sys.path.insert(0, str(site))
    installed.cache_clear()
    yield
    sys.path.remove(str(site))
    installed.cache_clear()


def memory_shop(session, box, token=None, refuse=()):
    token = token or uuid.uuid4().hex
    emails = [f"{token[:6]}-{n}@example.com" for n in range(3)]
    MemoryConnector.data[token] = {
        "customers": [CustomerRecord(platform_id=f"c{n}", email=e) for n, e in enumerate(emails)],
        "orders": [
            OrderRecord(platform_id=f"o{n}", currency="USD", status="paid", subtotal=Decimal(amount),
                        total=Decimal(amount), placed_at=T0 + timedelta(days=n),
                        customer=CustomerRecord(platform_id=f"c{who}", email=emails[who]))
            for n, (who, amount) in enumerate([(0, "120"), (0, "80"), (1, "30")])
        ],
    }
    MemoryConnector.pushed[token] = {"attributes": [], "segments": []}
    account = create_account(session, f"Mem {token[:6]}")
    conn = add_connection(session, box, account, platform="memory", external_id=token,
                          credentials={"token": token}, settings={"refuse": list(refuse)})
    session.commit()
    return account, conn, token, emails


def test_sync_pulls_every_stream_from_its_cursor(session, box, runtime):
    account, conn, token, emails = memory_shop(session, box)
    run = run_job(runtime, "sync", conn.id)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.counts["customers_records"] == 3 and run.counts["orders_records"] == 3
    assert run.api_calls == 4 and run.connection_id == conn.id and run.account_id == account.id
    balances = dict(session.exec(select(Customer.email, Customer.points_balance).where(
        Customer.account_id == account.id)).all())
    assert balances == {emails[0]: 200, emails[1]: 30, emails[2]: 0}
    cursors = dict(session.exec(select(SyncCursor.stream, SyncCursor.value).where(
        SyncCursor.connection_id == conn.id)).all())
    assert cursors == {"customers": "3", "orders": "3"}
    again = run_job(runtime, "sync", conn.id)
    assert again.counts.get("orders_records", 0) == 0  # resumed at the end: nothing new


def test_push_sends_attributes_and_segment_deltas_once(session, box, runtime):
    account, conn, token, emails = memory_shop(session, box)
    save_segment(session, account.id, SegmentDefinition(
        name="Spent 100+", rule={"metric": "spend", "op": ">=", "value": 100}))
    session.commit()
    run_job(runtime, "sync", conn.id)
    run_job(runtime, "segments-full")
    run = run_job(runtime, "push", conn.id)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.counts["attributes_sent"] == 3
    pushed = MemoryConnector.pushed[token]
    big = [c for c in pushed["segments"] if c.segment == "Spent 100+"]
    assert [[r.email for r in c.added] for c in big] == [[emails[0]]]
    assert {c.segment for c in pushed["segments"]} >= {"Spent 100+", "RFM: Loyal"}

    before = len(pushed["segments"]), len(pushed["attributes"])
    quiet = run_job(runtime, "push", conn.id)
    assert quiet.counts["segment_changes"] == 0 and quiet.counts["attributes_changed"] == 0
    assert (len(pushed["segments"]), len(pushed["attributes"])) == before


def test_refused_segment_change_is_retried(session, box, runtime):
    account, conn, token, emails = memory_shop(session, box, refuse=[])
    save_segment(session, account.id, SegmentDefinition(
        name="Buyers", rule={"metric": "order_count", "op": ">", "value": 0}))
    session.commit()
    run_job(runtime, "sync", conn.id)
    run_job(runtime, "segments-full")
    stored = session.get(Connection, conn.id)
    stored.settings = {"refuse": [emails[1]]}
    session.add(stored)
    session.commit()
    first = run_job(runtime, "push", conn.id)
    assert first.counts["segment_failed"] >= 1
    stored.settings = {"refuse": []}
    session.add(stored)
    session.commit()
    second = run_job(runtime, "push", conn.id)
    assert second.counts["segment_failed"] == 0
    buyers = [r.email for c in MemoryConnector.pushed[token]["segments"]
              if c.segment == "Buyers" for r in c.added]
    assert buyers.count(emails[1]) == 2  # refused once, sent again


def test_revoked_credentials_fail_the_run_and_flag_the_connection(session, box, runtime):
    account, conn, token, emails = memory_shop(session, box, token="revoked")
    run = run_job(runtime, "sync", conn.id)
    assert run.status == RunStatus.FAILED and "revoked" in run.error
    session.expire_all()
    flagged = session.get(Connection, conn.id)
    assert flagged.status == ConnectionStatus.NEEDS_ATTENTION
    assert "revoked" in flagged.status_message


def test_scheduler_gives_each_connection_its_jobs(session, box, settings):
    account, conn, token, emails = memory_shop(session, box)
    orphan = add_connection(session, box, account,
                            platform="not-installed", external_id=uuid.uuid4().hex,
                            credentials={"token": "x"})
    session.commit()
    service = SchedulerService(Runtime(settings), poll=0.1,
                               jobs={"sync": get_job("sync"), "push": get_job("push")}).start()
    try:
        assert service.became_active.wait(10)
        deadline = time.monotonic() + 10
        ids: set[str] = set()
        while time.monotonic() < deadline and not {f"sync:{conn.id}", f"push:{conn.id}"} <= ids:
            ids = {j.id for j in service.scheduler.get_jobs()}
            time.sleep(0.05)
        assert {f"sync:{conn.id}", f"push:{conn.id}"} <= ids
        assert f"sync:{orphan.id}" not in ids  # no connector installed for its platform
    finally:
        service.stop()
        service.runtime.close()
