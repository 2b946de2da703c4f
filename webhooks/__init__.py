"""Receiving webhooks: verify the signature, write the inbox row, answer 200. Nothing else.

``init_app`` adds the receiver and ``/metrics`` to the Flask app; the inbox worker
(``webhooks.worker``) does the rest out of the request.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from webhooks.metrics import blueprint as metrics_blueprint
    from webhooks.receiver import blueprint as receiver_blueprint

    app.register_blueprint(receiver_blueprint)
    app.register_blueprint(metrics_blueprint)
