"""The admin pages in a real headless Chromium (Debian's, driven by Playwright): sign in, change
a rule, adjust a customer's points. A screenshot of each page is saved to test-artifacts/."""

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

    page.goto(f"{server}/admin/connections?lang=tr")
    shot(page, "connections-tr")
    assert "Bağlantılar" in page.content()
