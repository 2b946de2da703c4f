"""The merchant's admin pages (sign-in, dashboard, customers, program, connections)."""

from flask import Flask


def init_app(app: Flask) -> None:
    from integration.admin import connections, operations, views  # noqa: F401  (they add pages)

    views.init_app(app)
