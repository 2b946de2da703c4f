"""An account with data and an admin user, served by the real app."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from werkzeug.security import generate_password_hash

from connectors.shopify.fake import FakeShopify
from connectors.shopify.install import connect_shop
from integration.app import create_app
from integration.db import utcnow
from integration.models import AdminUser, Reward, RewardKind, Tier
from integration.segments.membership import recompute_account
from tests.factories import order, place, shop
from tests.shopify.conftest import settings_for

PASSWORD = "correct horse battery"


@pytest.fixture
def app(settings):
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def merchant(session, box):
    account, conn = shop(session, box, platform="custom-pos")
    other, other_conn = shop(session, box, platform="custom-pos")
    for n in range(6):
        place(session, account, conn, order(str(n), str(40 + n * 30), customer=f"c{n % 3}"))
    place(session, other, other_conn, order("1", "500", customer="stranger"))
    session.add_all([
        Tier(account_id=account.id, name="Bronze", threshold=Decimal(0)),
        Tier(account_id=account.id, name="Gold", threshold=Decimal(200), multiplier=Decimal(2)),
        Reward(account_id=account.id, name="$5 off", kind=RewardKind.FIXED_AMOUNT, points_cost=100,
               value=Decimal(5)),
    ])
    email = f"owner-{account.id}@shop.example"
    session.add(AdminUser(account_id=account.id, email=email, password_hash=generate_password_hash(PASSWORD)))
    session.commit()
    recompute_account(session, account.id, utcnow())  # what the segments job does on schedule
    session.commit()
    return {"account": account, "other": other, "email": email}


@pytest.fixture
def shopify_shop():
    """A running fake Shopify with a shop of its own (tests share one database)."""
    with FakeShopify(customers=3, orders=3, shop=f"s-{uuid.uuid4().hex[:10]}.myshopify.com") as server:
        yield server


@pytest.fixture
def shopify_connection(engine, box, shopify_shop, merchant) -> int:
    """The merchant's account connected to the fake shop (its webhooks point elsewhere)."""
    installed = connect_shop(engine, box, settings_for(shopify_shop), public_url="http://old.example",
                             account_id=merchant["account"].id)
    return installed.connection_id
