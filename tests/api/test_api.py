"""Every /api/v1 endpoint over a real Flask app and database, auth failures and cross-account
access included; the OpenAPI document is checked against the running API by schemathesis."""

from __future__ import annotations

from decimal import Decimal

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from sqlmodel import select

from integration.api.tokens import create_token
from integration.app import create_app
from integration.models import ApiToken, Reward, RewardKind
from integration.db import utcnow
from tests.factories import customer_of, order, place, shop


@pytest.fixture
def app(settings):
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def world(session, box):
    """Two shops with the same shopper; tokens for the first."""
    # A store integrated through this API only: no store connector issues codes.
    a, conn_a = shop(session, box, platform="custom-pos")
    b, conn_b = shop(session, box, platform="custom-pos")
    place(session, a, conn_a, order("1", "300", customer="c1"))
    place(session, b, conn_b, order("1", "300", customer="c1"))
    for account in (a, b):
        session.add(Reward(account_id=account.id, name="$5 off", kind=RewardKind.FIXED_AMOUNT,
                           points_cost=100, value=Decimal(5)))
    full = create_token(session, a.id, "pos", {"read", "write", "redeem"})
    read_only = create_token(session, a.id, "theme", {"read"})
    session.commit()
    return {
        "a": a, "b": b,
        "mine": customer_of(session, a, "c1@example.com"),
        "theirs": customer_of(session, b, "c1@example.com"),
        "reward": session.exec(select(Reward).where(Reward.account_id == a.id)).one(),
        "their_reward": session.exec(select(Reward).where(Reward.account_id == b.id)).one(),
        "full": {"Authorization": f"Bearer {full}"},
        "read": {"Authorization": f"Bearer {read_only}"},
    }


def test_auth_is_required_and_checked(client, world, session):
    url = f"/api/v1/customers/{world['mine'].id}"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer sdk_1_wrong"}).status_code == 401
    assert client.get(url, headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.get(url, headers=world["read"]).status_code == 200
    body = {"amount": 5, "reason": "x", "idempotency_key": "k"}
    response = client.post(f"{url}/adjustments", json=body, headers=world["read"])
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"
    session.commit()  # end the fixture's read snapshot before writing (SQLite WAL)
    token = session.exec(select(ApiToken).where(ApiToken.name == "theme",
                                                ApiToken.account_id == world["a"].id)).one()
    token.revoked_at = utcnow()
    session.commit()
    assert client.get(url, headers=world["read"]).status_code == 401


def test_customer_lookup_and_summary(client, world):
    by_email = client.get("/api/v1/customers/by-email?email=C1@Example.com", headers=world["read"])
    assert by_email.status_code == 200
    assert by_email.json["points_balance"] == 300 and by_email.json["id"] == world["mine"].id
    by_id = client.get("/api/v1/customers/by-platform-id?platform=custom-pos&platform_id=c1",
                       headers=world["read"])
    assert by_id.json["id"] == world["mine"].id
    missing = client.get("/api/v1/customers/by-email?email=none@x.com", headers=world["read"])
    assert missing.status_code == 404


def test_other_accounts_rows_are_404(client, world):
    theirs = world["theirs"].id
    for url in (f"/api/v1/customers/{theirs}", f"/api/v1/customers/{theirs}/ledger"):
        assert client.get(url, headers=world["full"]).status_code == 404
    response = client.post(f"/api/v1/customers/{theirs}/adjustments", headers=world["full"],
                           json={"amount": 5, "reason": "x", "idempotency_key": "k"})
    assert response.status_code == 404
    response = client.post(f"/api/v1/customers/{world['mine'].id}/redemptions",
                           headers=world["full"],
                           json={"reward_id": world["their_reward"].id, "idempotency_key": "k"})
    assert response.status_code == 404


def test_ledger_pages_newest_first(client, world):
    url = f"/api/v1/customers/{world['mine'].id}"
    for n in range(3):
        client.post(f"{url}/adjustments", headers=world["full"],
                    json={"amount": n + 1, "reason": "goodwill", "idempotency_key": f"a{n}"})
    first = client.get(f"{url}/ledger?limit=2", headers=world["read"]).json
    assert [e["amount"] for e in first["entries"]] == [3, 2]
    rest = client.get(f"{url}/ledger?limit=2&before={first['next_before']}", headers=world["read"]).json
    assert [e["kind"] for e in rest["entries"]] == ["adjust", "earn"]


def test_adjustments(client, world):
    url = f"/api/v1/customers/{world['mine'].id}/adjustments"
    ok = client.post(url, headers=world["full"], json={"amount": -50, "reason": "fix", "idempotency_key": "t1"})
    assert ok.status_code == 201 and ok.json["actor"] == "api:pos" and ok.json["id"]
    again = client.post(url, headers=world["full"], json={"amount": -50, "reason": "fix", "idempotency_key": "t1"})
    assert again.status_code == 201 and again.json["id"] == ok.json["id"]
    conflict = client.post(url, headers=world["full"], json={"amount": -40, "reason": "fix", "idempotency_key": "t1"})
    assert conflict.status_code == 409
    overdraw = client.post(url, headers=world["full"], json={"amount": -9999, "reason": "fix", "idempotency_key": "t2"})
    assert overdraw.json["error"]["code"] == "insufficient_points"
    invalid = client.post(url, headers=world["full"], json={"amount": 0, "reason": "", "idempotency_key": "t3"})
    assert invalid.status_code == 422
    assert client.post(url, headers=world["full"], data="[]", content_type="application/json").status_code == 400


def test_rewards_and_redemption(client, world):
    rewards = client.get("/api/v1/rewards", headers=world["read"]).json["rewards"]
    assert [r["name"] for r in rewards] == ["$5 off"]
    url = f"/api/v1/customers/{world['mine'].id}/redemptions"
    body = {"reward_id": world["reward"].id, "idempotency_key": "order-77"}
    assert client.post(url, headers=world["read"], json=body).status_code == 403
    made = client.post(url, headers=world["full"], json=body)
    assert made.status_code == 201 and made.json["points"] == 100
    assert client.post(url, headers=world["full"], json=body).json["id"] == made.json["id"]
    for n in range(2):
        client.post(url, headers=world["full"], json={**body, "idempotency_key": f"x{n}"})
    broke = client.post(url, headers=world["full"], json={**body, "idempotency_key": "x9"})
    assert broke.status_code == 409 and broke.json["error"]["code"] == "insufficient_points"
    fetched = client.get(f"/api/v1/redemptions/{made.json['id']}", headers=world["read"])
    assert fetched.json["status"] == made.json["status"]


def test_openapi_document_matches_the_api(app, world):
    """Schemathesis generates requests from the document and checks every response against it
    (status codes, bodies, content types), with a valid token of the first account."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(headers=world["full"])

        check()


def test_shopify_app_proxy_shows_the_logged_in_shoppers_points(client, session, box):
    import time
    from urllib.parse import urlencode

    from integration.api.storefront import proxy_signature

    account, conn = shop(session, box, credentials={"access_token": "t", "api_secret": "proxy-secret"})
    place(session, account, conn, order("1", "120", customer="4242"))
    params = {"shop": conn.external_id, "logged_in_customer_id": "4242",
              "path_prefix": "/apps/loyalty", "timestamp": str(int(time.time()))}
    signed = {**params, "signature": proxy_signature({k: [v] for k, v in params.items()}, "proxy-secret")}
    response = client.get(f"/proxy/shopify/points?{urlencode(signed)}")
    assert response.status_code == 200 and response.json["points_balance"] == 120
    forged = {**signed, "logged_in_customer_id": "1"}
    assert client.get(f"/proxy/shopify/points?{urlencode(forged)}").status_code == 401
    stale = {**params, "timestamp": "1000"}
    stale["signature"] = proxy_signature({k: [v] for k, v in stale.items()}, "proxy-secret")
    assert client.get(f"/proxy/shopify/points?{urlencode(stale)}").status_code == 401
    anonymous = {**params, "logged_in_customer_id": ""}
    anonymous["signature"] = proxy_signature({k: [v] for k, v in anonymous.items()}, "proxy-secret")
    assert client.get(f"/proxy/shopify/points?{urlencode(anonymous)}").json == {"logged_in": False}
