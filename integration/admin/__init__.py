"""The merchant's admin pages (sign-in, dashboard, customers, program, connections)."""

from flask import Flask


def init_app(app: Flask) -> None:
    from integration.admin import views

    views.init_app(app)
