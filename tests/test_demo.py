"""``sadakat demo --no-serve`` end to end on a small store: its summary agrees with the database
and with what the admin dashboard shows after signing in as the demo user."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from sqlalchemy import func
from sqlmodel import select

from integration import ledger
from integration.app import create_app
from integration.cli import main
from integration.db import read_session
from integration.demo import ADMIN_EMAIL, ADMIN_PASSWORD
from integration.models import (
    Account,
    Connection,
    Customer,
    Order,
    Redemption,
    RedemptionStatus,
    Segment,
    SegmentMember,
    Tier,
)
from integration.settings import load_settings
from tests.conftest import TEST_DATABASE
from webhooks.models import InboxDelivery, InboxStatus


pytestmark = pytest.mark.skipif(
    TEST_DATABASE != "sqlite",
    reason="the demo is SQLite-only by design (its own database file in the demo folder)")


def _row(output: str, label: str) -> str:
    """The value cell of the summary row ``label`` (rich draws the table with box characters)."""
    match = re.search(rf"│ {re.escape(label)}\s+│ (.+?)\s+│", output)
    assert match, f"no summary row {label!r} in:\n{output}"
    return match.group(1)


def _connection_row(output: str, platform: str) -> list[int]:
    """(records synced, webhooks, pushed, API calls) from the per-connection table."""
    match = re.search(rf"│ {platform}\s+│([\d\s│]+)│\n", output)
    assert match, f"no connection row {platform!r} in:\n{output}"
    return [int(cell) for cell in match.group(1).split("│")]


def _kpi(page: str, name: str) -> int:
    return int(re.sub(r"\D", "", re.search(rf'id="kpi-{name}">([^<]+)<', page).group(1)))


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo") / "run"
    result = CliRunner().invoke(main, ["demo", "--dir", str(folder), "--customers", "120",
                                       "--no-serve", "--port", "0"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    settings = load_settings(folder / "config.toml", environ={})
    app = create_app(settings)
    yield result.output, app
    app.extensions["sadakat"].close()


def test_demo_summary_matches_database(demo_run):
    output, app = demo_run
    engine = app.extensions["sadakat"].engine
    with read_session(engine) as session:
        account = session.exec(select(Account)).one()
        check = ledger.check_account(session, account.id)
        assert check.ok, check.problems
        customers = session.exec(select(func.count()).select_from(Customer)).one()
        orders = session.exec(select(func.count()).select_from(Order)).one()
        assert _row(output, "customers").startswith(f"{customers} (")
        assert _row(output, "orders") == str(orders)
        assert _row(output, "points issued") == str(check.issued) and check.issued > 0
        assert _row(output, "points redeemed") == str(check.redeemed) and check.redeemed > 0
        assert _row(output, "points outstanding").startswith(f"{check.balances} (ledger check ok")

        # every platform connected, each synced or pushed through its real connector
        platforms = set(session.exec(select(Connection.platform)).all())
        assert platforms == {"shopify", "woocommerce", "mailchimp", "klaviyo"}
        for platform in platforms:
            synced, webhooks, pushed, calls = _connection_row(output, platform)
            assert pushed > 0 and calls > 0, (platform, pushed, calls)
            assert webhooks == session.exec(select(func.count()).select_from(InboxDelivery).where(
                InboxDelivery.platform == platform)).one()
            if platform in ("shopify", "woocommerce"):
                assert synced > 100 and webhooks > 0

        # store webhooks went through the receiver and the inbox worker
        deliveries = session.exec(select(InboxDelivery)).all()
        assert {d.platform for d in deliveries} == {"shopify", "woocommerce"}
        assert {d.status for d in deliveries} == {InboxStatus.DONE}
        assert any(d.topic == "refunds/create" for d in deliveries)

        # one real code per store, recorded on an issued redemption
        issued = session.exec(select(Redemption).where(
            Redemption.status == RedemptionStatus.ISSUED)).all()
        assert len(issued) == 2
        for redemption in issued:
            platform = session.get(Connection, redemption.connection_id).platform
            assert _row(output, f"{platform} code") == redemption.code

        # tiers and segments as stored
        tiers = dict(session.exec(select(Tier.name, func.count(Customer.id))
                                  .join(Customer, Customer.tier_id == Tier.id)
                                  .group_by(Tier.name)).all())
        for name, count in tiers.items():
            assert f"{name}: {count}" in _row(output, "tiers")
        for segment in session.exec(select(Segment)).all():
            members = session.exec(select(func.count()).select_from(SegmentMember).where(
                SegmentMember.segment_id == segment.id)).one()
            assert segment.member_count == members


def test_demo_summary_matches_admin_dashboard(demo_run):
    output, app = demo_run
    client = app.test_client()
    login = client.get("/admin/login").data.decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
    signed_in = client.post("/admin/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD,
                                                  "csrf_token": token})
    assert signed_in.status_code == 302
    page = client.get("/admin/").data.decode()
    members = int(re.search(r"\((\d+) members", _row(output, "customers")).group(1))
    assert _kpi(page, "members") == members
    assert _kpi(page, "issued") == int(_row(output, "points issued"))
    assert _kpi(page, "redeemed") == int(_row(output, "points redeemed"))
    assert _kpi(page, "expired") == int(_row(output, "points expired"))
