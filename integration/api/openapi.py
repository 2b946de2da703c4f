"""The OpenAPI 3 description of ``/api/v1``, served at ``/api/v1/openapi.json`` and checked
against the running API by schemathesis in the tests."""

from __future__ import annotations

from typing import Any


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "401": _json(_ref("Error"), "Missing, invalid or revoked token"),
    "403": _json(_ref("Error"), "The token lacks the scope"),
}
NOT_FOUND = {"404": _json(_ref("Error"), "No such row in this account")}
CUSTOMER_ID = {"name": "customer_id", "in": "path", "required": True,
               "schema": {"type": "integer", "minimum": 1}}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "string"}, "message": {"type": "string"}}}},
    },
    "Customer": {
        "type": "object",
        "required": ["id", "points_balance", "pending_points", "points_expiring"],
        "properties": {
            "id": {"type": "integer"},
            "email": {"type": "string", "nullable": True},
            "first_name": {"type": "string"},
            "last_name": {"type": "string"},
            "points_balance": {"type": "integer", "description": "Available to redeem now"},
            "pending_points": {"type": "integer", "description": "Inside the return window"},
            "tier": {"type": "string", "nullable": True},
            "next_tier": {"type": "string", "nullable": True},
            "to_next_tier": {"type": "string", "nullable": True,
                             "description": "Spend or points still needed (per tier_basis)"},
            "tier_basis": {"type": "string", "enum": ["spend", "points"]},
            "points_expiring": {"type": "integer"},
            "points_expiring_at": {"type": "string", "format": "date", "nullable": True},
            "referral_code": {"type": "string", "nullable": True},
        },
    },
    "Entry": {
        "type": "object", "required": ["amount", "kind", "created_at"],
        "properties": {
            "id": {"type": "integer", "nullable": True}, "amount": {"type": "integer"},
            "kind": {"type": "string"}, "reason": {"type": "string"}, "source": {"type": "string"},
            "actor": {"type": "string"}, "shortfall": {"type": "integer"},
            "created_at": {"type": "string", "format": "date-time"},
            "available_at": {"type": "string", "format": "date-time"},
        },
    },
    "Reward": {
        "type": "object", "required": ["id", "name", "kind", "points_cost"],
        "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"},
            "kind": {"type": "string", "enum": ["fixed_amount", "percent", "free_shipping", "free_product"]},
            "points_cost": {"type": "integer"}, "value": {"type": "string"},
            "product_id": {"type": "string", "nullable": True}, "min_order": {"type": "string"},
            "valid_days": {"type": "integer"},
        },
    },
    "Redemption": {
        "type": "object", "required": ["id", "reward_id", "points", "status"],
        "properties": {
            "id": {"type": "integer"}, "reward_id": {"type": "integer"}, "points": {"type": "integer"},
            "status": {"type": "string", "enum": ["pending_code", "issued", "failed", "used"]},
            "code": {"type": "string", "nullable": True},
            "expires_at": {"type": "string", "format": "date-time", "nullable": True},
            "error": {"type": "string", "nullable": True},
        },
    },
}


def spec() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Sadakat API", "version": "1.0.0",
                 "description": "Loyalty points, tiers and rewards of one account."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
        "paths": {
            "/customers/by-email": {"get": {
                "summary": "Find a customer by e-mail (case-insensitive)",
                "parameters": [{"name": "email", "in": "query", "required": True,
                                "schema": {"type": "string"}}],
                "responses": {"200": _json(_ref("Customer"), "The customer"),
                              **ERRORS, **NOT_FOUND},
            }},
            "/customers/by-platform-id": {"get": {
                "summary": "Find a customer by the id a connected platform knows them by",
                "parameters": [
                    {"name": "platform", "in": "query", "required": True,
                     "schema": {"type": "string"}, "description": "shopify, woocommerce, ..."},
                    {"name": "platform_id", "in": "query", "required": True,
                     "schema": {"type": "string"}},
                ],
                "responses": {"200": _json(_ref("Customer"), "The customer"),
                              **ERRORS, **NOT_FOUND},
            }},
            "/customers/{customer_id}": {"get": {
                "summary": "Balance, pending points, tier and progress, expiring points",
                "parameters": [CUSTOMER_ID],
                "responses": {"200": _json(_ref("Customer"), "The customer"), **ERRORS, **NOT_FOUND},
            }},
            "/customers/{customer_id}/ledger": {"get": {
                "summary": "Ledger entries, newest first",
                "parameters": [CUSTOMER_ID,
                               {"name": "limit", "in": "query",
                                "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
                               {"name": "before", "in": "query", "schema": {"type": "integer"}}],
                "responses": {"200": _json({"type": "object", "required": ["entries"], "properties": {
                    "entries": {"type": "array", "items": _ref("Entry")},
                    "next_before": {"type": "integer", "nullable": True}}}, "A page of entries"),
                    **ERRORS, **NOT_FOUND},
            }},
            "/rewards": {"get": {
                "summary": "The rewards catalogue",
                "responses": {"200": _json({"type": "object", "required": ["rewards"], "properties": {
                    "rewards": {"type": "array", "items": _ref("Reward")}}}, "Active rewards"),
                    **ERRORS},
            }},
            "/customers/{customer_id}/redemptions": {"post": {
                "summary": "Redeem a reward; returns the discount code when the store issued it",
                "parameters": [CUSTOMER_ID],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["reward_id", "idempotency_key"],
                    "additionalProperties": False,
                    "properties": {"reward_id": {"type": "integer"},
                                   "idempotency_key": {"type": "string", "minLength": 1,
                                                       "maxLength": 200}}}}}},
                "responses": {"201": _json(_ref("Redemption"), "The redemption"),
                              "400": _json(_ref("Error"), "Body is not a JSON object"),
                              "409": _json(_ref("Error"), "Not enough points, or key reused"),
                              "422": _json(_ref("Error"), "Invalid body or reward unavailable"),
                              **ERRORS, **NOT_FOUND},
            }},
            "/customers/{customer_id}/adjustments": {"post": {
                "summary": "Add or remove points by hand, with a reason",
                "parameters": [CUSTOMER_ID],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["amount", "reason", "idempotency_key"],
                    "additionalProperties": False,
                    "properties": {"amount": {"type": "integer", "minimum": -1000000,
                                              "maximum": 1000000, "not": {"enum": [0]}},
                                   "reason": {"type": "string", "minLength": 1, "maxLength": 300},
                                   "idempotency_key": {"type": "string", "minLength": 1,
                                                       "maxLength": 200}}}}}},
                "responses": {"201": _json(_ref("Entry"), "The entry"),
                              "400": _json(_ref("Error"), "Body is not a JSON object"),
                              "409": _json(_ref("Error"), "Would overdraw, or key reused"),
                              "422": _json(_ref("Error"), "Invalid body"),
                              **ERRORS, **NOT_FOUND},
            }},
            "/redemptions/{redemption_id}": {"get": {
                "summary": "A redemption and its code",
                "parameters": [{"name": "redemption_id", "in": "path", "required": True,
                                "schema": {"type": "integer", "minimum": 1}}],
                "responses": {"200": _json(_ref("Redemption"), "The redemption"),
                              **ERRORS, **NOT_FOUND},
            }},
        },
    }
