"""A fake WooCommerce site: the REST v3 endpoints Sadakat uses, over real HTTP on localhost.

Behaviour follows WooCommerce's REST documentation and ``class-wc-webhook.php``:

- auth: HTTP Basic with the consumer key/secret, query-string keys, or OAuth 1.0a one-legged
  signatures (what the ``woocommerce`` SDK sends to an ``http://`` site); 401 with
  ``woocommerce_rest_authentication_error`` for unknown/revoked keys or bad signatures, and
  read-only keys refused on writes;
- lists: ``per_page`` default 10, max 100 (``rest_invalid_param`` above), ``X-WP-Total``,
  ``X-WP-TotalPages``, ``Link`` (``prev``/``next``), ``rest_post_invalid_page_number`` past the
  last page of orders; orders filter by ``modified_after``/``after``/``status``; customers have no
  date filter (WooCommerce has none);
- batches: at most 100 items (413 ``woocommerce_rest_request_entity_too_large``), per-item
  errors inside a 200 response;
- coupons: codes lower-cased and unique (``woocommerce_rest_coupon_code_already_exists``);
- webhooks: signed deliveries (base64 HMAC-SHA256 of the body), a ping ``webhook_id=<id>`` on
  creation, disabled after more than 5 consecutive failed deliveries;
- ``/wc-auth/v1/authorize``: "the merchant approves", keys are POSTed to ``callback_url`` and the
  browser is redirected to ``return_url``. Real WooCommerce requires an https callback; the fake
  also accepts http on loopback addresses, since tests run there.

Test controls (``set_status``, ``refund``, ``add_order``...) change the store and deliver their
webhooks before returning, so tests are deterministic; deliveries caused by REST writes
(``customers/batch``) go out from a background thread, as WooCommerce's Action Scheduler does.

Failure injection (``inject``) returns 429/5xx or stalls a request; ``revoke_keys`` turns every
key invalid. Every request is logged (``requests``) so tests and benchmarks can count calls.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlparse

import requests
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from connectors.woocommerce.fake.store import START, STATUSES, Store, iso

API = "/wp-json/wc/v3/"
MAX_PER_PAGE = 100
MAX_BATCH = 100
MAX_WEBHOOK_FAILURES = 5
COUPON_TYPES = ("percent", "fixed_cart", "fixed_product")


def error(status: int, code: str, message: str, **data: Any) -> Response:
    body = {"code": code, "message": message, "data": {"status": status, **data}}
    return Response(json.dumps(body), status=status, content_type="application/json")


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {},
                    content_type="application/json")


@dataclass
class Key:
    consumer_key: str
    consumer_secret: str
    permissions: str = "read_write"
    revoked: bool = False


@dataclass
class Failure:
    """Fail ``times`` matching requests after letting ``after`` through."""

    status: int = 503
    times: int = 1
    after: int = 0
    path: str = ""
    retry_after: str | None = None
    delay: float = 0.0


@dataclass
class Webhook:
    id: int
    name: str
    topic: str
    delivery_url: str
    secret: str
    status: str = "active"
    failure_count: int = 0
    deliveries: list[int] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        resource, _, event = self.topic.partition(".")
        return {"id": self.id, "name": self.name, "status": self.status, "topic": self.topic,
                "resource": resource, "event": event, "hooks": [], "delivery_url": self.delivery_url,
                "date_created_gmt": iso(0), "date_modified_gmt": iso(0)}


def _rawurlencode(value: str) -> str:
    return quote(value, safe="")


def oauth_signature(method: str, url: str, params: dict[str, str], secret: str, algo: str) -> str:
    """WooCommerce's ``check_oauth_signature``: sorted, rawurlencoded params, key ``secret&``."""
    normalized = sorted(
        (_rawurlencode(unquote(k)).replace("%", "%25"), _rawurlencode(unquote(v)).replace("%", "%25"))
        for k, v in params.items() if k != "oauth_signature"
    )
    query = "%26".join(f"{k}%3D{v}" for k, v in normalized)
    base = f"{method.upper()}&{_rawurlencode(url)}&{query}"
    digest = hashlib.sha256 if algo == "HMAC-SHA256" else hashlib.sha1
    return base64.b64encode(hmac.new(f"{secret}&".encode(), base.encode(), digest).digest()).decode()


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: object, **kwargs: object) -> None:
        """The request log is ``FakeWooCommerce.requests``; keep the console quiet."""


class FakeWooCommerce:
    """``with FakeWooCommerce(seed=1, customers=500, orders=2000) as fake: fake.url``."""

    def __init__(self, *, seed: int = 1, customers: int = 200, orders: int = 800,
                 currency: str = "EUR") -> None:
        self.store = Store(seed=seed, customers=customers, orders=orders, currency=currency)
        self.keys: dict[str, Key] = {}
        self.default_key = self.issue_key("read_write")
        self.webhooks: dict[int, Webhook] = {}
        self.coupons: dict[str, dict[str, Any]] = {}
        self.failures: list[Failure] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.deliveries: list[dict[str, Any]] = []
        last = max([*self.store.o_modified, *self.store.c_modified, 0])
        self.clock = last + 86400
        self._lock = threading.RLock()
        self._listing: dict[str, tuple[tuple, list[int]]] = {}
        self._next_webhook = 1
        self._next_delivery = 1
        self._server = None
        self._thread: threading.Thread | None = None
        self._outbox: queue.Queue[tuple[str, int] | None] = queue.Queue()
        self._sender: threading.Thread | None = None
        self.prefix = f"/shop-{secrets.token_hex(4)}"
        self.url = ""

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> FakeWooCommerce:
        self._server = make_server("127.0.0.1", 0, self.wsgi, threaded=True,
                                   request_handler=_QuietHandler)
        # WordPress in a folder of its own, so two fakes on the same (reused) port are two sites.
        self.url = f"http://127.0.0.1:{self._server.server_port}{self.prefix}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self._sender = threading.Thread(target=self._send_queued, daemon=True)
        self._sender.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._outbox.put(None)
        self._sender.join()
        self._server.shutdown()
        self._thread.join()

    def _send_queued(self) -> None:
        """Deliveries caused by REST writes go out in the background, as WooCommerce's Action
        Scheduler sends them: the REST response does not wait for our receiver."""
        while (item := self._outbox.get()) is not None:
            self.notify(*item)
            self._outbox.task_done()

    def drain(self) -> None:
        """Wait until every queued delivery was sent."""
        self._outbox.join()

    # -- test controls -----------------------------------------------------------------------

    def issue_key(self, permissions: str = "read_write") -> Key:
        key = Key(f"ck_{secrets.token_hex(20)}", f"cs_{secrets.token_hex(20)}", permissions)
        self.keys[key.consumer_key] = key
        return key

    def revoke_keys(self) -> None:
        for key in self.keys.values():
            key.revoked = True

    def inject(self, status: int = 503, *, times: int = 1, after: int = 0, path: str = "",
               retry_after: str | None = None, delay: float = 0.0) -> None:
        self.failures.append(Failure(status, times, after, path, retry_after, delay))

    def count(self, method: str = "", path: str = "") -> int:
        return sum(1 for m, p, _ in self.requests
                   if (not method or m == method) and path in p)

    def tick(self) -> int:
        self.clock += 60
        return self.clock

    def add_customer(self, email: str, first_name: str = "New") -> int:
        with self._lock:
            cid = self.store.add_customer(email, first_name, self.tick())
        self.notify("customer.created", cid)
        return cid

    def update_customer(self, cid: int, **changes: Any) -> None:
        with self._lock:
            self.store.update_customer(cid, self.tick(), **changes)
        self.notify("customer.updated", cid)

    def add_order(self, *, customer_id: int = 0, guest: int = 0, status: str = "processing") -> int:
        with self._lock:
            oid = self.store.add_order(customer_id or -guest, status, self.tick())
        self.notify("order.created", oid)
        return oid

    def set_status(self, oid: int, status: str) -> None:
        with self._lock:
            self.store.set_status(oid, status, self.tick())
        self.notify("order.updated", oid)

    def refund(self, oid: int, amount_cents: int, reason: str = "") -> int:
        with self._lock:
            refund_id = self.store.add_refund(oid, amount_cents, self.tick(), reason)
        self.notify("order.updated", oid)
        return refund_id

    def delete_order(self, oid: int) -> None:
        with self._lock:
            self.store.delete_order(oid)
        self.notify("order.deleted", oid)

    # -- webhook delivery --------------------------------------------------------------------

    def notify(self, topic: str, resource_id: int) -> None:
        for hook in list(self.webhooks.values()):
            if hook.status == "active" and hook.topic == topic:
                self.deliver(hook, resource_id)

    def payload(self, topic: str, resource_id: int) -> dict[str, Any]:
        resource, _, event = topic.partition(".")
        if event == "deleted":
            return {"id": resource_id}
        return self.store.order(resource_id) if resource == "order" else self.store.customer(resource_id)

    def deliver(self, hook: Webhook, resource_id: int) -> int | None:
        """POST one signed delivery; count failures and disable like WooCommerce does."""
        resource, _, event = hook.topic.partition(".")
        body = json.dumps(self.payload(hook.topic, resource_id), separators=(",", ":")).encode()
        signature = base64.b64encode(hmac.new(hook.secret.encode(), body, hashlib.sha256).digest())
        delivery_id = self._next_delivery
        self._next_delivery += 1
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "WooCommerce/9.4.0 Hookshot (WordPress/6.7)",
            "X-WC-Webhook-Source": f"{self.url}/",
            "X-WC-Webhook-Topic": hook.topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": signature.decode(),
            "X-WC-Webhook-ID": str(hook.id),
            "X-WC-Webhook-Delivery-ID": str(delivery_id),
        }
        try:
            status: int | None = requests.post(
                hook.delivery_url, data=body, headers=headers, timeout=10, allow_redirects=False
            ).status_code
        except requests.RequestException:
            status = None
        self.deliveries.append({"webhook": hook.id, "topic": hook.topic, "status": status,
                                "body": body, "headers": headers})
        if status is not None and 200 <= status <= 302:
            hook.failure_count = 0
        else:
            hook.failure_count += 1
            if hook.failure_count > MAX_WEBHOOK_FAILURES:
                hook.status = "disabled"
        return status

    # -- HTTP ----------------------------------------------------------------------------------

    def wsgi(self, environ, start_response):
        request = Request(environ)
        self.requests.append((request.method, request.path.removeprefix(self.prefix),
                              dict(request.args)))
        injected = self._injected(request)
        response = injected or self._route(request)
        return response(environ, start_response)

    def _injected(self, request: Request) -> Response | None:
        with self._lock:
            for rule in self.failures:
                if rule.path not in request.path or rule.times <= 0:
                    continue
                if rule.after > 0:
                    rule.after -= 1
                    return None
                rule.times -= 1
                if rule.delay:
                    time.sleep(rule.delay)
                    return None
                headers = {"Retry-After": rule.retry_after} if rule.retry_after else {}
                return Response(json.dumps({"code": "fake_injected", "message": "injected",
                                            "data": {"status": rule.status}}),
                                status=rule.status, headers=headers,
                                content_type="application/json")
        return None

    def _route(self, request: Request) -> Response:
        if not request.path.startswith(f"{self.prefix}/"):
            return error(404, "rest_no_route", "No route was found matching the URL and request method.")
        path = request.path.removeprefix(self.prefix)
        if path == "/wc-auth/v1/authorize":
            return self._authorize(request)
        if not path.startswith(API):
            return error(404, "rest_no_route", "No route was found matching the URL and request method.")
        denied = self._authenticate(request)
        if denied is not None:
            return denied
        parts = path[len(API):].strip("/").split("/")
        method = request.method
        with self._lock:
            if parts == ["customers"] and method == "GET":
                return self._list(request, "customers")
            if parts == ["orders"] and method == "GET":
                return self._list(request, "orders")
            if parts == ["customers", "batch"] and method in ("POST", "PUT", "PATCH"):
                return self._customers_batch(request)
            if len(parts) == 2 and parts[0] in ("customers", "orders") and method == "GET":
                return self._one(parts[0], parts[1])
            if parts == ["coupons"] and method == "POST":
                return self._create_coupon(request)
            if parts == ["coupons"] and method == "GET":
                code = request.args.get("code", "").lower()
                found = [self.coupons[code]] if code in self.coupons else []
                return ok(found, headers={"X-WP-Total": str(len(found)), "X-WP-TotalPages": "1"})
            if parts == ["webhooks"] and method == "GET":
                hooks = [h.json() for h in self.webhooks.values()]
                return ok(hooks, headers={"X-WP-Total": str(len(hooks)), "X-WP-TotalPages": "1"})
            if parts == ["webhooks"] and method == "POST":
                return self._create_webhook(request)
            if len(parts) == 2 and parts[0] == "webhooks" and method in ("PUT", "POST", "PATCH"):
                return self._update_webhook(request, parts[1])
        return error(404, "rest_no_route", "No route was found matching the URL and request method.")

    def _authenticate(self, request: Request) -> Response | None:
        args = dict(parse_qsl(urlparse(request.url).query))  # first occurrence of each
        key: Key | None
        if request.authorization and request.authorization.type == "basic":
            key = self.keys.get(request.authorization.username or "")
            if key is None or key.revoked:
                return error(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
            if not hmac.compare_digest(key.consumer_secret, request.authorization.password or ""):
                return error(401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")
        elif "oauth_consumer_key" in args:
            key = self.keys.get(args["oauth_consumer_key"])
            if key is None or key.revoked:
                return error(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
            if abs(time.time() - int(args.get("oauth_timestamp", 0))) > 15 * 60:
                return error(401, "woocommerce_rest_authentication_error", "Invalid timestamp.")
            expected = oauth_signature(request.method, request.base_url, args, key.consumer_secret,
                                       args.get("oauth_signature_method", "HMAC-SHA1"))
            if not hmac.compare_digest(expected, args.get("oauth_signature", "")):
                return error(401, "woocommerce_rest_authentication_error",
                             "Invalid signature - provided signature does not match.")
        elif "consumer_key" in args:
            key = self.keys.get(args["consumer_key"])
            if key is None or key.revoked or not hmac.compare_digest(
                    key.consumer_secret, args.get("consumer_secret", "")):
                return error(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
        else:
            return error(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
        if request.method != "GET" and key.permissions == "read":
            return error(401, "woocommerce_rest_authentication_error",
                         "The API key provided does not have write permissions.")
        return None

    # -- lists -------------------------------------------------------------------------------

    def _ids(self, resource: str, args: dict[str, str]) -> list[int]:
        s = self.store
        filters = tuple(sorted((k, v) for k, v in args.items()
                               if k not in ("page", "per_page") and not k.startswith(("oauth_", "consumer_"))))
        cache_key = (filters, s.version)
        cached = self._listing.get(resource)
        if cached and cached[0] == cache_key:
            return cached[1]
        if resource == "customers":
            ids = s.customer_ids()
            if args.get("email"):
                ids = [i for i in ids if s.customer_email(i) == args["email"].lower()]
            created, modified = s.c_created, s.c_modified
            sort = {"id": None, "registered_date": lambda i: (created[i - 1], i),
                    "name": lambda i: (s.customer(i)["first_name"], i)}
            orderby, default_order = args.get("orderby", "name"), "asc"
        else:
            ids = s.order_ids()
            created, modified = s.o_created, s.o_modified
            if args.get("status") and args["status"] != "any":
                wanted = {STATUSES.index(x) for x in args["status"].split(",") if x in STATUSES}
                ids = [i for i in ids if s.o_status[i - 1] in wanted]
            if args.get("customer"):
                ids = [i for i in ids if s.o_buyer[i - 1] == int(args["customer"])]
            for name, times, after in (("after", created, True), ("before", created, False),
                                       ("modified_after", modified, True),
                                       ("modified_before", modified, False)):
                if args.get(name):
                    bound = _seconds(args[name])
                    ids = [i for i in ids if (times[i - 1] > bound) == after and times[i - 1] != bound]
            sort = {"id": None, "date": lambda i: (created[i - 1], i),
                    "modified": lambda i: (modified[i - 1], i)}
            orderby, default_order = args.get("orderby", "date"), "desc"
        key = sort.get(orderby, None)
        if key is not None:
            ids = sorted(ids, key=key)
        if args.get("order", default_order) == "desc":
            ids = ids[::-1]
        self._listing[resource] = (cache_key, ids)
        return ids

    def _list(self, request: Request, resource: str) -> Response:
        args = dict(parse_qsl(urlparse(request.url).query))
        try:
            per_page = int(args.get("per_page", 10))
            page = int(args.get("page", 1))
        except ValueError:
            return error(400, "rest_invalid_param", "Invalid parameter(s): per_page, page")
        if not 1 <= per_page <= MAX_PER_PAGE:
            return error(400, "rest_invalid_param", "Invalid parameter(s): per_page",
                         params={"per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"})
        if page < 1:
            return error(400, "rest_invalid_param", "Invalid parameter(s): page",
                         params={"page": "page must be greater than or equal to 1"})
        ids = self._ids(resource, args)
        total = len(ids)
        pages = -(-total // per_page)
        if resource == "orders" and total and page > pages:
            return error(400, "rest_post_invalid_page_number",
                         "The page number requested is larger than the number of pages available.")
        chunk = ids[(page - 1) * per_page: page * per_page]
        render = self.store.order if resource == "orders" else self.store.customer
        body = [render(i) for i in chunk]
        base = {k: v for k, v in args.items() if not k.startswith(("oauth_", "consumer_"))}
        links = []
        if page > 1:
            links.append(f'<{self.url}{API}{resource}?{urlencode({**base, "page": page - 1})}>; rel="prev"')
        if page < pages:
            links.append(f'<{self.url}{API}{resource}?{urlencode({**base, "page": page + 1})}>; rel="next"')
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        if links:
            headers["Link"] = ", ".join(links)
        return ok(body, headers=headers)

    def _one(self, resource: str, raw_id: str) -> Response:
        rid = int(raw_id) if raw_id.isdigit() else 0
        if resource == "orders":
            if not self.store.has_order(rid):
                return error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
            return ok(self.store.order(rid))
        if not self.store.has_customer(rid):
            return error(404, "woocommerce_rest_invalid_id", "Invalid resource ID.")
        return ok(self.store.customer(rid))

    # -- writes ------------------------------------------------------------------------------

    def _json(self, request: Request) -> Any:
        try:
            return json.loads(request.get_data() or b"{}")
        except ValueError:
            return None

    def _customers_batch(self, request: Request) -> Response:
        body = self._json(request)
        if not isinstance(body, dict):
            return error(400, "rest_invalid_json", "Invalid JSON body passed.")
        items = sum(len(body.get(k) or ()) for k in ("create", "update", "delete"))
        if items > MAX_BATCH:
            return error(413, "woocommerce_rest_request_entity_too_large",
                         f"Unable to accept more than {MAX_BATCH} items for this request.")
        updated, touched = [], []
        for item in body.get("update") or ():
            cid = int(item.get("id") or 0)
            if not self.store.has_customer(cid):
                updated.append({"id": cid, "error": {"code": "woocommerce_rest_invalid_id",
                                                     "message": "Invalid resource ID.",
                                                     "data": {"status": 400}}})
                continue
            meta = {m["key"]: m.get("value") for m in item.get("meta_data") or () if m.get("key")}
            self.store.update_customer(cid, self.tick(), meta=meta)
            updated.append(self.store.customer(cid))
            touched.append(cid)
        for cid in touched:
            self._outbox.put(("customer.updated", cid))
        return ok({"update": updated})

    def _create_coupon(self, request: Request) -> Response:
        body = self._json(request)
        if not isinstance(body, dict) or not body.get("code"):
            return error(400, "woocommerce_rest_empty_coupon_code", "The coupon code cannot be empty.")
        code = str(body["code"]).strip().lower()
        if code in self.coupons:
            return error(400, "woocommerce_rest_coupon_code_already_exists",
                         "The coupon code already exists")
        kind = body.get("discount_type", "fixed_cart")
        if kind not in COUPON_TYPES:
            return error(400, "rest_invalid_param", "Invalid parameter(s): discount_type",
                         params={"discount_type": f"discount_type is not one of {', '.join(COUPON_TYPES)}."})
        for pid in body.get("product_ids") or ():
            if not 1 <= int(pid) <= 200:
                return error(400, "woocommerce_rest_invalid_product_id", f"Invalid product ID {pid}.")
        coupon = {
            "id": 50_000 + len(self.coupons) + 1, "code": code,
            "amount": f"{float(body.get('amount') or 0):.2f}", "discount_type": kind,
            "date_created_gmt": iso(self.tick()),
            "date_expires_gmt": body.get("date_expires_gmt") or body.get("date_expires"),
            "usage_count": 0,
            **{k: body.get(k, default) for k, default in (
                ("description", ""), ("individual_use", False), ("product_ids", []),
                ("usage_limit", None), ("usage_limit_per_user", None),
                ("limit_usage_to_x_items", None), ("free_shipping", False),
                ("minimum_amount", "0.00"), ("email_restrictions", []), ("meta_data", []))},
        }
        self.coupons[code] = coupon
        return ok(coupon, status=201)

    def _create_webhook(self, request: Request) -> Response:
        body = self._json(request) or {}
        topic = body.get("topic", "")
        resource, _, event = topic.partition(".")
        if resource not in ("order", "customer", "coupon", "product") or event not in (
                "created", "updated", "deleted", "restored"):
            return error(400, "woocommerce_rest_webhook_invalid_topic", "Webhook topic is invalid.")
        if not str(body.get("delivery_url", "")).startswith(("http://", "https://")):
            return error(400, "rest_invalid_param", "Invalid parameter(s): delivery_url")
        hook = Webhook(self._next_webhook, body.get("name", ""), topic, body["delivery_url"],
                       body.get("secret") or hashlib.sha256(b"1admin").hexdigest(),
                       body.get("status", "active"))
        self._next_webhook += 1
        self.webhooks[hook.id] = hook
        if hook.status == "active":
            threading.Thread(target=self._ping, args=(hook,), daemon=True).start()
        return ok(hook.json(), status=201)

    def _ping(self, hook: Webhook) -> None:
        """WooCommerce's ``deliver_ping``: a bare form POST, no signature or topic headers."""
        body = urlencode({"webhook_id": hook.id}).encode()
        try:
            status: int | None = requests.post(
                hook.delivery_url, data=body, timeout=10, allow_redirects=False,
                headers={"User-Agent": "WooCommerce/9.4.0 Hookshot (WordPress/6.7)",
                         "Content-Type": "application/x-www-form-urlencoded"},
            ).status_code
        except requests.RequestException:
            status = None
        self.deliveries.append({"webhook": hook.id, "topic": "ping", "status": status,
                                "body": body, "headers": {}})

    def _update_webhook(self, request: Request, raw_id: str) -> Response:
        hook = self.webhooks.get(int(raw_id) if raw_id.isdigit() else 0)
        if hook is None:
            return error(404, "woocommerce_rest_webhook_invalid_id", "Invalid ID.")
        body = self._json(request) or {}
        for name in ("status", "secret", "delivery_url", "name"):
            if name in body:
                setattr(hook, name, body[name])
        if body.get("status") == "active":
            hook.failure_count = 0
        return ok(hook.json())

    # -- app authorization -------------------------------------------------------------------

    def _authorize(self, request: Request) -> Response:
        args = request.args
        missing = [n for n in ("app_name", "scope", "user_id", "return_url", "callback_url")
                   if not args.get(n)]
        if missing:
            return Response(f"Missing parameter {missing[0]}", status=400)
        if args["scope"] not in ("read", "write", "read_write"):
            return Response("Invalid scope", status=400)
        callback = urlparse(args["callback_url"])
        if callback.scheme != "https" and callback.hostname not in ("127.0.0.1", "localhost"):
            return Response("The callback_url needs to be over SSL", status=400)
        key = self.issue_key(args["scope"])
        payload = {"key_id": len(self.keys), "user_id": args["user_id"],
                   "consumer_key": key.consumer_key, "consumer_secret": key.consumer_secret,
                   "key_permissions": key.permissions}
        try:
            answer = requests.post(args["callback_url"], json=payload, timeout=30)
            accepted = 200 <= answer.status_code < 300
        except requests.RequestException:
            accepted = False
        if not accepted:
            key.revoked = True  # WooCommerce deletes the key when the callback fails
            return Response("An error occurred in the request and at the time were unable to "
                            "send the consumer data", status=401)
        query = urlencode({"success": 1, "user_id": args["user_id"]})
        sep = "&" if "?" in args["return_url"] else "?"
        return Response(status=302, headers={"Location": f"{args['return_url']}{sep}{query}"})


def _seconds(value: str) -> int:
    """An ISO 8601 date from a query as seconds since the fake's START (site time is UTC)."""
    from datetime import UTC, datetime

    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int((parsed - START).total_seconds())
