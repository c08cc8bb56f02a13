"""Errors as RFC 9457 problem details (``application/problem+json``).

Every error the mocks produce goes through ``problem()``, so each carries
``type``, ``title``, ``status``, ``detail`` and ``instance``, plus a
``correlation_id`` member echoing the request's X-Correlation-ID when the
client sent one: the habit Exercise B (troubleshooting from logs) rewards.
"""

from __future__ import annotations

from typing import Any

from .messages import Headers, Request, Response, json_response

__all__ = ["PROBLEM_MEDIA_TYPE", "PROBLEM_TYPE_BASE", "problem", "problem_type"]

PROBLEM_MEDIA_TYPE = "application/problem+json"
# A reserved domain (RFC 2606): the type URI names the problem, it is not fetched.
PROBLEM_TYPE_BASE = "https://iclab.example/problems/"

# A problem type's title is fixed for the type (RFC 9457 section 3.1.3);
# the occurrence-specific text goes in ``detail``.
_TITLES = {
    "bad-request": "Bad request",
    "unauthorized": "Authentication required",
    "invalid-token": "Invalid access token",
    "insufficient-scope": "Insufficient scope",
    "not-found": "Not found",
    "method-not-allowed": "Method not allowed",
    "length-required": "Length required",
    "unsupported-media-type": "Unsupported media type",
    "invalid-parameter": "Invalid parameter",
    "validation-failed": "Request body failed validation",
    "rate-limited": "Too many requests",
    "server-error": "Internal server error",
    "bad-gateway": "Bad gateway",
    "service-unavailable": "Service unavailable",
    "idempotency-key-missing": "Idempotency-Key header missing",
    "idempotency-key-in-use": "A request with this Idempotency-Key is still being processed",
    "idempotency-key-reused": "Idempotency-Key reused with a different request",
    "mock-bug": "The mock service failed",
}


def problem_type(slug: str) -> str:
    """Return the type URI for a problem slug."""
    return PROBLEM_TYPE_BASE + slug


def problem(
    status: int,
    slug: str,
    detail: str,
    request: Request | None = None,
    headers: Headers = (),
    **members: Any,
) -> Response:
    """Build a problem+json response for ``slug``; extra members are extensions."""
    body: dict[str, Any] = {
        "type": problem_type(slug),
        "title": _TITLES.get(slug, slug.replace("-", " ").capitalize()),
        "status": status,
        "detail": detail,
        "instance": request.path if request is not None else "/",
    }
    correlation_id = request.header("X-Correlation-ID") if request is not None else None
    if correlation_id:
        body["correlation_id"] = correlation_id
    body.update(members)
    return json_response(status, body, headers=headers, media_type=PROBLEM_MEDIA_TYPE)
