"""The admin dashboard's figures, in one function, so every place that shows them (the admin
page, ``sadakat demo``'s summary) shows the same numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from integration import ledger
from integration.analytics.report import Report, build_report
from integration.db import utcnow
from integration.models import Customer, CustomerInsight

WINDOW = timedelta(days=365)  # the dashboard looks at the last twelve months


@dataclass(frozen=True)
class Dashboard:
    kpis: dict[str, Any]
    report: Report


def dashboard(session: Session, account_id: int, now: datetime | None = None) -> Dashboard:
    """Members, points issued / redeemed / expired, rates, AOV members vs others, CLV, and the
    monthly report (tiers, points by month) they come from."""
    report = build_report(session, account_id, period="month", since=(now or utcnow()) - WINDOW)
    totals = ledger.check_account(session, account_id)
    members = session.exec(select(func.count()).select_from(Customer).where(
        Customer.account_id == account_id, Customer.is_guest == False)).one()  # noqa: E712
    clv = session.exec(select(func.avg(CustomerInsight.predicted_clv)).where(
        CustomerInsight.account_id == account_id)).one()
    member_revenue = sum(Decimal(str(p["member_revenue"])) for p in report.periods)
    member_orders = sum(p["member_orders"] for p in report.periods)
    other_revenue = sum(Decimal(str(p["non_member_revenue"])) for p in report.periods)
    other_orders = sum(p["non_member_orders"] for p in report.periods)
    repeat = [p["repeat_purchase_rate"] for p in report.periods if p["repeat_purchase_rate"] is not None]
    kpis = {
        "members": members,
        "issued": totals.issued, "redeemed": totals.redeemed, "expired": totals.expired,
        "redemption_rate": totals.redeemed / totals.issued if totals.issued else None,
        "repeat_rate": sum(repeat) / len(repeat) if repeat else None,
        "aov_members": member_revenue / member_orders if member_orders else None,
        "aov_others": other_revenue / other_orders if other_orders else None,
        "clv": clv,
    }
    return Dashboard(kpis, report)
