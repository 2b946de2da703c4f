"""The public JSON API (``/api/v1``) and its tokens."""

from flask import Flask


def init_app(app: Flask) -> None:
    from integration.api import storefront, views

    app.register_blueprint(views.bp)
    app.register_blueprint(storefront.bp)
