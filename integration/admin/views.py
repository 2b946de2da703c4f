"""The merchant's admin pages: server-rendered, one account per signed-in user.

Every page loads rows through the signed-in user's account only; a customer id of another
account is a 404. Every POST carries a CSRF token (Flask-WTF), checked before the view runs.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import wraps
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFProtect
from pydantic import ValidationError
from sqlalchemy import func, or_
from sqlmodel import Session, select
from werkzeug.security import check_password_hash

from integration import ledger, scope
from connectors.shopify.session_token import InvalidSessionToken
from integration.admin import charts, embedded, i18n
from integration.analytics.dashboard import dashboard as dashboard_figures
from integration.app import runtime
from integration.db import utcnow, write_session
from integration.errors import InsufficientPoints, NotFound, RuleError
from integration.models import (
    Account,
    AdminUser,
    Customer,
    LedgerEntry,
    Redemption,
    Reward,
    Tier,
)
from integration.program import ProgramSettings, program_of

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates",
               static_folder="static", static_url_path="/static")
csrf = CSRFProtect()


@bp.before_request
def _csrf() -> None:
    if request.method == "POST":
        csrf.protect()


@bp.after_request
def _frame_ancestors(response):
    return embedded.frame_ancestors(response)


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"t": i18n.t, "money": i18n.money, "number": i18n.number, "percent": i18n.percent,
            "duration": i18n.duration, "lang": i18n.locale}


def _signed_in_identity(db: Session) -> AdminUser | embedded.ShopifyStaff | None:
    """A password user of this session, or a Shopify staff member (session token or session)."""
    user_id = session.get("admin_user_id")
    if user_id is not None:
        user = db.get(AdminUser, user_id)
        if user is None:
            session.clear()
        return user
    return embedded.signed_in_staff(db)


def signed_in(view: Callable) -> Callable:
    """Run ``view(db, ...)`` for a signed-in identity, with ``g.admin`` and ``g.account`` set.

    A Shopify session token on the request (embedded app) signs its staff member in first; a
    refused token is a 401, never a fall-back to whoever the cookie says.
    """
    @wraps(view)
    def run(**kwargs: Any):
        with write_session(runtime().engine) as db:
            token = embedded.presented_token()
            try:
                identity = (embedded.sign_in_with_token(db, token) if token
                            else _signed_in_identity(db))
            except InvalidSessionToken as exc:
                return embedded.refuse(exc)
            if identity is None:
                if embedded.framed():
                    return embedded.session_ended()
                return redirect(url_for("admin.login", next=request.path))
            g.admin, g.account = identity, db.get(Account, identity.account_id)
            try:
                return view(db, **kwargs)
            except NotFound:
                abort(404)

    return run


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        email = request.form.get("email", "").strip().lower()
        with write_session(runtime().engine) as db:
            user = db.exec(select(AdminUser).where(AdminUser.email == email)).first()
            if user is None or not check_password_hash(user.password_hash,
                                                       request.form.get("password", "")):
                flash(i18n.t("bad_login"), "error")
                return render_template("admin/login.html"), 401
            user.last_login_at = utcnow()
            db.add(user)
            session.clear()
            session["admin_user_id"] = user.id
        target = request.args.get("next", "")
        return redirect(target if target.startswith("/admin") else url_for("admin.dashboard"))
    return render_template("admin/login.html")


@bp.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("admin.login"))


@bp.get("/")
@signed_in
def dashboard(db: Session):
    figures = dashboard_figures(db, g.account.id)
    kpis, report = figures.kpis, figures.report
    tier_chart = charts.bars([(row["tier"] or i18n.t("none"), row["customers"]) for row in report.tiers])
    points_chart = charts.bars([(row["period"], row["issued"]) for row in report.points])
    return render_template("admin/dashboard.html", kpis=kpis, tier_chart=tier_chart,
                           points_chart=points_chart)


@bp.get("/customers")
@signed_in
def customers(db: Session):
    q = request.args.get("q", "").strip().lower()
    query = scope.rows(Customer, g.account.id)
    if q:
        like = f"%{q}%"
        query = query.where(or_(Customer.email.like(like), func.lower(Customer.first_name).like(like),  # type: ignore[union-attr]
                                func.lower(Customer.last_name).like(like)))
    rows = db.exec(query.order_by(Customer.points_balance.desc()).limit(50)).all()  # type: ignore[attr-defined]
    tiers = dict(db.exec(select(Tier.id, Tier.name).where(Tier.account_id == g.account.id)).all())
    return render_template("admin/customers.html", customers=rows, tiers=tiers, q=q)


@bp.get("/customers/<int:customer_id>")
@signed_in
def customer(db: Session, customer_id: int):
    row = scope.get(db, Customer, g.account.id, customer_id)
    now = utcnow()
    entries = db.exec(scope.rows(LedgerEntry, g.account.id).where(
        LedgerEntry.customer_id == row.id).order_by(LedgerEntry.id.desc()).limit(100)).all()  # type: ignore[union-attr]
    redemptions = db.exec(scope.rows(Redemption, g.account.id).where(
        Redemption.customer_id == row.id).order_by(Redemption.id.desc())).all()  # type: ignore[union-attr]
    tier = db.get(Tier, row.tier_id) if row.tier_id else None
    return render_template(
        "admin/customer.html", customer=row, entries=entries, redemptions=redemptions, tier=tier,
        pending=ledger.pending_points(db, row, now), available=ledger.available_points(db, row, now),
    )


@bp.post("/customers/<int:customer_id>/adjust")
@signed_in
def adjust(db: Session, customer_id: int):
    try:
        amount = int(request.form.get("amount", ""))
        ledger.adjust(db, g.account.id, customer_id, amount=amount,
                      reason=request.form.get("reason", ""), actor=g.admin.email)
        flash(i18n.t("saved"), "ok")
    except ValueError:
        flash(f"{i18n.t('amount')}: ?", "error")
    except InsufficientPoints:
        db.rollback()
        flash(i18n.t("insufficient"), "error")
    except RuleError as exc:
        db.rollback()
        flash(str(exc), "error")
    return redirect(url_for("admin.customer", customer_id=customer_id))


def _program_from_form(form, current: ProgramSettings) -> ProgramSettings:
    data = current.model_dump(mode="json")
    data["earn"].update(points_per_unit=form.get("points_per_unit"), rounding=form.get("rounding"),
                        include_shipping="include_shipping" in form,
                        include_tax="include_tax" in form,
                        count_discounts="count_discounts" in form)
    data["award_on"] = form.get("award_on")
    data["return_window_days"] = form.get("return_window_days")
    data["expiry"].update(mode=form.get("expiry_mode"), months=form.get("expiry_months"))
    for name in data["bonuses"]:
        data["bonuses"][name] = form.get(f"bonus_{name}", 0)
    return ProgramSettings.model_validate(data)


@bp.route("/settings", methods=["GET", "POST"])
@signed_in
def settings(db: Session):
    program = program_of(g.account)
    errors: list[str] = []
    if request.method == "POST":
        try:
            program = _program_from_form(request.form, program)
        except ValidationError as exc:
            errors = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        else:
            account = db.get(Account, g.account.id)
            account.program = program.model_dump(mode="json")
            db.add(account)
            flash(i18n.t("saved"), "ok")
            return redirect(url_for("admin.settings"))
    tiers = db.exec(scope.rows(Tier, g.account.id).order_by(Tier.threshold)).all()
    rewards = db.exec(scope.rows(Reward, g.account.id).order_by(Reward.points_cost)).all()
    return render_template("admin/settings.html", program=program, errors=errors, tiers=tiers,
                           rewards=rewards), (422 if errors else 200)


@bp.post("/settings/tiers")
@signed_in
def save_tier(db: Session):
    form = request.form
    try:
        threshold = Decimal(form.get("threshold", ""))
        multiplier = Decimal(form.get("multiplier", "1"))
    except (ArithmeticError, ValueError):
        flash("threshold and multiplier must be numbers", "error")
        return redirect(url_for("admin.settings"))
    name = form.get("name", "").strip()
    if not name or threshold < 0 or not Decimal("0.1") <= multiplier <= 10:
        flash("a tier needs a name, a threshold ≥ 0 and a multiplier between 0.1 and 10", "error")
        return redirect(url_for("admin.settings"))
    tier = db.exec(scope.rows(Tier, g.account.id).where(Tier.name == name)).first()
    tier = tier or Tier(account_id=g.account.id, name=name)
    tier.threshold, tier.multiplier = threshold, multiplier
    db.add(tier)
    flash(i18n.t("saved"), "ok")
    return redirect(url_for("admin.settings"))


@bp.post("/settings/rewards")
@signed_in
def save_reward(db: Session):
    form = request.form
    try:
        reward = Reward.model_validate({
            "account_id": g.account.id, "name": form.get("name", "").strip(),
            "kind": form.get("kind"), "points_cost": form.get("points_cost"),
            "value": form.get("value") or "0", "product_id": form.get("product_id", ""),
            "min_order": form.get("min_order") or "0", "valid_days": form.get("valid_days") or 30,
        })
    except ValidationError as exc:
        flash("; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors()), "error")
        return redirect(url_for("admin.settings"))
    if not reward.name:
        flash("a reward needs a name", "error")
        return redirect(url_for("admin.settings"))
    db.add(reward)
    flash(i18n.t("saved"), "ok")
    return redirect(url_for("admin.settings"))


@bp.post("/settings/rewards/<int:reward_id>/toggle")
@signed_in
def toggle_reward(db: Session, reward_id: int):
    reward = scope.get(db, Reward, g.account.id, reward_id)
    reward.active = not reward.active
    db.add(reward)
    return redirect(url_for("admin.settings"))


def init_app(app) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # only the admin pages use forms
    csrf.init_app(app)
    embedded.configure_cookies(app)
    app.register_blueprint(bp)
