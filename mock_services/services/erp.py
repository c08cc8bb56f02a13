"""The ERP: an orders API where creating an order demands an Idempotency-Key.

    POST /oauth/token         client credentials (RFC 6749 section 4.4)
    POST /v1/orders           create (scope orders:write, Idempotency-Key required), 201
    GET  /v1/orders           every order, so duplicates are countable (scope orders:read)
    GET  /v1/orders/{id}      one order

Same OAuth as the CRM, with its own credentials: real ERPs sit behind a
token too, and a client that fetches a new token for every retry is a
mistake worth seeing in the journal.
"""

from __future__ import annotations

import copy
import json
import re
from decimal import Decimal
from typing import Any

from jsonschema import Draft4Validator

from ..faults import DropAfterCommit, RateLimited, ServerError, Slow
from ..messages import Response, json_response
from ..oauth import Credentials
from ..openapi import (
    correlation_parameter,
    document,
    json_content,
    problem_responses,
    ref,
)
from ..pagination import list_object
from ..problems import problem
from ..routing import Call, Route
from ..scenario import Chance, Nth, Scenario, on
from ..service import MockService

__all__ = ["ORDER_REQUEST_SCHEMA", "ErpService"]

ORDER_ID = re.compile(r"ord_[0-9]{5}")
CREATE = "POST /v1/orders"

ORDER_REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["customer_id", "currency", "lines"],
    "additionalProperties": False,
    "properties": {
        "customer_id": {"type": "string", "pattern": "^acc_[0-9]{5}$"},
        "currency": {"type": "string", "enum": ["EUR", "GBP", "USD"]},
        "external_ref": {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "description": "The caller's own reference, e.g. a PO number",
        },
        "lines": {
            "type": "array",
            "minItems": 1,
            "maxItems": 50,
            "items": {
                "type": "object",
                "required": ["sku", "quantity", "unit_price"],
                "additionalProperties": False,
                "properties": {
                    "sku": {"type": "string", "pattern": "^[A-Z0-9][A-Z0-9-]{2,31}$"},
                    "quantity": {"type": "integer", "minimum": 1, "maximum": 10000},
                    "unit_price": {
                        "type": "string",
                        "pattern": "^[0-9]{1,9}\\.[0-9]{2}$",
                        "description": "Decimal string, two places",
                    },
                },
            },
        },
    },
}
# OpenAPI 3.0 schema objects follow JSON Schema draft 4 semantics (e.g. 1.0 is not an integer).
_VALIDATOR = Draft4Validator(ORDER_REQUEST_SCHEMA)

_SCENARIOS = {
    scenario.name: scenario
    for scenario in (
        Scenario("happy", (), "everything works"),
        Scenario(
            "flaky",
            (
                on(CREATE, ServerError(503, retry_after=2), when=Nth(2)),
                on(CREATE, ServerError(500), when=Nth(4)),
                on(CREATE, ServerError(502), when=Chance(0.1)),
                on(CREATE, RateLimited(15), when=Nth(6)),
            ),
            "5xx and 429 before anything is written; retry with the same Idempotency-Key",
        ),
        Scenario(
            "drop-after-commit",
            (on(CREATE, DropAfterCommit(), when=Nth(1, 4)),),
            "the order is created, then the connection drops; a retry must replay, not duplicate",
        ),
        Scenario(
            "conflict",
            (on(CREATE, Slow(30), when=Nth(1)),),
            "the first create takes 30 s; a hasty retry gets 409 until it finishes, then the replay",
        ),
    )
}


class ErpService(MockService):
    """The ERP orders API."""

    name = "erp"
    summary = "ERP orders API: OAuth 2.0 client credentials, Idempotency-Key on create"
    credentials = Credentials("erp-lab-client", "erp-lab-secret-8b1d7a", ("orders:read", "orders:write"))
    default_port = 8702
    named_scenarios = _SCENARIOS

    def routes(self) -> list[Route]:
        """Return the orders routes."""
        return [
            Route("POST", "/v1/orders", self._create, "createOrder", scope="orders:write", idempotency_key=True),
            Route("GET", "/v1/orders", self._list, "listOrders", scope="orders:read"),
            Route("GET", "/v1/orders/{id}", self._get, "getOrder", scope="orders:read"),
        ]

    def reset_state(self) -> None:
        """Start with no orders."""
        self._orders: list[dict[str, Any]] = []

    def orders(self) -> tuple[dict[str, Any], ...]:
        """Return every order created, in creation order (graders count duplicates here)."""
        with self.state_lock:
            return tuple(copy.deepcopy(self._orders))

    def _create(self, call: Call) -> Response:
        request = call.request
        if request.media_type() != "application/json":
            return problem(415, "unsupported-media-type", "send the order as application/json", request)
        try:
            payload = json.loads(request.body)
        except ValueError:
            return problem(400, "bad-request", "the body is not valid JSON", request)
        errors = sorted(_VALIDATOR.iter_errors(payload), key=lambda e: list(e.absolute_path))
        if errors:
            details = [{"pointer": _pointer(e.absolute_path), "detail": e.message} for e in errors]
            return problem(422, "validation-failed", f"{len(errors)} problem(s) in the order", request, errors=details)
        total = sum(Decimal(line["unit_price"]) * line["quantity"] for line in payload["lines"])
        with self.state_lock:
            order = {
                "id": f"ord_{len(self._orders) + 1:05d}",
                "object": "order",
                "status": "accepted",
                **payload,
                "total": f"{total:.2f}",
                "created_at": self.clock.isoformat(call.at),
            }
            self._orders.append(order)
        return json_response(201, order, (("Location", f"/v1/orders/{order['id']}"),))

    def _list(self, call: Call) -> Response:
        with self.state_lock:
            rows = list(self._orders)
        return json_response(200, list_object("/v1/orders", rows, has_more=False))

    def _get(self, call: Call) -> Response:
        wanted = call.params["id"]
        with self.state_lock:
            found = next((o for o in self._orders if o["id"] == wanted), None)
        if found is None:
            return problem(404, "not-found", f"no order {wanted!r}", call.request)
        return json_response(200, found)

    def openapi(self, base_url: str | None = None) -> dict[str, Any]:
        """Return the ERP's OpenAPI 3.0.3 document."""
        order_id = {"type": "string", "pattern": f"^{ORDER_ID.pattern}$", "example": "ord_00001"}
        key = {
            "name": "Idempotency-Key",
            "in": "header",
            "required": True,
            "description": "Unique per logical order; resend the same key on every retry. Quoted (RFC 8941) or bare.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]*[!-~][ -~]*$"},
        }
        replayed = {
            "description": "true when this is a stored response replayed",
            "required": False,
            "schema": {"type": "string"},
        }
        collection = {
            "post": {
                "operationId": "createOrder",
                "summary": "Create an order (idempotent with Idempotency-Key)",
                "security": [{"oauth2": ["orders:write"]}],
                "parameters": [key, correlation_parameter()],
                "requestBody": {"required": True, "content": json_content(ref("OrderRequest"))},
                "responses": {
                    "201": {
                        "description": "Created, or the replay of an earlier create with the same key",
                        "headers": {
                            "Location": {"required": True, "schema": {"type": "string"}},
                            "Idempotent-Replayed": replayed,
                        },
                        "content": json_content(ref("Order")),
                    },
                    **problem_responses(400, 409, 415, 422),
                },
            },
            "get": {
                "operationId": "listOrders",
                "summary": "List every order",
                "security": [{"oauth2": ["orders:read"]}],
                "parameters": [correlation_parameter()],
                "responses": {
                    "200": {"description": "All orders", "content": json_content(ref("OrderList"))},
                    **problem_responses(),
                },
            },
        }
        single = {
            "get": {
                "operationId": "getOrder",
                "summary": "Get one order",
                "security": [{"oauth2": ["orders:read"]}],
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": order_id},
                    correlation_parameter(),
                ],
                "responses": {
                    "200": {"description": "The order", "content": json_content(ref("Order"))},
                    **problem_responses(404),
                },
            }
        }
        order = copy.deepcopy(ORDER_REQUEST_SCHEMA)
        order["required"] = ["id", "object", "status", *order["required"], "total", "created_at"]
        order["properties"].update(
            id=order_id,
            object={"type": "string", "enum": ["order"]},
            status={"type": "string", "enum": ["accepted"]},
            total={"type": "string", "pattern": "^[0-9]+\\.[0-9]{2}$"},
            created_at={"type": "string", "format": "date-time"},
        )
        schemas = {
            "OrderRequest": ORDER_REQUEST_SCHEMA,
            "Order": order,
            "OrderList": {
                "type": "object",
                "required": ["object", "url", "data", "has_more"],
                "additionalProperties": False,
                "properties": {
                    "object": {"type": "string", "enum": ["list"]},
                    "url": {"type": "string"},
                    "data": {"type": "array", "items": ref("Order")},
                    "has_more": {"type": "boolean"},
                },
            },
        }
        description = "Fake ERP for iclab labs. Create orders with an Idempotency-Key; retries must reuse it."
        paths = {"/v1/orders": collection, "/v1/orders/{id}": single}
        return document("iclab ERP", description, self.credentials, paths, schemas, base_url)  # type: ignore[arg-type]


def _pointer(path: Any) -> str:
    # RFC 6901 JSON Pointer, the form RFC 9457's examples use for invalid members.
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)
