"""Admin pages of the account's connections: how each is doing, the contacts it refuses, add
one, reconnect, register webhooks.

Adding one: a platform connected by its settings (Mailchimp, Klaviyo, an installed plugin) gets
a form generated from its connector's ``Settings`` and goes through ``connections.connect``, the
same way as ``sadakat connect``; Shopify starts the app install for a shop domain, WooCommerce the
site's authorization, both bound to this account.

Same rules as the other pages: signed in, one account (another account's connection is a 404),
CSRF on every POST. A platform's refusal is shown on the page with its message, never swallowed.
"""

from __future__ import annotations

import logging

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from sqlmodel import Session

from connectors.sdk.base import InvalidSettings, SettingField
from connectors.sdk.http import ApiError
from connectors.sdk.registry import connector_class, installed
from connectors.shopify.connector import valid_shop
from connectors.shopify.oauth import ACCOUNT_KEY, RETURN_KEY
from connectors.woocommerce.auth import NotAuthorized, begin_authorization, finish_authorization
from integration import refusals, scope
from integration.admin import i18n
from integration.admin.connection_health import connection_health
from integration.admin.views import bp, signed_in
from integration.app import runtime
from integration.connections import ConnectedElsewhere, ConnectRefused, connect, key_connector
from integration.db import utcnow
from integration.models import Connection, ConnectionStatus

log = logging.getLogger(__name__)


@bp.get("/connections")
@signed_in
def connections(db: Session):
    rows = db.exec(scope.rows(Connection, g.account.id).order_by(Connection.id)).all()  # type: ignore[arg-type]
    now = utcnow()
    return render_template("admin/connections.html", health=connection_health(db, rows, now),
                           now=now)


@bp.get("/connections/<int:connection_id>/refused")
@signed_in
def refused_contacts(db: Session, connection_id: int):
    """Who the connection refuses, grouped by reason, with what each reason means and what the
    merchant can do about it."""
    connection = scope.get(db, Connection, g.account.id, connection_id)
    return render_template("admin/refused.html", connection=connection,
                           groups=refusals.listing(db, connection.id))


@bp.post("/connections/<int:connection_id>/webhooks")
@signed_in
def register_webhooks_again(db: Session, connection_id: int):
    from integration.connections import register_webhooks

    connection = scope.get(db, Connection, g.account.id, connection_id)
    label = f"{connection.platform} {connection.name or connection.external_id}"
    db.commit()  # the registration writes the connection in its own transactions
    rt = runtime()
    try:
        topics = register_webhooks(rt.engine, rt.box, connection.id, rt.settings.server.public_url)
    except (ApiError, LookupError, NotImplementedError, ValueError) as exc:
        log.warning("registering webhooks of connection %s failed: %s", connection.id, exc)
        flash(f"{label}: {i18n.t('webhooks_failed')}: {exc}", "error")
    else:
        flash(f"{label}: {i18n.t('webhooks_registered')}: {', '.join(topics)}", "ok")
    return redirect(url_for("admin.connections"))


@bp.route("/connections/<int:connection_id>/reconnect", methods=["GET", "POST"])
@signed_in
def reconnect(db: Session, connection_id: int):
    """Shopify: the OAuth install again for the shop. Others: new credentials, checked with
    the platform before they replace the old ones (sealed, like every credential)."""
    connection = scope.get(db, Connection, g.account.id, connection_id)
    if connection.platform == "shopify":
        if request.method == "POST":
            session[RETURN_KEY] = url_for("admin.connections")
            return redirect(url_for("shopify_auth.install", shop=connection.external_id))
        return redirect(url_for("admin.connections"))
    try:
        cls = connector_class(connection.platform)
    except LookupError:
        flash(f"{connection.platform}: {i18n.t('not_installed')}", "error")
        return redirect(url_for("admin.connections"))
    # one text box per secret a merchant can paste (not the per-webhook secrets a site hands us)
    fields = [f for f in cls.Settings.fields() if f.secret and f.type.startswith("SecretStr")]
    errors: dict[str, str] = {}
    if request.method == "POST":
        box = runtime().box
        stored = box.open(connection.credentials)
        entered = {f.name: value for f in fields if (value := request.form.get(f.name, "").strip())}
        try:
            settings = cls.Settings.from_input({**connection.settings, **stored, **entered}, cls.name)
            cls(settings).check()
        except InvalidSettings as exc:
            errors = exc.problems
        except ApiError as exc:
            errors = {"": f"{i18n.t('refused')}: {exc}"}
        else:
            connection.credentials = box.seal({**stored, **settings.split()[1]})
            connection.status, connection.status_message = ConnectionStatus.ACTIVE, ""
            db.add(connection)
            flash(f"{connection.platform}: {i18n.t('reconnected')}", "ok")
            return redirect(url_for("admin.connections"))
    return render_template("admin/reconnect.html", connection=connection, fields=fields,
                           errors=errors), (422 if errors else 200)


@bp.get("/connections/new")
@signed_in
def add_connection(db: Session):
    return _add_page({})


def _add_page(errors: dict[str, str]):
    """The platforms to pick from: those connected by their settings, then Shopify's and
    WooCommerce's own flows."""
    key_connectors = [item.connector for item in installed()
                      if item.connector is not None and not item.connector.connect_with]
    return render_template("admin/add_connection.html", key_connectors=key_connectors,
                           shopify_app=bool(runtime().settings.shopify.api_key),
                           errors=errors), (422 if errors else 200)


@bp.route("/connections/new/<platform>", methods=["GET", "POST"])
@signed_in
def connect_platform(db: Session, platform: str):
    """The connector's settings as a form; checked by the platform before anything is stored."""
    try:
        cls = key_connector(platform)
    except LookupError:
        abort(404)
    except ConnectRefused:  # Shopify, WooCommerce: their own flows, on the page before
        return redirect(url_for("admin.add_connection"))
    fields = cls.Settings.fields()
    entered = {f.name: value for f in fields if (value := request.form.get(f.name, "").strip())}
    errors: dict[str, str] = {}
    if request.method == "POST":
        db.commit()  # connecting writes in its own transactions
        rt = runtime()
        try:
            connected = connect(rt.engine, rt.box, g.account.id, platform, entered,
                                public_url=rt.settings.server.public_url)
        except InvalidSettings as exc:
            errors = _per_field(exc.problems, fields)
        except ApiError as exc:
            errors = {"": f"{i18n.t('refused')}: {exc}"}
        except ConnectedElsewhere:
            errors = {"": i18n.t("connected_elsewhere")}
        else:
            label = f"{platform} {connected.external_id}"
            flash(f"{label}: {i18n.t('connected' if connected.created else 'reconnected')}", "ok")
            if connected.webhooks:
                flash(f"{label}: {i18n.t('webhooks_registered')}: {', '.join(connected.webhooks)}", "ok")
            elif connected.webhooks_by_hand:
                flash(f"{label}: {i18n.t('webhooks_by_hand')}: {connected.webhook_url}", "ok")
            elif connected.webhook_error:
                flash(f"{label}: {i18n.t('webhooks_failed')}: {connected.webhook_error} "
                      f"({connected.webhook_url})", "error")
            return redirect(url_for("admin.connections"))
    plain = {name: value for name, value in entered.items() if name not in cls.Settings.secret_fields()}
    return render_template("admin/connect.html", connector=cls, fields=fields, errors=errors,
                           values=plain), (422 if errors else 200)


def _per_field(problems: dict[str, str], fields: list[SettingField]) -> dict[str, str]:
    """Problems by the form's field; one about no single field goes on top of the form."""
    names = {f.name for f in fields}
    errors = {name: reason for name, reason in problems.items() if name in names}
    others = [f"{name}: {reason}" for name, reason in problems.items() if name not in names]
    return errors | ({"": "; ".join(others)} if others else {})


@bp.post("/connections/new/shopify")
@signed_in
def add_shopify(db: Session):
    """The app install for the shop, its connection made in this account, then back here."""
    try:
        shop = valid_shop(request.form.get("shop", ""))
    except ValueError as exc:
        return _add_page({"shop": str(exc)})
    session[RETURN_KEY] = url_for("admin.connections")
    session[ACCOUNT_KEY] = {"shop": shop, "account_id": g.account.id}
    return redirect(url_for("shopify_auth.install", shop=shop))


@bp.post("/connections/new/woocommerce")
@signed_in
def add_woocommerce(db: Session):
    """To the site's authorization page; the keys it grants come to this account."""
    try:
        link = begin_authorization(db, account_id=g.account.id, site_url=request.form.get("site", ""),
                                   public_url=runtime().settings.server.public_url,
                                   allow_insecure_http=bool(request.form.get("allow_insecure_http")),
                                   return_path=url_for("admin.woocommerce_return"))
    except ValueError as exc:
        return _add_page({"site": str(exc)})
    return redirect(link)


@bp.get("/connections/woocommerce/return")
@signed_in
def woocommerce_return(db: Session):
    """Where the site sends the merchant back after authorizing: its webhooks are registered and
    the outcome shown on the connections page."""
    try:
        site, topics = finish_authorization(runtime(), request.args.get("user_id", ""),
                                            request.args.get("success") == "1", g.account.id)
    except NotAuthorized:
        flash(f"woocommerce: {i18n.t('not_authorized')}", "error")
    except ApiError as exc:
        flash(f"woocommerce: {i18n.t('webhooks_failed')}: {exc}", "error")
    else:
        flash(f"woocommerce {site}: {i18n.t('connected')}; "
              f"{i18n.t('webhooks_registered')}: {', '.join(topics)}", "ok")
    return redirect(url_for("admin.connections"))
