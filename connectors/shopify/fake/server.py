"""A fake Shopify: a real HTTP server on localhost speaking the Admin GraphQL API and OAuth.

    with FakeShopify(seed=1, customers=1000, orders=5000) as fake:
        fake.url           # http://127.0.0.1:<port>, the connector's ``endpoint``
        fake.token         # an Admin API token that works (custom-app mode)
        fake.inject("503", count=2)        # the next two GraphQL calls fail
        fake.requests      # what was asked, with costs and outcomes

Every document is parsed and validated against the real 2026-07 Admin schema (graphql-core) and
refused with Shopify-shaped errors if invalid; variables are coerced by the schema; the cost is
computed and charged to a real leaky bucket (plan limits from ``cost.PLANS``); THROTTLED comes
back when the bucket cannot pay for the requested cost. Webhooks to subscribed URLs are signed
like Shopify's (base64 HMAC-SHA256 of the raw body with the app's client secret).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.parse
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import jwt
import requests
from flask import Flask, Response, abort, jsonify, redirect, request
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    execute,
    get_operation_ast,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values
from werkzeug.serving import WSGIRequestHandler, make_server

from connectors.shopify.fake.bulk import BulkOperations
from connectors.shopify.fake.cost import MAX_QUERY_COST, PLANS, LeakyBucket, operation_cost
from connectors.shopify.fake.resolvers import Root
from connectors.shopify.fake.store import Store
from connectors.shopify.schema import API_VERSION, admin_schema

FAULTS = {"500", "502", "503", "504", "timeout", "throttle", "401"}
DOWNLOAD_BLOCK = 1 << 20  # bytes of whole JSONL lines per write when serving a bulk result


class _QuietHandler(WSGIRequestHandler):
    """Requests are in ``FakeShopify.requests``; no access log on stderr."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@dataclass
class Logged:
    path: str
    operation: str | None = None
    status: int = 200
    requested: int | None = None
    actual: int | None = None
    throttled: bool = False
    fault: str | None = None
    at: float = field(default_factory=time.monotonic)


@dataclass
class Fault:
    kind: str
    count: int
    after: int  # calls to let through first
    target: str = "graphql"  # or "bulk-file": cut the download after ``after`` lines


def oauth_hmac(params: dict[str, str], secret: str) -> str:
    """Shopify's OAuth query signature: sorted ``k=v`` (``%``/``&`` escaped, and ``=`` in keys)
    joined by ``&``, hex HMAC-SHA256 with the client secret."""
    pairs = sorted(
        f"{k.replace('%', '%25').replace('=', '%3D')}={v.replace('%', '%25')}".replace("&", "%26")
        for k, v in params.items() if k != "hmac"
    )
    message = "&".join(pairs)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


class FakeShopify:
    def __init__(self, *, seed: int = 1, customers: int = 100, orders: int = 300,
                 shop: str = "sadakat-test.myshopify.com", plan: str = "standard",
                 api_key: str = "fake-api-key", api_secret: str = "shpss_fake0api0secret0of0the0sadakat0app",
                 scopes: str = "read_customers,write_customers,read_orders,write_discounts",
                 currency: str = "USD", timeout_delay: float = 2.0,
                 bucket: tuple[int, int] | None = None) -> None:
        """``bucket`` = (maximumAvailable, restoreRate) overrides the plan's (fast tests)."""
        self.schema = admin_schema()
        self.store = Store(seed=seed, customers=customers, orders=orders, currency=currency)
        self.shop, self.api_key, self.api_secret, self.scopes = shop, api_key, api_secret, scopes
        maximum, restore = bucket or PLANS[plan]
        self.bucket = LeakyBucket(maximum, restore)
        self.timeout_delay = timeout_delay
        self.token = "shpat_" + hashlib.sha256(f"{seed}:{shop}".encode()).hexdigest()[:32]
        self.tokens = {self.token}
        self.codes: dict[str, float] = {}
        self.requests: list[Logged] = []
        self.faults: deque[Fault] = deque()
        self.webhook_deliveries: list[dict[str, Any]] = []
        self.bulk = BulkOperations(self)
        self._documents: dict[str, DocumentNode | list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.app = self._build_app()
        self.url = ""
        self._server = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeShopify:
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True,
                                   request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="fake-shopify")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeShopify:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test controls --------------------------------------------------------------------

    def inject(self, kind: str, *, count: int = 1, after: int = 0, target: str = "graphql") -> None:
        """Make ``count`` calls fail with ``kind`` after letting ``after`` calls through.

        Kinds: 500/502/503/504, ``timeout`` (answer after ``timeout_delay``), ``throttle``
        (THROTTLED whatever the bucket), 401. With ``target="bulk-file"`` the next result
        download ends (without an error) after ``after`` lines.
        """
        if kind not in FAULTS and target == "graphql":
            raise ValueError(f"unknown fault {kind!r}")
        self.faults.append(Fault(kind, count, after, target))

    def graphql_requests(self) -> list[Logged]:
        return [r for r in self.requests if r.path.endswith("graphql.json")]

    def _fault(self, target: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.target != target:
                    continue
                if target == "bulk-file":
                    self.faults.remove(fault)
                    return fault
                if fault.after > 0:
                    fault.after -= 1
                    return None
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    # -- the embedded admin ---------------------------------------------------------------

    def session_token(self, user_id: str = "42", *, lifetime: float = 60.0, **claims: Any) -> str:
        """A session token as Shopify admin hands it to an embedded app (id_token / App Bridge
        bearer): HS256 with the app's secret, one minute long; ``claims`` override any claim."""
        now = int(time.time())
        payload = {"iss": f"https://{self.shop}/admin", "dest": f"https://{self.shop}",
                   "aud": self.api_key, "sub": user_id, "exp": now + int(lifetime), "nbf": now,
                   "iat": now, "jti": str(uuid.uuid4()), "sid": secrets.token_hex(16)}
        payload.update(claims)
        return jwt.encode(payload, self.api_secret, algorithm="HS256")

    # -- webhooks -------------------------------------------------------------------------

    def signature(self, body: bytes) -> str:
        return base64.b64encode(hmac.new(self.api_secret.encode(), body, hashlib.sha256).digest()).decode()

    def fire_webhook(self, topic: str, payload: dict[str, Any], url: str | None = None,
                     *, event_id: str | None = None) -> list[requests.Response]:
        """POST a signed delivery of ``topic`` ("orders/paid") to ``url`` or to every
        subscription of that topic; returns the responses."""
        body = json.dumps(payload).encode()
        enum = topic.upper().replace("/", "_")
        targets = [url] if url else [w["uri"] for w in self.store.webhooks if w["topic"] == enum]
        event_id = event_id or str(uuid.uuid4())
        responses = []
        for target in targets:
            headers = {
                "Content-Type": "application/json",
                "X-Shopify-Topic": topic,
                "X-Shopify-Hmac-Sha256": self.signature(body),
                "X-Shopify-Shop-Domain": self.shop,
                "X-Shopify-API-Version": API_VERSION,
                "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                "X-Shopify-Event-Id": event_id,
                "X-Shopify-Triggered-At": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            response = requests.post(target, data=body, headers=headers, timeout=5)
            self.webhook_deliveries.append({"topic": topic, "url": target,
                                            "status": response.status_code})
            responses.append(response)
        return responses

    # -- HTTP -----------------------------------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask("fake_shopify")

        @app.post("/admin/api/<version>/graphql.json")
        def graphql_endpoint(version: str):
            return self._graphql(version)

        @app.get("/admin/oauth/authorize")
        def authorize():
            return self._authorize()

        @app.post("/admin/oauth/access_token")
        def access_token():
            return self._access_token()

        @app.get("/bulk/<name>.jsonl")
        def bulk_file(name: str):
            return self._bulk_file(name)

        return app

    def _graphql(self, version: str) -> Response:
        logged = Logged(request.path)
        self.requests.append(logged)
        fault = self._fault("graphql")
        if fault is not None:
            logged.fault = fault.kind
            if fault.kind == "timeout":
                time.sleep(self.timeout_delay)
                logged.status = 504
                return Response("upstream timeout", 504)
            if fault.kind == "throttle":
                logged.throttled = True
                return jsonify(self._throttled(0))
            if fault.kind == "401":
                logged.status = 401
                return Response(json.dumps({"errors": "[API] Invalid API key or access token "
                                            "(unrecognized login or wrong password)"}),
                                401, content_type="application/json")
            logged.status = int(fault.kind)
            return Response(json.dumps({"errors": "Internal Server Error"}), logged.status,
                            content_type="application/json")
        if request.headers.get("X-Shopify-Access-Token") not in self.tokens:
            logged.status = 401
            return Response(json.dumps({"errors": "[API] Invalid API key or access token "
                                        "(unrecognized login or wrong password)"}),
                            401, content_type="application/json")
        if version != API_VERSION:
            logged.status = 404
            return Response(json.dumps({"errors": "Not Found"}), 404,
                            content_type="application/json")
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            logged.status = 400
            return Response(json.dumps({"errors": {"query": "Required parameter missing or invalid"}}),
                            400, content_type="application/json")
        answer = self._answer(body, logged)
        return jsonify(answer)

    def _document(self, query: str) -> DocumentNode | list[dict[str, Any]]:
        """Parsed and validated document, or Shopify-shaped errors; cached per query text."""
        cached = self._documents.get(query)
        if cached is not None:
            return cached
        try:
            document: DocumentNode | list[dict[str, Any]] = parse(query)
            errors = validate(self.schema, document)
            if errors:
                document = [_error(e, "GRAPHQL_VALIDATION_FAILED") for e in errors]
        except GraphQLError as exc:
            document = [_error(exc, "GRAPHQL_PARSE_FAILED")]
        self._documents[query] = document
        return document

    def _answer(self, body: dict[str, Any], logged: Logged) -> dict[str, Any]:
        document = self._document(body["query"])
        if isinstance(document, list):
            return {"errors": document}
        operation = get_operation_ast(document, body.get("operationName"))
        if operation is None:
            return {"errors": [{"message": "An operation name is required",
                                "extensions": {"code": "OPERATION_NAME_REQUIRED"}}]}
        logged.operation = operation.name.value if operation.name else None
        coerced = get_variable_values(self.schema, operation.variable_definitions or (),
                                      body.get("variables") or {})
        if isinstance(coerced, list):
            return {"errors": [_error(e, "INVALID_VARIABLE") for e in coerced]}
        fragments = {d.name.value: d for d in document.definitions
                     if isinstance(d, FragmentDefinitionNode)}
        requested = operation_cost(self.schema, operation, fragments, coerced)
        logged.requested = requested
        if requested > MAX_QUERY_COST:
            return {"errors": [{
                "message": f"Query cost is {requested}, which exceeds the single query max cost "
                           f"limit ({MAX_QUERY_COST}).",
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested,
                               "maxCost": MAX_QUERY_COST}}]}
        if not self.bucket.take(requested):
            logged.throttled = True
            return self._throttled(requested)
        result = execute(self.schema, document, root_value=Root(self),
                         variable_values=body.get("variables") or {},
                         operation_name=body.get("operationName"))
        actual = (operation_cost(self.schema, operation, fragments, coerced, result.data, True)
                  if result.data is not None else requested)
        actual = min(actual, requested)
        self.bucket.give_back(requested - actual)
        logged.actual = actual
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [_error(e, "INTERNAL_SERVER_ERROR" if e.original_error and not
                                       isinstance(e.original_error, GraphQLError) else None)
                                for e in result.errors]
        answer["extensions"] = {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual,
                                         "throttleStatus": self.bucket.status()}}
        return answer

    def _throttled(self, requested: int) -> dict[str, Any]:
        return {
            "errors": [{"message": "Throttled", "extensions": {
                "code": "THROTTLED",
                "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
            "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": None,
                                    "throttleStatus": self.bucket.status()}},
        }

    def _authorize(self) -> Response:
        args = request.args
        if args.get("client_id") != self.api_key:
            abort(400, "Oauth error invalid_request: The client_id is invalid")
        redirect_uri = args.get("redirect_uri") or ""
        if not redirect_uri.startswith(("http://", "https://")):
            abort(400, "Oauth error invalid_request: The redirect_uri is missing or not whitelisted")
        code = secrets.token_hex(16)
        self.codes[code] = time.time()
        params = {"code": code, "host": base64.b64encode(f"{self.shop}/admin".encode()).decode(),
                  "shop": self.shop, "state": args.get("state", ""),
                  "timestamp": str(int(time.time()))}
        params["hmac"] = oauth_hmac(params, self.api_secret)
        self.requests.append(Logged(request.path, status=302))
        return redirect(f"{redirect_uri}?{urllib.parse.urlencode(params)}")

    def _access_token(self) -> Response:
        form = request.form if request.form else (request.get_json(silent=True) or {})
        self.requests.append(Logged(request.path))
        issued = self.codes.pop(form.get("code", ""), None)
        if (form.get("client_id") != self.api_key or form.get("client_secret") != self.api_secret
                or issued is None or time.time() - issued > 600):
            return Response(json.dumps({"error": "invalid_request", "error_description":
                                        "The authorization code was not found or was already used"}),
                            400, content_type="application/json")
        token = "shpat_" + secrets.token_hex(16)
        self.tokens.add(token)
        return jsonify({"access_token": token, "scope": self.scopes})

    def _bulk_file(self, name: str) -> Response:
        path = self.bulk.files.get(name)
        self.requests.append(Logged(request.path, status=200 if path else 404))
        if path is None:
            abort(404)
        fault = self._fault("bulk-file")

        def blocks():
            """Whole lines in blocks of about ``DOWNLOAD_BLOCK`` bytes: one socket write per
            line made serving a 700 MB result cost more than producing it."""
            left = fault.after if fault is not None else None
            with open(path, "rb") as handle:
                while block := handle.readlines(DOWNLOAD_BLOCK):
                    if left is not None and len(block) >= left:
                        # Ends cleanly but early, as a dropped proxy connection can look.
                        yield b"".join(block[:left])
                        return
                    left = left - len(block) if left is not None else None
                    yield b"".join(block)

        return Response(blocks(), content_type="application/jsonl")


def _error(error: GraphQLError, code: str | None) -> dict[str, Any]:
    formatted: dict[str, Any] = {"message": error.message}
    if error.locations:
        formatted["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        formatted["path"] = list(error.path)
    if code:
        formatted["extensions"] = {"code": code}
    return formatted
