"""The Flask application factory (flaskr style): ``create_app`` plus one ``init_app`` per subsystem.

Each subsystem (webhook receiver, admin pages, public API, ...) contributes a blueprint and
whatever it needs at start-up through its own ``init_app(app)``; this file only wires them.
"""

from __future__ import annotations

from flask import Flask, current_app

from connectors.woocommerce.auth import init_app as init_woocommerce
from integration.runtime import Runtime
from integration.settings import Settings, load_settings
import webhooks


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    app = Flask(__name__)
    app.config["SECRET_KEY"] = settings.security.secret_key
    app.config["MAX_CONTENT_LENGTH"] = settings.server.max_webhook_bytes
    app.extensions["sadakat"] = Runtime(settings)
    from connectors.shopify.oauth import init_app as init_shopify_oauth

    init_shopify_oauth(app)

    from integration import admin, api

    api.init_app(app)
    admin.init_app(app)
    init_woocommerce(app)

    @app.get("/healthz")
    def healthz():
        from integration.db import ping

        ping(runtime().engine)
        return {"status": "ok"}

    webhooks.init_app(app)
    return app


def runtime() -> Runtime:
    """The Runtime of the app handling the current request."""
    return current_app.extensions["sadakat"]
