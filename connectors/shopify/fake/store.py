"""The fake shop's data: a seeded, deterministic store kept in compact arrays.

A 100,000-customer / 500,000-order shop must start in a second or two and not hold a million
dicts, so the base data lives in ``array`` columns (drawn with numpy, and each customer's drawn
facts in one small tuple) and each customer/order is rendered into the GraphQL shape only when
asked (from its index and the seed, so the same seed always gives the same shop). Changes made by tests (``update_customer``, ``update_order``, ``add_order``) and by the
connector's mutations (metafields, tags, discounts) live in small overlays.

Distributions: a few customers place many orders (order owners drawn with a squared uniform),
~6% guest checkouts, 1–4 lines mostly (one order in 997 has 25 lines), skewed product
popularity, 85% paid, 4% refunded, 3% partially refunded, 3% cancelled, 5% pending.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
import zlib
from array import array
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np

SHOP_START = datetime(2023, 7, 1, tzinfo=UTC).timestamp()
SHOP_END = datetime(2026, 7, 1, tzinfo=UTC).timestamp()
CUSTOMER_BASE = 6_000_000_000
ORDER_BASE = 5_000_000_000
PRODUCT_BASE = 8_000_000_000
FIRST = ("Ayse", "Mehmet", "Emma", "Liam", "Olivia", "Noah", "Zeynep", "Can", "Mia", "Lucas",
         "Sofia", "Elif", "Yusuf", "Chloe", "Leo", "Ava", "Deniz", "Ella", "Omar", "Ines")
LAST = ("Yilmaz", "Kaya", "Smith", "Jones", "Brown", "Demir", "Garcia", "Martin", "Celik",
        "Muller", "Rossi", "Dubois", "Sahin", "Novak", "Silva", "Khan", "Lee", "Wilson")
TYPES = ("Apparel", "Shoes", "Accessories", "Beauty", "Home", "Gift Card")
TAGS = ("new", "sale", "organic", "bestseller", "limited", "vegan", "gift")
MARKETING = ("SUBSCRIBED", "NOT_SUBSCRIBED", "UNSUBSCRIBED", "PENDING", "INVALID")


_SPLITMIX = (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB)
_MASK = 0xFFFFFFFFFFFFFFFF


def _mix(*values: int) -> int:
    """A fast deterministic 64-bit hash (splitmix64 finaliser) of a few integers."""
    start, first, second = _SPLITMIX
    x = start
    for v in values:
        x = (x ^ (v & _MASK)) * first & _MASK
        x = (x ^ (x >> 27)) * second & _MASK
        x ^= x >> 31
    return x


def _unit(*values: int) -> float:
    return _mix(*values) / 2**64


def _mixes(seed: int, stream: int, count: int) -> np.ndarray:
    """``_mix(seed, stream, i)`` for i in 0..count-1, bit for bit (uint64 arithmetic wraps)."""
    _, first, second = _SPLITMIX
    x = np.full(count, _mix(seed, stream), dtype=np.uint64)
    x ^= np.arange(count, dtype=np.uint64)
    x *= np.uint64(first)
    x ^= x >> np.uint64(27)
    x *= np.uint64(second)
    x ^= x >> np.uint64(31)
    return x


def _units(seed: int, stream: int, count: int) -> np.ndarray:
    """``_unit(seed, stream, i)`` for i in 0..count-1, bit for bit."""
    return _mixes(seed, stream, count).astype(np.float64) / 2.0**64


def _column(kind: str, values: np.ndarray) -> array:
    """A numpy column as the ``array`` the store keeps (it grows with ``add_order``)."""
    column = array(kind)
    column.frombytes(values.astype("<f8" if kind == "d" else "<i8").tobytes())
    return column


def iso(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(round(timestamp)))


def money(amount: Decimal, currency: str) -> dict[str, Any]:
    bag = {"amount": str(amount), "currencyCode": currency}
    return {"shopMoney": bag, "presentmentMoney": bag}


class Store:
    """Customers, orders and products of one shop, plus everything written to it."""

    def __init__(self, *, seed: int = 1, customers: int = 100, orders: int = 300,
                 products: int = 120, currency: str = "USD") -> None:
        self.seed, self.currency = seed, currency
        self.lock = threading.RLock()
        self.products = [self._product(i) for i in range(products)]
        # What every line of a product shares, built once: a bulk export renders a million lines.
        self._line_parts = {
            p["id"]: ({k: p[k] for k in ("id", "title", "productType", "tags")},
                      money(p["price"], currency), f"SKU-{p['id'].rsplit('/', 1)[-1]}")
            for p in self.products
        }
        # The base columns are drawn for all rows at once (numpy): seeding 500,000 orders one
        # by one took longer than exporting customers.
        span = SHOP_END - SHOP_START
        c_created = SHOP_START + span * np.arange(customers) / max(customers, 1)
        c_updated = c_created + 86400 * 30 * _units(seed, 1, customers)
        owner = (customers * _units(seed, 2, orders) ** 2).astype(np.int64)
        owner[_units(seed, 3, orders) < 0.06] = -1  # guest checkout
        if not customers:
            owner[:] = -1
        o_created = SHOP_START + span * np.arange(orders) / max(orders, 1)
        known = owner >= 0
        o_created[known] = np.maximum(o_created[known], c_created[owner[known]])
        o_updated = o_created + 3600 * 72 * _units(seed, 4, orders)
        self.c_created, self.c_updated = _column("d", c_created), _column("d", c_updated)
        self._c_drawn = self._customer_draws(customers)
        self.o_customer = _column("q", owner)
        self.o_created, self.o_updated = _column("d", o_created), _column("d", o_updated)
        self.customer_patch: dict[int, dict[str, Any]] = {}
        self.order_patch: dict[int, dict[str, Any]] = {}
        self.touched_customers: dict[int, float] = {}
        self.touched_orders: dict[int, float] = {}
        self.metafields: dict[tuple[int, str, str], tuple[str, str]] = {}
        self.tags: dict[int, set[str]] = {}
        self.discounts: dict[str, dict[str, Any]] = {}
        self.webhooks: list[dict[str, Any]] = []
        self._clock = SHOP_END
        self._sorted: dict[str, tuple[array, array]] = {}

    # -- identity helpers -----------------------------------------------------------------

    @property
    def customer_count(self) -> int:
        return len(self.c_created)

    @property
    def order_count(self) -> int:
        return len(self.o_created)

    def customer_index(self, gid: str) -> int | None:
        try:
            index = int(gid.rsplit("/", 1)[-1]) - CUSTOMER_BASE
        except ValueError:
            return None
        return index if gid.startswith("gid://shopify/Customer/") and 0 <= index < self.customer_count else None

    def order_index(self, gid: str) -> int | None:
        try:
            index = int(gid.rsplit("/", 1)[-1]) - ORDER_BASE
        except ValueError:
            return None
        return index if gid.startswith("gid://shopify/Order/") and 0 <= index < self.order_count else None

    def product_exists(self, gid: str) -> bool:
        return any(p["id"] == gid for p in self.products)

    def now(self) -> float:
        """Wall-clock time, but strictly increasing, so every change sorts after the last."""
        with self.lock:
            self._clock = max(self._clock + 1e-3, time.time())
            return self._clock

    # -- rendering ------------------------------------------------------------------------

    def _product(self, i: int) -> dict[str, Any]:
        tags = [t for k, t in enumerate(TAGS) if _unit(self.seed, 5, i, k) < 0.25]
        return {
            "id": f"gid://shopify/Product/{PRODUCT_BASE + i}",
            "title": f"{TYPES[i % len(TYPES)]} item {i}",
            "productType": TYPES[i % len(TYPES)],
            "tags": tags,
            "price": Decimal(int(500 + 14500 * _unit(self.seed, 6, i) ** 2)) / 100,
        }

    def _customer_draws(self, count: int) -> list[tuple[str, str, str, bool, str | None]]:
        """(first name, last name, marketing state, has phone, birthday) of every customer,
        drawn at once: an export of orders renders each order's customer, half a million times.
        """
        seed = self.seed
        first = _mixes(seed, 7, count) % np.uint64(len(FIRST))
        last = _mixes(seed, 8, count) % np.uint64(len(LAST))
        state = np.searchsorted([0.45, 0.8, 0.93, 0.98], _units(seed, 9, count), side="right")
        phone = _units(seed, 10, count) < 0.4
        year = 1950 + _mixes(seed, 11, count) % np.uint64(55)
        month = 1 + _mixes(seed, 12, count) % np.uint64(12)
        day = 1 + _mixes(seed, 13, count) % np.uint64(28)
        has_birthday = _units(seed, 14, count) < 0.3
        return [
            (FIRST[f], LAST[la], MARKETING[st], p, f"{y}-{m:02d}-{d:02d}" if b else None)
            for f, la, st, p, y, m, d, b in zip(first.tolist(), last.tolist(), state.tolist(),
                                                phone.tolist(), year.tolist(), month.tolist(),
                                                day.tolist(), has_birthday.tolist())
        ]

    def customer(self, i: int) -> dict[str, Any]:
        first, last, state, phone, birthday = self._c_drawn[i]
        node = {
            "id": f"gid://shopify/Customer/{CUSTOMER_BASE + i}",
            "firstName": first,
            "lastName": last,
            "email": f"{first}.{last}.{i}@example.com".lower(),
            "phone": f"+1555{i:07d}" if phone else None,
            "marketingState": state,
            "createdAt": iso(self.c_created[i]),
            "updatedAt": iso(self.touched_customers.get(i, self.c_updated[i])),
            "birthday": birthday,
        }
        node.update(self.customer_patch.get(i, {}))
        return node

    def customer_node(self, i: int) -> dict[str, Any]:
        """A customer in the Admin API's shape (fields the resolvers may be asked for)."""
        c = self.customer(i)
        email = None if not c["email"] else {
            "emailAddress": c["email"],
            "marketingState": c["marketingState"],
            "marketingUpdatedAt": c["updatedAt"],
            "validFormat": True,
        }
        gid = c["id"]

        def metafield(_info: Any = None, *, key: str, namespace: str | None = None):
            return self.metafield(i, namespace or "", key, gid)

        return {
            "id": gid, "legacyResourceId": str(CUSTOMER_BASE + i),
            "firstName": c["firstName"], "lastName": c["lastName"],
            "displayName": f"{c['firstName']} {c['lastName']}",
            "createdAt": c["createdAt"], "updatedAt": c["updatedAt"],
            "defaultEmailAddress": email,
            "defaultPhoneNumber": {"phoneNumber": c["phone"]} if c["phone"] else None,
            "tags": sorted(self.tags.get(i, ())),
            "metafield": metafield,
        }

    def rest_customer(self, i: int) -> dict[str, Any]:
        """The customer as Shopify's ``customers/*`` webhooks carry it (REST resource shape)."""
        c = self.customer(i)
        return {
            "id": CUSTOMER_BASE + i, "email": c["email"], "first_name": c["firstName"],
            "last_name": c["lastName"], "phone": c["phone"], "state": "enabled",
            "created_at": c["createdAt"], "updated_at": c["updatedAt"],
            "tags": ", ".join(sorted(self.tags.get(i, ()))),
            "email_marketing_consent": {"state": c["marketingState"].lower(),
                                        "opt_in_level": "single_opt_in",
                                        "consent_updated_at": c["updatedAt"]},
        }

    def metafield(self, i: int, namespace: str, key: str, owner: str) -> dict[str, Any] | None:
        if (i, namespace, key) in self.metafields:
            kind, value = self.metafields[(i, namespace, key)]
        elif (namespace, key) == ("facts", "birth_date") and self.customer(i)["birthday"]:
            kind, value = "date", self.customer(i)["birthday"]
        else:
            return None
        return {"id": f"gid://shopify/Metafield/{_mix(i, zlib.crc32(namespace.encode()), zlib.crc32(key.encode())) % 10**12}",
                "namespace": namespace, "key": key, "type": kind, "value": value}

    def order(self, i: int) -> dict[str, Any]:
        """An order's facts (lines, money, status), deterministic from its index."""
        seed = self.seed
        count = 25 if i % 997 == 0 else 1 + min(int(-1.4 * _log(_unit(seed, 20, i))), 6)
        lines = []
        for n in range(count):
            product = self.products[int(len(self.products) * _unit(seed, 21, i, n) ** 1.7)]
            quantity = 1 + int(3 * _unit(seed, 22, i, n) ** 3)
            lines.append((product, quantity))
        subtotal = sum((p["price"] * q for p, q in lines), Decimal(0))
        discounted = _unit(seed, 23, i) < 0.15
        discount = (subtotal * Decimal("0.10")).quantize(Decimal("0.01")) if discounted else Decimal(0)
        shipping = Decimal(0) if subtotal >= 75 else Decimal("5.99")
        tax = ((subtotal - discount) * Decimal("0.08")).quantize(Decimal("0.01"))
        total = subtotal - discount + shipping + tax
        roll = _unit(seed, 24, i)
        financial, cancelled = "PAID", False
        if roll < 0.05:
            financial = "PENDING"
        elif roll < 0.09:
            financial = "REFUNDED"
        elif roll < 0.12:
            financial = "PARTIALLY_REFUNDED"
        elif roll < 0.15:
            financial, cancelled = "VOIDED", True
        updated = self.touched_orders.get(i, self.o_updated[i])
        facts = {
            "index": i, "lines": lines, "subtotal": subtotal, "discount": discount,
            "shipping": shipping, "tax": tax, "total": total,
            "codes": ["WELCOME10"] if discounted else [],
            "financial": financial,
            "fulfilled": financial in ("PAID", "PARTIALLY_REFUNDED") and _unit(seed, 25, i) < 0.7,
            "cancelledAt": iso(self.o_created[i] + 7200) if cancelled else None,
            "refunds": [],
            "customer": self.o_customer[i],
            "createdAt": iso(self.o_created[i]), "updatedAt": iso(updated),
        }
        if financial == "REFUNDED":
            facts["refunds"] = [(1, total, self.o_created[i] + 86400 * 5)]
        elif financial == "PARTIALLY_REFUNDED":
            product, quantity = lines[0]
            facts["refunds"] = [(1, min(total, product["price"]), self.o_created[i] + 86400 * 9)]
        facts.update(self.order_patch.get(i, {}))
        return facts

    def order_node(self, i: int) -> dict[str, Any]:
        f = self.order(i)
        cur = self.currency
        owner = f["customer"]
        customer = self.customer_node(owner) if owner >= 0 else None
        email = customer["defaultEmailAddress"]["emailAddress"] if customer and customer["defaultEmailAddress"] else (
            f"guest.{i}@example.net")
        line_nodes = []
        for n, (p, q) in enumerate(f["lines"]):
            product, price, sku = self._line_parts[p["id"]]
            line_nodes.append({
                "id": f"gid://shopify/LineItem/{ORDER_BASE * 3 + i * 100 + n}",
                "sku": sku, "title": product["title"], "quantity": q,
                "originalUnitPriceSet": price, "discountedUnitPriceSet": price,
                "product": product,
            })
        refunds = [
            {"id": f"gid://shopify/Refund/{ORDER_BASE * 2 + i * 10 + n}",
             "createdAt": iso(at), "totalRefundedSet": money(amount.quantize(Decimal("0.01")), cur)}
            for n, amount, at in f["refunds"]
        ]

        def line_items(_info: Any = None, **args: Any) -> dict[str, Any]:
            return paginate(line_nodes, args)

        return {
            "id": f"gid://shopify/Order/{ORDER_BASE + i}", "legacyResourceId": str(ORDER_BASE + i),
            "name": f"#{1001 + i}", "email": email,
            "createdAt": f["createdAt"], "processedAt": f["createdAt"], "updatedAt": f["updatedAt"],
            "cancelledAt": f["cancelledAt"], "closed": False, "test": False,
            "currencyCode": cur,
            "displayFinancialStatus": f["financial"],
            "displayFulfillmentStatus": "FULFILLED" if f["fulfilled"] else "UNFULFILLED",
            "discountCodes": list(f["codes"]),
            "subtotalPriceSet": money(f["subtotal"] - f["discount"], cur),
            "totalDiscountsSet": money(f["discount"], cur),
            "totalShippingPriceSet": money(f["shipping"], cur),
            "totalTaxSet": money(f["tax"], cur),
            "totalPriceSet": money(f["total"], cur),
            "customer": customer,
            "refunds": refunds,
            "lineItems": line_items,
        }

    # -- listing by updated_at ------------------------------------------------------------

    def _base_order(self, kind: str) -> tuple[array, array]:
        """Base (untouched) indices sorted by (updated_at, index), built once."""
        if kind not in self._sorted:
            updated = self.c_updated if kind == "customers" else self.o_updated
            order = sorted(range(len(updated)), key=updated.__getitem__)
            self._sorted[kind] = (array("q", order), array("d", (updated[i] for i in order)))
        return self._sorted[kind]

    def updated_since(self, kind: str, since: float, after: tuple[float, int] | None
                      ) -> Iterator[tuple[float, int]]:
        """(updated_at, index) with updated_at > since and after the cursor key, ascending."""
        with self.lock:
            touched = dict(self.touched_customers if kind == "customers" else self.touched_orders)
        indices, stamps = self._base_order(kind)
        start = bisect.bisect_right(stamps, since)
        if after is not None:
            start = max(start, bisect.bisect_left(stamps, after[0]))
        for pos in range(start, len(indices)):
            key = (stamps[pos], indices[pos])
            if key[1] in touched or (after is not None and key <= after):
                continue
            yield key
        for index, stamp in sorted(touched.items(), key=lambda kv: (kv[1], kv[0])):
            if stamp > since and (after is None or (stamp, index) > after):
                yield stamp, index

    # -- changes --------------------------------------------------------------------------

    def update_customer(self, i: int, **changes: Any) -> None:
        with self.lock:
            self.customer_patch.setdefault(i, {}).update(changes)
            self.touched_customers[i] = self.now()

    def touch_customer(self, i: int) -> None:
        with self.lock:
            self.touched_customers[i] = self.now()

    def update_order(self, i: int, **changes: Any) -> None:
        with self.lock:
            self.order_patch.setdefault(i, {}).update(changes)
            self.touched_orders[i] = self.now()

    def add_order(self, customer: int, lines: int = 2) -> int:
        """A new paid order placed now by ``customer``; returns its index."""
        with self.lock:
            index = self.order_count
            now = self.now()
            self.o_customer.append(customer)
            self.o_created.append(now)
            self.o_updated.append(now)
            self.touched_orders[index] = now
            self.order_patch[index] = {"financial": "PAID", "cancelledAt": None, "refunds": [],
                                       "fulfilled": False}
            self._sorted.pop("orders", None)
            return index


def _log(x: float) -> float:
    return math.log(max(x, 1e-12))


def paginate(items: list[Any], args: dict[str, Any]) -> dict[str, Any]:
    """A connection over an in-memory list (line items), with index cursors."""
    start = int(args["after"]) + 1 if args.get("after") else 0
    first = args.get("first")
    end = len(items) if first is None else min(len(items), start + first)
    chunk = items[start:end]
    return {
        "nodes": chunk,
        "edges": [{"node": n, "cursor": str(start + k)} for k, n in enumerate(chunk)],
        "pageInfo": {"hasNextPage": end < len(items), "hasPreviousPage": start > 0,
                     "startCursor": str(start) if chunk else None,
                     "endCursor": str(end - 1) if chunk else None},
    }
