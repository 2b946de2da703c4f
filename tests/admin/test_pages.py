"""Admin pages through the Flask test client: sign-in, CSRF, every page, scoping."""

from __future__ import annotations

import re

from sqlmodel import select

from integration.models import Customer
from tests.admin.conftest import PASSWORD
from tests.factories import customer_of


def csrf(page: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()


def sign_in(client, email):
    token = csrf(client.get("/admin/login").data)
    return client.post("/admin/login", data={"email": email, "password": PASSWORD, "csrf_token": token})


def test_pages_need_a_signed_in_user(app, merchant):
    client = app.test_client()
    assert client.get("/admin/").status_code == 302
    token = csrf(client.get("/admin/login").data)
    bad = client.post("/admin/login", data={"email": merchant["email"], "password": "nope", "csrf_token": token})
    assert bad.status_code == 401
    assert client.post("/admin/login", data={"email": merchant["email"], "password": PASSWORD}).status_code == 400
    assert sign_in(client, merchant["email"]).status_code == 302
    for page in ("/admin/", "/admin/customers", "/admin/settings", "/admin/connections", "/admin/?lang=tr"):
        response = client.get(page)
        assert response.status_code == 200, page
    assert "Pano" in client.get("/admin/?lang=tr").get_data(as_text=True)


def test_customer_search_profile_and_adjustment(app, merchant, session):
    client = app.test_client()
    sign_in(client, merchant["email"])
    listing = client.get("/admin/customers?q=c1").get_data(as_text=True)
    assert "c1@example.com" in listing and "c2@example.com" not in listing
    customer = customer_of(session, merchant["account"], "c1@example.com")
    page = client.get(f"/admin/customers/{customer.id}")
    before = customer.points_balance
    no_token = client.post(f"/admin/customers/{customer.id}/adjust", data={"amount": "10", "reason": "x"})
    assert no_token.status_code == 400
    client.post(f"/admin/customers/{customer.id}/adjust",
                data={"amount": "25", "reason": "late delivery", "csrf_token": csrf(page.data)})
    assert customer_of(session, merchant["account"], "c1@example.com").points_balance == before + 25
    assert "late delivery" in client.get(f"/admin/customers/{customer.id}").get_data(as_text=True)


def test_other_accounts_customers_are_404(app, merchant, session):
    client = app.test_client()
    sign_in(client, merchant["email"])
    stranger = session.exec(select(Customer).where(Customer.account_id == merchant["other"].id)).first()
    assert client.get(f"/admin/customers/{stranger.id}").status_code == 404
    page = client.get("/admin/customers")
    response = client.post(f"/admin/customers/{stranger.id}/adjust",
                           data={"amount": "5", "reason": "x", "csrf_token": csrf(page.data)})
    assert response.status_code == 404
    assert "stranger" not in page.get_data(as_text=True)


def test_program_settings_are_validated(app, merchant, session):
    client = app.test_client()
    sign_in(client, merchant["email"])
    page = client.get("/admin/settings")
    form = {"csrf_token": csrf(page.data), "points_per_unit": "-3", "rounding": "down",
            "award_on": "paid", "return_window_days": "14", "expiry_mode": "none",
            "expiry_months": "12"}
    rejected = client.post("/admin/settings", data=form)
    assert rejected.status_code == 422 and "points_per_unit" in rejected.get_data(as_text=True)
    client.post("/admin/settings", data={**form, "points_per_unit": "2.5", "award_on": "completed"})
    session.refresh(merchant["account"])
    assert merchant["account"].program["earn"]["points_per_unit"] == "2.5"
    assert merchant["account"].program["award_on"] == "completed"


def test_tiers_and_rewards_are_edited_with_validation(app, merchant, session):
    from integration.models import Reward, Tier

    client = app.test_client()
    sign_in(client, merchant["email"])
    token = csrf(client.get("/admin/settings").data)
    client.post("/admin/settings/tiers", data={"csrf_token": token, "name": "Platinum",
                                                "threshold": "1000", "multiplier": "3"})
    client.post("/admin/settings/tiers", data={"csrf_token": token, "name": "Bad",
                                                "threshold": "-1", "multiplier": "3"})
    client.post("/admin/settings/rewards", data={"csrf_token": token, "name": "Free ship",
                                                  "kind": "free_shipping", "points_cost": "300"})
    client.post("/admin/settings/rewards", data={"csrf_token": token, "name": "Broken",
                                                  "kind": "free_lunch", "points_cost": "300"})
    session.commit()
    names = set(session.exec(select(Tier.name).where(Tier.account_id == merchant["account"].id)))
    assert "Platinum" in names and "Bad" not in names
    rewards = set(session.exec(select(Reward.name).where(Reward.account_id == merchant["account"].id)))
    assert "Free ship" in rewards and "Broken" not in rewards
