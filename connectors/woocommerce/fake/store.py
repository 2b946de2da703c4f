"""The fake store's data: seeded, deterministic, compact enough for 200,000 orders.

Customers and orders live as a few parallel arrays (dates, status, buyer); the JSON of one
resource is generated on demand from a per-resource seeded RNG, plus whatever the tests changed
(``overrides``). Building 250k dicts up front would take seconds and hundreds of MB; this takes
well under a second.
"""

from __future__ import annotations

import bisect
import random
from array import array
from datetime import UTC, datetime, timedelta
from typing import Any

START = datetime(2025, 1, 1, tzinfo=UTC)
EPOCH = int(START.timestamp())

STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed")
# Roughly what a small store's order table looks like.
STATUS_WEIGHTS = (3, 12, 2, 70, 5, 3, 5)
FIRST = ("Ada", "Ben", "Cem", "Dana", "Eli", "Fatma", "Gus", "Hana", "Ivo", "Jin", "Kaya", "Lea")
LAST = ("Aksoy", "Brown", "Costa", "Demir", "Evans", "Fischer", "Garcia", "Hill", "Ito", "Jones")
PRODUCTS = tuple(
    (pid, f"Product {pid}", f"SKU-{pid:04d}", 500 + (pid * 733) % 9500) for pid in range(1, 201)
)


def iso(ts: int) -> str:
    """Seconds since ``START`` as WooCommerce prints dates: no offset, second precision."""
    return (START + timedelta(seconds=ts)).strftime("%Y-%m-%dT%H:%M:%S")


def cents(value: int) -> str:
    return f"{value // 100}.{value % 100:02d}"


class Store:
    """Customers and orders of one fake site. Times are seconds since ``START`` (site in UTC)."""

    def __init__(self, *, seed: int, customers: int, orders: int, currency: str = "EUR") -> None:
        self.seed = seed
        self.currency = currency
        rng = random.Random(seed)
        span = 540 * 86400  # a year and a half of history
        self.c_created = array("l", sorted(rng.randrange(span) for _ in range(customers)))
        self.c_modified = array("l", (t + rng.randrange(3600) for t in self.c_created))
        self.c_overrides: dict[int, dict[str, Any]] = {}
        self.c_deleted: set[int] = set()
        guests = max(1, orders // 8)
        self.o_created = array("l", sorted(rng.randrange(span) for _ in range(orders)))
        self.o_modified = array("l", (t + rng.randrange(1, 7200) for t in self.o_created))
        self.o_status = bytearray(rng.choices(range(len(STATUSES)), STATUS_WEIGHTS, k=orders))
        buyers = array("l")
        for created in self.o_created:
            # A quarter of orders are by guests (negative: guest number); the rest by customers
            # who had registered by then.
            registered = bisect.bisect_right(self.c_created, created)
            if registered == 0 or rng.random() < 0.25:
                buyers.append(-(1 + rng.randrange(guests)))
            else:
                buyers.append(1 + rng.randrange(registered))
        self.o_buyer = buyers
        self.o_refunds: dict[int, list[dict[str, Any]]] = {}
        self.o_deleted: set[int] = set()
        self.o_patches: dict[int, dict[str, Any]] = {}  # fields served as given (plugin damage)
        self.next_refund_id = 10_000_000
        self.version = 0  # bumped on every change, so cached listings are rebuilt

    # -- customers ---------------------------------------------------------------------------

    def customer_ids(self) -> list[int]:
        return [i for i in range(1, len(self.c_created) + 1) if i not in self.c_deleted]

    def has_customer(self, cid: int) -> bool:
        return 1 <= cid <= len(self.c_created) and cid not in self.c_deleted

    def customer_email(self, cid: int) -> str:
        return self.c_overrides.get(cid, {}).get("email") or f"customer{cid}@example.com"

    def customer(self, cid: int) -> dict[str, Any]:
        rng = random.Random(self.seed * 1_000_003 + cid)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        over = self.c_overrides.get(cid, {})
        email = self.customer_email(cid)
        meta = [{"id": 100 + n, "key": k, "value": v}
                for n, (k, v) in enumerate(over.get("meta", {}).items())]
        if rng.random() < 0.3:
            meta.append({"id": 99, "key": "birthday",
                         "value": f"19{rng.randint(60, 99)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"})
        created, modified = iso(self.c_created[cid - 1]), iso(self.c_modified[cid - 1])
        billing = {
            "first_name": first, "last_name": last, "company": "", "address_1": f"{cid} Main St",
            "address_2": "", "city": "Springfield", "state": "", "postcode": "12345",
            "country": "DE", "email": email, "phone": f"+49 30 {cid:07d}",
        }
        return {
            "id": cid, "date_created": created, "date_created_gmt": created,
            "date_modified": modified, "date_modified_gmt": modified, "email": email,
            "first_name": over.get("first_name", first), "last_name": last, "role": "customer",
            "username": email.split("@")[0], "billing": billing,
            "shipping": {k: v for k, v in billing.items() if k not in ("email", "phone")},
            "is_paying_customer": True, "avatar_url": "", "meta_data": meta,
        }

    def add_customer(self, email: str, first_name: str, now: int) -> int:
        self.c_created.append(now)
        self.c_modified.append(now)
        cid = len(self.c_created)
        self.c_overrides[cid] = {"email": email, "first_name": first_name}
        self.version += 1
        return cid

    def update_customer(self, cid: int, now: int, **changes: Any) -> None:
        over = self.c_overrides.setdefault(cid, {})
        meta = changes.pop("meta", None)
        if meta:
            over.setdefault("meta", {}).update(meta)
        over.update(changes)
        self.c_modified[cid - 1] = now
        self.version += 1

    # -- orders ------------------------------------------------------------------------------

    def order_ids(self) -> list[int]:
        return [i for i in range(1, len(self.o_created) + 1) if i not in self.o_deleted]

    def has_order(self, oid: int) -> bool:
        return 1 <= oid <= len(self.o_created) and oid not in self.o_deleted

    def order(self, oid: int) -> dict[str, Any]:
        rng = random.Random(self.seed * 2_000_003 + oid)
        buyer = self.o_buyer[oid - 1]
        status = STATUSES[self.o_status[oid - 1]]
        lines, subtotal = [], 0
        for n in range(1 + int(rng.random() ** 2 * 4)):
            pid, name, sku, price = rng.choice(PRODUCTS)
            qty = 1 + int(rng.random() ** 3 * 3)
            lines.append({
                "id": oid * 10 + n, "name": name, "product_id": pid, "variation_id": 0,
                "quantity": qty, "tax_class": "", "subtotal": cents(price * qty),
                "subtotal_tax": "0.00", "total": cents(price * qty), "total_tax": "0.00",
                "taxes": [], "meta_data": [], "sku": sku, "price": price / 100,
            })
            subtotal += price * qty
        coupons, discount = [], 0
        if rng.random() < 0.1:
            discount = subtotal // 10
            coupons.append({"id": oid * 10, "code": "welcome10", "discount": cents(discount),
                            "discount_tax": "0.00", "meta_data": []})
        shipping = 490 if subtotal < 5000 else 0
        tax = (subtotal - discount) * 19 // 100
        total = subtotal - discount + shipping + tax
        refunds = [{"id": r["id"], "reason": r["reason"], "total": f"-{cents(r['cents'])}"}
                   for r in self.o_refunds.get(oid, ())]
        if not refunds and status == "refunded":
            refunds = [{"id": 20_000_000 + oid, "reason": "", "total": f"-{cents(total)}"}]
        elif not refunds and status == "completed" and rng.random() < 0.04:
            refunds = [{"id": 30_000_000 + oid, "reason": "damaged", "total": f"-{cents(total // 3)}"}]
        if buyer > 0:
            cid, email = buyer, self.customer_email(buyer)
            first = random.Random(self.seed * 1_000_003 + cid).choice(FIRST)
        else:
            cid, email, first = 0, f"guest{-buyer}@example.net", FIRST[-buyer % len(FIRST)]
        created, modified = iso(self.o_created[oid - 1]), iso(self.o_modified[oid - 1])
        paid = status in ("processing", "completed", "refunded")
        data = {
            "id": oid, "parent_id": 0, "number": str(oid), "order_key": f"wc_order_{oid:08x}",
            "created_via": "checkout", "version": "9.4.0", "status": status,
            "currency": self.currency, "date_created": created, "date_created_gmt": created,
            "date_modified": modified, "date_modified_gmt": modified,
            "discount_total": cents(discount), "discount_tax": "0.00",
            "shipping_total": cents(shipping), "shipping_tax": "0.00", "cart_tax": cents(tax),
            "total": cents(total), "total_tax": cents(tax), "prices_include_tax": False,
            "customer_id": cid, "customer_note": "",
            "billing": {"first_name": first, "last_name": "", "email": email, "phone": "",
                        "country": "DE", "city": "Springfield"},
            "shipping": {"first_name": first, "last_name": "", "country": "DE"},
            "payment_method": "stripe", "payment_method_title": "Credit card",
            "date_paid": created if paid else None, "date_paid_gmt": created if paid else None,
            "date_completed": modified if status == "completed" else None,
            "date_completed_gmt": modified if status == "completed" else None,
            "meta_data": [], "line_items": lines, "tax_lines": [], "shipping_lines": [],
            "fee_lines": [], "coupon_lines": coupons, "refunds": refunds,
        }
        return data | self.o_patches.get(oid, {})

    def add_order(self, buyer: int, status: str, now: int) -> int:
        """``buyer``: a customer id, or minus a guest number."""
        self.o_created.append(now)
        self.o_modified.append(now)
        self.o_status.append(STATUSES.index(status))
        self.o_buyer.append(buyer)
        self.version += 1
        return len(self.o_created)

    def set_status(self, oid: int, status: str, now: int) -> None:
        self.o_status[oid - 1] = STATUSES.index(status)
        self.o_modified[oid - 1] = now
        self.version += 1

    def add_refund(self, oid: int, amount_cents: int, now: int, reason: str = "") -> int:
        existing = self.order(oid)["refunds"]
        refunds = self.o_refunds.setdefault(oid, [
            {"id": r["id"], "reason": r["reason"], "cents": round(float(r["total"][1:]) * 100)}
            for r in existing
        ])
        self.next_refund_id += 1
        refunds.append({"id": self.next_refund_id, "reason": reason, "cents": amount_cents})
        self.o_modified[oid - 1] = now
        self.version += 1
        return self.next_refund_id

    def delete_order(self, oid: int) -> None:
        self.o_deleted.add(oid)
        self.version += 1

