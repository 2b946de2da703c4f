"""The admin pages in a real headless Chromium (Debian's, driven by Playwright): sign in, change
a rule, adjust a customer's points, preview a segment, replay a dead webhook. A screenshot of
each page is saved to test-artifacts/admin/."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.admin.conftest import PASSWORD
from tests.factories import customer_of

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "admin"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")


@pytest.fixture
def server(app):
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


@pytest.fixture
def page(tmp_path):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(viewport={"width": 412, "height": 900})  # a phone
        yield context.new_page()
        browser.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_merchant_signs_in_changes_a_rule_and_adjusts_points(server, page, merchant, session):
    page.goto(f"{server}/admin/")
    shot(page, "login")
    page.fill("input[name=email]", merchant["email"])
    page.fill("input[name=password]", PASSWORD)
    page.click("#login button")
    page.wait_for_selector("#kpi-members")
    shot(page, "dashboard")
    assert page.inner_text("#kpi-members") == "3"

    page.goto(f"{server}/admin/settings")
    page.fill("input[name=points_per_unit]", "3")
    page.select_option("select[name=award_on]", "completed")
    page.click("#program button")
    page.wait_for_selector(".flash.ok")
    shot(page, "settings")
    session.refresh(merchant["account"])
    assert merchant["account"].program["earn"]["points_per_unit"] == "3"

    customer = customer_of(session, merchant["account"], "c1@example.com")
    before = customer.points_balance
    page.goto(f"{server}/admin/customers?q=c1")
    shot(page, "customers")
    page.click(f"a[href='/admin/customers/{customer.id}']")
    page.fill("#adjust input[name=amount]", "-30")
    page.fill("#adjust input[name=reason]", "damaged parcel, refunded by hand")
    page.click("#adjust button")
    page.wait_for_selector(".flash.ok")
    shot(page, "customer")
    assert customer_of(session, merchant["account"], "c1@example.com").points_balance == before - 30
    assert "damaged parcel" in page.content()

    page.goto(f"{server}/admin/segments")
    page.fill("#segment input[name=name]", "Big spenders")
    page.fill("#segment textarea[name=rule]", '{"metric": "spend", "op": ">", "value": 200}')
    page.click("#segment button[value=preview]")
    page.wait_for_selector("#preview")
    shot(page, "segments-preview")
    assert page.inner_text("#preview b") == "2"

    from integration.models import Connection
    from sqlmodel import select
    from tests.admin.test_pages import dead_delivery
    from webhooks.models import InboxDelivery

    connection = session.exec(select(Connection).where(
        Connection.account_id == merchant["account"].id)).first()
    row = dead_delivery(session, merchant["account"], connection.id)
    page.goto(f"{server}/admin/inbox")
    shot(page, "inbox")
    page.click(f"#delivery-{row.id} button")
    page.wait_for_selector(".flash.ok")
    session.expire_all()
    assert session.get(InboxDelivery, row.id).status == "received"

    page.goto(f"{server}/admin/jobs")
    shot(page, "jobs")
    page.goto(f"{server}/admin/connections?lang=tr")
    shot(page, "connections-tr")
    assert "Bağlantılar" in page.content()


def test_merchant_registers_a_shops_webhooks_again(server, page, merchant, shopify_shop,
                                                  shopify_connection):
    shopify_shop.store.webhooks.clear()
    page.goto(f"{server}/admin/login")
    page.fill("input[name=email]", merchant["email"])
    page.fill("input[name=password]", PASSWORD)
    page.click("#login button")
    page.wait_for_selector("#kpi-members")
    page.goto(f"{server}/admin/connections")
    page.click(f"#connection-{shopify_connection} button[name=webhooks]")
    page.wait_for_selector(".flash.ok")
    shot(page, "connections-webhooks")
    assert "webhooks registered" in page.inner_text(".flash.ok")
    assert {w["uri"] for w in shopify_shop.store.webhooks} == {"http://127.0.0.1:8000/webhooks/shopify"}
