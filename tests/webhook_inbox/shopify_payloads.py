"""Shopify webhook bodies shaped like the examples in Shopify's webhook reference (REST order,
refund and customer resources; the compliance payloads of the privacy-law webhooks), with the
ids, amounts and states a test needs filled in. Field names and nesting follow the documented
examples; values are ours."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def customer(
    customer_id: int,
    email: str | None,
    *,
    state: str = "enabled",
    consent: str = "subscribed",
    updated_at: str = "2026-11-01T10:00:00-05:00",
) -> dict[str, Any]:
    return {
        "id": customer_id,
        "email": email,
        "created_at": "2026-11-01T09:00:00-05:00",
        "updated_at": updated_at,
        "first_name": "Bob",
        "last_name": "Norman",
        "orders_count": 0,
        "state": state,
        "total_spent": "0.00",
        "last_order_id": None,
        "note": None,
        "verified_email": True,
        "multipass_identifier": None,
        "tax_exempt": False,
        "tags": "",
        "last_order_name": None,
        "currency": "USD",
        "phone": "+16136120707",
        "addresses": [],
        "tax_exemptions": [],
        "email_marketing_consent": {
            "state": consent,
            "opt_in_level": "single_opt_in",
            "consent_updated_at": "2026-11-01T09:00:00-05:00",
        },
        "sms_marketing_consent": None,
        "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
        "default_address": None,
    }


def refund(
    refund_id: int, order_id: int, amount: Decimal | str, *, created_at: str = "2026-11-03T12:00:00-05:00",
    currency: str = "USD",
) -> dict[str, Any]:
    return {
        "id": refund_id,
        "order_id": order_id,
        "created_at": created_at,
        "note": "Things were damaged",
        "user_id": 548380009,
        "processed_at": created_at,
        "restock": False,
        "duties": [],
        "total_duties_set": {
            "shop_money": {"amount": "0.00", "currency_code": currency},
            "presentment_money": {"amount": "0.00", "currency_code": currency},
        },
        "return": None,
        "admin_graphql_api_id": f"gid://shopify/Refund/{refund_id}",
        "refund_line_items": [],
        "transactions": [
            {
                "id": refund_id * 10 + 1,
                "order_id": order_id,
                "kind": "refund",
                "gateway": "bogus",
                "status": "success",
                "message": "Bogus Gateway: Forced success",
                "created_at": created_at,
                "test": True,
                "authorization": None,
                "location_id": None,
                "user_id": None,
                "parent_id": order_id * 10,
                "processed_at": created_at,
                "device_id": None,
                "error_code": None,
                "source_name": "web",
                "receipt": {},
                "amount": str(amount),
                "currency": currency,
                "payment_id": f"c{order_id}.2",
                "total_unsettled_set": {
                    "presentment_money": {"amount": "0.0", "currency": currency},
                    "shop_money": {"amount": "0.0", "currency": currency},
                },
                "manual_payment_gateway": False,
                "admin_graphql_api_id": f"gid://shopify/OrderTransaction/{refund_id * 10 + 1}",
            }
        ],
        "order_adjustments": [],
    }


def _money_set(amount: str, currency: str) -> dict[str, Any]:
    return {
        "shop_money": {"amount": amount, "currency_code": currency},
        "presentment_money": {"amount": amount, "currency_code": currency},
    }


def order(
    order_id: int,
    *,
    customer_payload: dict[str, Any] | None,
    email: str | None = None,
    lines_total: Decimal | str = "199.00",
    discount: Decimal | str = "0.00",
    shipping: Decimal | str = "10.00",
    tax: Decimal | str = "0.00",
    financial_status: str = "paid",
    fulfillment_status: str | None = None,
    cancelled_at: str | None = None,
    refunds: list[dict[str, Any]] | None = None,
    discount_codes: list[str] = (),
    created_at: str = "2026-11-02T10:00:00-05:00",
    updated_at: str = "2026-11-02T10:00:00-05:00",
    currency: str = "USD",
) -> dict[str, Any]:
    lines_total, discount = Decimal(str(lines_total)), Decimal(str(discount))
    shipping, tax = Decimal(str(shipping)), Decimal(str(tax))
    subtotal = lines_total - discount
    total = subtotal + shipping + tax
    email = email if email is not None else (customer_payload or {}).get("email")
    return {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "app_id": None,
        "browser_ip": None,
        "buyer_accepts_marketing": True,
        "cancel_reason": "customer" if cancelled_at else None,
        "cancelled_at": cancelled_at,
        "cart_token": None,
        "checkout_id": None,
        "checkout_token": None,
        "closed_at": None,
        "confirmation_number": None,
        "confirmed": True,
        "contact_email": email,
        "created_at": created_at,
        "currency": currency,
        "current_subtotal_price": str(subtotal),
        "current_total_discounts": str(discount),
        "current_total_price": str(total),
        "current_total_tax": str(tax),
        "customer_locale": "en",
        "discount_codes": [
            {"code": code, "amount": str(discount), "type": "fixed_amount"} for code in discount_codes
        ],
        "email": email,
        "estimated_taxes": False,
        "financial_status": financial_status,
        "fulfillment_status": fulfillment_status,
        "landing_site": None,
        "name": f"#{order_id % 100000}",
        "note": None,
        "note_attributes": [],
        "number": order_id % 100000,
        "order_number": 1000 + order_id % 100000,
        "payment_gateway_names": ["visa", "bogus"],
        "phone": None,
        "presentment_currency": currency,
        "processed_at": created_at,
        "source_name": "web",
        "subtotal_price": str(subtotal),
        "subtotal_price_set": _money_set(str(subtotal), currency),
        "tags": "tag1, tag2",
        "taxes_included": False,
        "test": True,
        "total_discounts": str(discount),
        "total_discounts_set": _money_set(str(discount), currency),
        "total_line_items_price": str(lines_total),
        "total_line_items_price_set": _money_set(str(lines_total), currency),
        "total_price": str(total),
        "total_price_set": _money_set(str(total), currency),
        "total_shipping_price_set": _money_set(str(shipping), currency),
        "total_tax": str(tax),
        "total_tax_set": _money_set(str(tax), currency),
        "total_weight": 0,
        "updated_at": updated_at,
        "user_id": None,
        "billing_address": None,
        "customer": customer_payload,
        "discount_applications": [],
        "fulfillments": [],
        "line_items": [
            {
                "id": order_id * 10 + 1,
                "admin_graphql_api_id": f"gid://shopify/LineItem/{order_id * 10 + 1}",
                "fulfillable_quantity": 1,
                "fulfillment_service": "manual",
                "fulfillment_status": None,
                "gift_card": False,
                "grams": 100,
                "name": "IPod Nano - 8GB",
                "price": str(lines_total),
                "price_set": _money_set(str(lines_total), currency),
                "product_exists": True,
                "product_id": 632910392,
                "properties": [],
                "quantity": 1,
                "requires_shipping": True,
                "sku": "IPOD2008PINK",
                "taxable": True,
                "title": "IPod Nano - 8GB",
                "total_discount": "0.00",
                "variant_id": 808950810,
                "variant_title": "Pink",
                "vendor": None,
                "tax_lines": [],
                "discount_allocations": [],
            }
        ],
        "payment_terms": None,
        "refunds": refunds or [],
        "shipping_address": None,
        "shipping_lines": [
            {
                "id": order_id * 10 + 2,
                "code": "Standard",
                "price": str(shipping),
                "price_set": _money_set(str(shipping), currency),
                "source": "shopify",
                "title": "Standard",
                "tax_lines": [],
            }
        ],
    }


def customers_redact(shop_domain: str, customer_id: int, email: str) -> dict[str, Any]:
    return {
        "shop_id": 954889,
        "shop_domain": shop_domain,
        "customer": {"id": customer_id, "email": email, "phone": "555-625-1199"},
        "orders_to_redact": [299938, 280263, 220458],
    }


def customers_data_request(shop_domain: str, customer_id: int, email: str, request_id: int) -> dict[str, Any]:
    return {
        "shop_id": 954889,
        "shop_domain": shop_domain,
        "orders_requested": [299938, 280263, 220458],
        "customer": {"id": customer_id, "email": email, "phone": "555-625-1199"},
        "data_request": {"id": request_id},
    }


def shop_redact(shop_domain: str) -> dict[str, Any]:
    return {"shop_id": 954889, "shop_domain": shop_domain}


def app_uninstalled(shop_domain: str) -> dict[str, Any]:
    """The shop resource, as ``app/uninstalled`` delivers it (abridged)."""
    return {
        "id": 548380009,
        "name": "Super Toys",
        "email": "super@supertoys.com",
        "domain": None,
        "myshopify_domain": shop_domain,
        "currency": "USD",
        "plan_name": "enterprise",
    }
