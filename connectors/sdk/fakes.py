"""The plumbing every fake platform server needs, so a connector's fake is only its routes.

A fake is a real HTTP server on ``127.0.0.1`` (an ephemeral port) in a background thread; the
connector talks to it over real HTTP through its real client. ``FakePlatform`` gives it:

- ``with Fake(...) as fake: fake.url`` — start and stop;
- a request log (``fake.requests``, ``fake.calls("POST", "/v1/")``) tests assert on;
- failure injection: ``fake.rate_limit(times, retry_after)`` answers 429 with ``Retry-After``,
  ``fake.fail(times, status)`` answers 5xx, both before any route runs.

Subclasses add their routes in ``routes(app)`` and may override ``refuse(status, code, message)``
to answer in the platform's own error shape::

    class FakeAcme(FakePlatform):
        def routes(self, app):
            @app.get("/v1/ping")
            def ping():
                return {"ok": True}
"""

from __future__ import annotations

import threading
from typing import Any, Self

from flask import Flask, Response, jsonify, request
from werkzeug.serving import make_server


class FakePlatform:
    name = "fake"

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status) of every call
        self._throttle: list[int] = []
        self._failures: list[int] = []
        self.app = Flask(self.name)
        self.app.before_request(self._gate)
        self.app.after_request(self._log)
        self.routes(self.app)
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def routes(self, app: Flask) -> None:
        """Add the platform's endpoints to ``app``."""
        raise NotImplementedError

    def authorized(self) -> bool:
        """Whether the current request carries valid credentials (default: everyone)."""
        return True

    def refuse(self, status: int, code: str, message: str) -> Response:
        """An error answer in the platform's shape; the default is ``{"error": {...}}``."""
        response = jsonify({"error": {"code": code, "message": message}})
        response.status_code = status
        return response

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- failure injection and the request log -----------------------------------------------

    def rate_limit(self, times: int = 1, retry_after: int = 1) -> None:
        """The next ``times`` requests answer 429 with ``Retry-After: retry_after``."""
        self._throttle.extend([retry_after] * times)

    def fail(self, times: int = 1, status: int = 500) -> None:
        """The next ``times`` requests answer ``status``."""
        self._failures.extend([status] * times)

    def calls(self, method: str | None = None, prefix: str = "") -> int:
        """How many requests matched ``method`` and a path starting with ``prefix``."""
        return sum(
            1 for m, path, _ in self.requests
            if (method is None or m == method) and path.startswith(prefix)
        )

    def _gate(self) -> Any:
        if self._throttle:
            response = self.refuse(429, "rate_limited", "too many requests")
            response.headers["Retry-After"] = str(self._throttle.pop(0))
            return response
        if self._failures:
            return self.refuse(self._failures.pop(0), "server_error", "injected failure")
        if not self.authorized():
            return self.refuse(401, "unauthorized", "missing or wrong credentials")
        return None

    def _log(self, response: Response) -> Response:
        self.requests.append((request.method, request.path, response.status_code))
        return response
