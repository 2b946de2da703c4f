"""Admin pages of the account's connections: how each is doing, reconnect, register webhooks.

Same rules as the other pages: signed in, one account (another account's connection is a 404),
CSRF on every POST. A platform's refusal is shown on the page with its message, never swallowed.
"""

from __future__ import annotations

import logging

from flask import flash, g, redirect, render_template, request, session, url_for
from sqlmodel import Session

from connectors.sdk.base import InvalidSettings
from connectors.sdk.http import ApiError
from connectors.sdk.registry import connector_class
from connectors.shopify.oauth import RETURN_KEY
from integration import scope
from integration.admin import i18n
from integration.admin.connection_health import connection_health
from integration.admin.views import bp, signed_in
from integration.app import runtime
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
