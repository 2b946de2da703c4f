"""BG/NBD and Gamma-Gamma against the published CDNOW figures, through the database path."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import insert
from sqlmodel import select

from integration.accounts import add_connection, create_account
from integration.analytics.clv import BGNBD, FitError, fit_bgnbd
from integration.analytics.predict import fit_account, histories
from integration.models import Account, Customer, CustomerInsight, Order

CDNOW = Path(__file__).parent / "data" / "CDNOW_sample.txt"
CALIBRATION_END = datetime(1997, 9, 30, tzinfo=UTC)
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # Fader, Hardie, Lee (2005)
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "v": 15.44}  # Fader, Hardie, Lee, "RFM and CLV" (2005)


@pytest.fixture(scope="module")
def cdnow(migrated_engine):
    """The CDNOW sample loaded as orders of one account (bulk insert, not the ORM)."""
    from integration.db import write_session

    with write_session(migrated_engine) as session:
        account = create_account(session, f"CDNOW {uuid.uuid4().hex[:6]}")
        from integration.crypto import SecretBox
        from integration.settings import generate_key

        conn = add_connection(session, SecretBox(generate_key()), account, platform="shopify",
                              external_id=f"cdnow-{uuid.uuid4().hex[:6]}", credentials={})
        lines = [line.split() for line in CDNOW.read_text().splitlines() if line.strip()]
        people = sorted({line[1] for line in lines})
        session.execute(insert(Customer.__table__), [
            {"account_id": account.id, "email": f"cd{p}-{account.id}@example.com", "first_name": "",
             "last_name": "", "phone": "", "consent": "unknown", "is_guest": False,
             "points_balance": 0, "created_at": CALIBRATION_END, "updated_at": CALIBRATION_END}
            for p in people])
        ids = dict(session.execute(
            select(Customer.email, Customer.id).where(Customer.account_id == account.id)).all())
        session.execute(insert(Order.__table__), [
            {"account_id": account.id, "connection_id": conn.id, "platform_id": str(i),
             "customer_id": ids[f"cd{line[1]}-{account.id}@example.com"], "number": "",
             "currency": "USD", "status": "paid", "subtotal": Decimal(line[4]),
             "shipping": 0, "tax": 0, "discount_total": 0, "points_discount": 0,
             "total": Decimal(line[4]), "refunded_total": 0, "discount_codes": "",
             "placed_at": datetime.strptime(line[2], "%Y%m%d").replace(hour=12, tzinfo=UTC),
             "created_at": CALIBRATION_END, "updated_at": CALIBRATION_END}
            for i, line in enumerate(lines)])
    yield account.id
    with write_session(migrated_engine) as session:  # keep the sweeping jobs of other tests quick
        session.get(Account, account.id).status = "closed"


def test_cdnow_bgnbd_reproduces_published_parameters(session, cdnow):
    h = histories(session, cdnow, CALIBRATION_END)
    assert len(h.x) == 2357
    fit = fit_bgnbd(h.x, h.t_x, h.T)
    for name, value in PUBLISHED.items():
        assert getattr(fit, name) == pytest.approx(value, rel=0.01), name


def test_cdnow_predictions_are_stored(session, cdnow):
    fit = fit_account(session, cdnow, CALIBRATION_END, horizon_months=12, annual_discount=0.1)
    session.commit()
    for name, value in PUBLISHED.items():
        assert getattr(fit.bgnbd, name) == pytest.approx(value, rel=0.01), name
    for name, value in PUBLISHED_GG.items():
        assert getattr(fit.gamma_gamma, name) == pytest.approx(value, rel=0.01), name
    rows = session.exec(select(CustomerInsight).where(CustomerInsight.account_id == cdnow)).all()
    assert len(rows) == fit.customers == 2357
    assert all(0 <= r.p_alive <= 1 and r.predicted_clv >= 0 and r.expected_orders_90d >= 0
               for r in rows)
    # one-time buyers are certainly alive by the model; loyal recent buyers are worth more
    assert max(r.predicted_clv for r in rows) > 10 * np.median([r.predicted_clv for r in rows])


def test_p_alive_and_expectations_behave():
    model = BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426)
    assert model.p_alive(0, 0, 30) == 1.0
    # same frequency, older last purchase: less likely alive, fewer expected purchases
    assert model.p_alive(5, 30, 38) > model.p_alive(5, 10, 38)
    assert model.expected_transactions(10, 5, 30, 38) > model.expected_transactions(10, 5, 10, 38)
    # published example (FHL 2005, section 5): x=2, t_x=30.43, T=38.86 over 39 weeks -> 1.226
    assert float(model.expected_transactions(39, 2, 30.43, 38.86)) == pytest.approx(1.226, rel=0.01)


def test_too_little_data_is_a_clear_error():
    with pytest.raises(FitError, match="at least 20 customers"):
        fit_bgnbd([1, 0], [1, 0], [5, 5])
