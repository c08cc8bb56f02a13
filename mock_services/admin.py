"""The admin surface under ``/__admin/``, for poking a real server by hand.

    GET  /__admin/journal          the journal, secrets and PII masked
    POST /__admin/reset            forget journal, tokens, keys; rebuild data
    GET  /__admin/scenario         the scenario in force and the named ones
    PUT  /__admin/scenario         {"name": "flaky"} or {"name": ..., "rules": [...]}
    GET  /__admin/clock            virtual now, monotonic reading, dilation
    POST /__admin/clock/advance    {"seconds": 30} (or ?seconds=30)

Admin requests are not journaled: the journal is evidence of the client
under test, not of the person driving the lab.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from .errors import MockServiceError
from .messages import Request, Response, json_response
from .problems import problem
from .scenario import Scenario

if TYPE_CHECKING:
    from .service import MockService

__all__ = ["ADMIN_ROUTES", "handle"]

ADMIN_ROUTES = (
    ("GET", "/__admin/journal"),
    ("POST", "/__admin/reset"),
    ("GET", "/__admin/scenario"),
    ("PUT", "/__admin/scenario"),
    ("GET", "/__admin/clock"),
    ("POST", "/__admin/clock/advance"),
)


def handle(service: MockService, request: Request) -> Response:
    """Answer one admin request."""
    path = request.path.rstrip("/")
    allowed = [method for method, route in ADMIN_ROUTES if route == path]
    if not allowed:
        return problem(404, "not-found", f"no admin route {path}; see GET /__admin/journal", request)
    if request.method not in allowed:
        return problem(
            405,
            "method-not-allowed",
            f"{request.method} not allowed on {path}",
            request,
            (("Allow", ", ".join(allowed)),),
        )
    try:
        return _ACTIONS[(request.method, path)](service, request)
    except (MockServiceError, ValueError, TypeError) as exc:
        return problem(400, "bad-request", str(exc), request)


def _journal(service: MockService, request: Request) -> Response:
    return json_response(200, {"entries": service.journal.as_dicts()})


def _reset(service: MockService, request: Request) -> Response:
    service.reset()
    return json_response(200, {"reset": True, "scenario": service.scenario.name})


def _get_scenario(service: MockService, request: Request) -> Response:
    return json_response(200, _scenario_view(service))


def _put_scenario(service: MockService, request: Request) -> Response:
    data = _json_body(request)
    if "rules" in data:
        service.use(Scenario.from_dict(data))
    elif isinstance(data.get("name"), str):
        service.use(data["name"])
    else:
        raise ValueError('send {"name": "<scenario>"} or {"name": ..., "rules": [...]}')
    return json_response(200, _scenario_view(service))


def _get_clock(service: MockService, request: Request) -> Response:
    return json_response(200, _clock_view(service))


def _advance_clock(service: MockService, request: Request) -> Response:
    raw = request.param("seconds")
    seconds = float(raw) if raw is not None else float(_json_body(request).get("seconds", "missing"))
    if not math.isfinite(seconds):
        raise ValueError("seconds must be a finite number")
    service.clock.advance(seconds)
    return json_response(200, _clock_view(service))


def _scenario_view(service: MockService) -> dict[str, Any]:
    return {"scenario": service.scenario.to_dict(), "seed": service.seed, "available": list(service.named_scenarios)}


def _clock_view(service: MockService) -> dict[str, Any]:
    clock = service.clock
    return {"now": clock.now(), "time": clock.isoformat(), "monotonic": clock.monotonic(), "dilation": clock.dilation}


def _json_body(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        raise ValueError("the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


_ACTIONS = {
    ("GET", "/__admin/journal"): _journal,
    ("POST", "/__admin/reset"): _reset,
    ("GET", "/__admin/scenario"): _get_scenario,
    ("PUT", "/__admin/scenario"): _put_scenario,
    ("GET", "/__admin/clock"): _get_clock,
    ("POST", "/__admin/clock/advance"): _advance_clock,
}
