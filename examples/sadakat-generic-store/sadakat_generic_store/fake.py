"""A fake Generic Store: a real HTTP server on 127.0.0.1 speaking the API documented in ``README.md``.

Used by the tests, and by anyone trying the connector without a store::

    with FakeGenericStore(seed=7, customers=40, orders=60) as fake:
        fake.url                      # http://127.0.0.1:<port>
        fake.rate_limit(retry_after=1)  # the next request answers 429 with Retry-After: 1
        fake.fail(times=2)            # the next two requests answer 500
        fake.requests                 # (method, path, status) of every call
        fake.send_webhook(receiver_url, "order.updated", fake.order(3))

Data is deterministic for a seed. Records are kept in (updated_at, id) order so keyset paging
is a bisect, not a scan.
"""

from __future__ import annotations

import bisect
import json
import random
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import requests
from flask import Flask, Response, jsonify, request

from connectors.sdk.fakes import FakePlatform
from sadakat_generic_store.signing import new_secret, sign

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
MAX_LIMIT = 100
MAX_UPDATES = 100
FIRST = ["Ada", "Ben", "Cem", "Deniz", "Eva", "Femi", "Gül", "Hana", "Ivo", "Jia"]
LAST = ["Kaya", "Lund", "Mora", "Nakamura", "Okafor", "Petit", "Quist", "Rossi", "Silva", "Tan"]


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Table:
    """Rows of one resource ordered by (updated_at, id), which is also the cursor order."""

    rows: dict[int, dict[str, Any]]
    order: list[tuple[str, int]]

    @classmethod
    def of(cls, rows: list[dict[str, Any]]) -> _Table:
        table = cls({row["id"]: row for row in rows}, [])
        table.order = sorted((row["updated_at"], row["id"]) for row in rows)
        return table

    def upsert(self, row: dict[str, Any]) -> None:
        old = self.rows.get(row["id"])
        if old is not None:
            self.order.remove((old["updated_at"], old["id"]))
        self.rows[row["id"]] = row
        bisect.insort(self.order, (row["updated_at"], row["id"]))

    def page(self, after: tuple[str, int] | None, limit: int) -> tuple[list[dict[str, Any]], bool]:
        start = bisect.bisect_right(self.order, after) if after else 0
        keys = self.order[start:start + limit]
        return [self.rows[k[1]] for k in keys], start + limit < len(self.order)


def parse_cursor(value: str) -> tuple[str, int]:
    stamp, _, ident = value.partition("|")
    if not stamp or not ident.isdigit():
        raise ValueError(value)
    return stamp, int(ident)


class FakeGenericStore(FakePlatform):
    name = "fake_generic_store"

    def __init__(self, *, seed: int = 1, customers: int = 30, orders: int = 45,
                 api_key: str = "gs_test_key_0001", webhook_secret: str | None = None,
                 currency: str = "EUR") -> None:
        self.api_key = api_key
        self.webhook_secret = webhook_secret or new_secret()
        self.currency = currency
        self.attributes: dict[int, dict[str, Any]] = {}  # what pushes wrote, by customer id
        self._clock = EPOCH
        self._lock = threading.Lock()
        rng = random.Random(seed)
        self.customers = _Table.of([self._new_customer(rng, i) for i in range(1, customers + 1)])
        self.orders = _Table.of([self._new_order(rng, i, customers) for i in range(1, orders + 1)])
        super().__init__()

    # -- seeded data -------------------------------------------------------------------------

    def _tick(self) -> str:
        self._clock += timedelta(seconds=1)
        return iso(self._clock)

    def _new_customer(self, rng: random.Random, i: int) -> dict[str, Any]:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        created = self._tick()
        return {
            "id": i, "email": f"{first}.{last}.{i}@example.com".lower(), "first_name": first,
            "last_name": last, "accepts_marketing": rng.random() < 0.6,
            "created_at": created, "updated_at": created,
        }

    def _new_order(self, rng: random.Random, i: int, customers: int) -> dict[str, Any]:
        lines = [
            {"sku": f"SKU-{rng.randint(1, 40):03d}", "title": "Item", "quantity": rng.randint(1, 3),
             "price": f"{rng.randint(5, 80)}.{rng.choice(['00', '50', '95'])}"}
            for _ in range(rng.randint(1, 3))
        ]
        subtotal = sum(Decimal(line["price"]) * line["quantity"] for line in lines)
        shipping = Decimal("4.90") if subtotal < 50 else Decimal(0)
        customer = self.customers.rows[rng.randint(1, customers)] if customers and rng.random() < 0.9 else None
        created = self._tick()
        return {
            "id": i, "number": str(1000 + i),
            "customer": {k: customer[k] for k in ("id", "email", "first_name", "last_name")} if customer else None,
            "email": customer["email"] if customer else f"guest{i}@example.com",
            "currency": self.currency,
            "status": rng.choices(["paid", "completed", "pending", "cancelled"], [60, 25, 10, 5])[0],
            "subtotal": str(subtotal), "shipping": str(shipping), "tax": "0.00", "discount": "0.00",
            "total": str(subtotal + shipping), "created_at": created, "updated_at": created,
            "lines": lines, "refunds": [],
        }

    def customer(self, ident: int) -> dict[str, Any]:
        return self.customers.rows[ident]

    def order(self, ident: int) -> dict[str, Any]:
        return self.orders.rows[ident]

    def update_order(self, ident: int, **changes: Any) -> dict[str, Any]:
        """Change an order as the merchant would; it moves to the end of the sync order."""
        with self._lock:
            row = {**self.orders.rows[ident], **changes, "updated_at": self._tick()}
            self.orders.upsert(row)
        return row

    def update_customer(self, ident: int, **changes: Any) -> dict[str, Any]:
        with self._lock:
            row = {**self.customers.rows[ident], **changes, "updated_at": self._tick()}
            self.customers.upsert(row)
        return row

    # -- webhooks ----------------------------------------------------------------------------

    def signed_delivery(self, event_type: str, data: dict[str, Any], *, msg_id: str | None = None,
                        timestamp: int | None = None) -> tuple[dict[str, str], bytes]:
        """Headers and body of a Standard Webhooks delivery, as the store would send it."""
        body = json.dumps({"type": event_type, "timestamp": iso(datetime.now(UTC)), "data": data}).encode()
        headers = sign(self.webhook_secret, msg_id or f"msg_{uuid.uuid4().hex}", body, timestamp)
        return {**headers, "content-type": "application/json"}, body

    def send_webhook(self, url: str, event_type: str, data: dict[str, Any]) -> requests.Response:
        headers, body = self.signed_delivery(event_type, data)
        return requests.post(url, data=body, headers=headers, timeout=10)

    # -- HTTP --------------------------------------------------------------------------------

    def authorized(self) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.api_key}"

    def routes(self, app: Flask) -> None:
        error = self.refuse

        @app.get("/v1/ping")
        def ping() -> Response:
            return jsonify({"ok": True})

        def listing(table: _Table) -> Response:
            try:
                limit = int(request.args.get("limit", 50))
                after = parse_cursor(request.args["after"]) if request.args.get("after") else None
            except ValueError:
                return error(400, "bad_request", "limit must be a number and after a cursor")
            if not 1 <= limit <= MAX_LIMIT:
                return error(400, "bad_request", f"limit must be between 1 and {MAX_LIMIT}")
            with self._lock:
                rows, more = table.page(after, limit)
            last = (rows[-1]["updated_at"], rows[-1]["id"]) if rows else after
            return jsonify({"data": rows, "has_more": more,
                            "next": f"{last[0]}|{last[1]}" if last else None})

        @app.get("/v1/customers")
        def customers() -> Response:
            return listing(self.customers)

        @app.get("/v1/orders")
        def orders() -> Response:
            return listing(self.orders)

        @app.post("/v1/customers/attributes")
        def attributes() -> Response:
            updates = (request.get_json(silent=True) or {}).get("updates")
            if not isinstance(updates, list) or not updates:
                return error(400, "bad_request", "updates must be a non-empty list")
            if len(updates) > MAX_UPDATES:
                return error(400, "too_many", f"at most {MAX_UPDATES} updates per call")
            errors = []
            for update in updates:
                ident = update.get("customer_id")
                if ident not in self.customers.rows:
                    errors.append({"customer_id": ident, "message": "no such customer"})
                    continue
                self.attributes.setdefault(ident, {}).update(update.get("attributes") or {})
            return jsonify({"updated": len(updates) - len(errors), "errors": errors})
