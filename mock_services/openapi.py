"""Building blocks shared by the services' OpenAPI 3 documents.

OpenAPI 3.0.3 rather than 3.1 because every Postman version imports it.
Each service assembles its document from these pieces plus its own paths
and schemas; ``document()`` adds the problem schema, the OAuth 2.0
client-credentials security scheme and the token endpoint.
"""

from __future__ import annotations

from typing import Any

from .oauth import Credentials
from .problems import PROBLEM_MEDIA_TYPE

__all__ = ["document", "json_content", "problem_responses", "ref"]

# Statuses any operation can return once a scenario injects faults.
_FAULT_STATUSES = {
    "429": "Too many requests; wait for Retry-After",
    "500": "Internal server error",
    "502": "Bad gateway",
    "503": "Service unavailable",
}

_PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "correlation_id": {"type": "string", "description": "Echo of the request's X-Correlation-ID"},
    },
}

_OAUTH_ERROR = {
    "type": "object",
    "description": "RFC 6749 section 5.2 error response",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "string",
            "enum": [
                "invalid_request",
                "invalid_client",
                "invalid_grant",
                "unauthorized_client",
                "unsupported_grant_type",
                "invalid_scope",
            ],
        },
        "error_description": {"type": "string"},
    },
}

_TOKEN = {
    "type": "object",
    "description": "RFC 6749 section 5.1 access token response",
    "required": ["access_token", "token_type", "expires_in"],
    "properties": {
        "access_token": {"type": "string"},
        "token_type": {"type": "string", "enum": ["Bearer"]},
        "expires_in": {"type": "integer", "minimum": 1},
        "scope": {"type": "string"},
    },
    "additionalProperties": False,
}

_CORRELATION = {
    "name": "X-Correlation-ID",
    "in": "header",
    "required": False,
    "description": "Echoed in the X-Correlation-ID response header and in problem details",
    "schema": {"type": "string"},
}


def ref(name: str) -> dict[str, str]:
    """Return a reference to a schema under components/schemas."""
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: dict[str, Any], media_type: str = "application/json") -> dict[str, Any]:
    """Return a content map with one media type."""
    return {media_type: {"schema": schema}}


def _problem(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": json_content(ref("Problem"), PROBLEM_MEDIA_TYPE)}
    if headers:
        response["headers"] = headers
    return response


def _header(description: str, required: bool = True) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": {"type": "string"}}


def problem_responses(*statuses: int, secured: bool = True) -> dict[str, Any]:
    """Return problem responses for ``statuses``, plus auth and fault statuses."""
    described = {
        400: "Bad request",
        401: "Missing, unknown or expired access token",
        403: "The token lacks the operation's scope",
        404: "No such resource",
        409: "A request with this Idempotency-Key is still being processed",
        415: "The body is not in a supported media type",
        422: "Request body failed validation, or Idempotency-Key reused with another payload",
    }
    responses: dict[str, Any] = {}
    wanted = set(statuses) | ({400, 401, 403} if secured else set())
    for status in sorted(wanted):
        headers = None
        if status == 401:
            headers = {"WWW-Authenticate": _header("Bearer challenge (RFC 6750 section 3)")}
        elif status == 409:
            headers = {"Retry-After": _header("Seconds until the original request completes")}
        responses[str(status)] = _problem(described[status], headers)
    for code, description in _FAULT_STATUSES.items():
        retry = {"Retry-After": _header("Delay-seconds or an HTTP-date", required=code == "429")}
        responses[code] = _problem(description, retry)
    return responses


def _token_path(credentials: Credentials) -> dict[str, Any]:
    form = {
        "type": "object",
        "required": ["grant_type"],
        "properties": {
            "grant_type": {"type": "string", "enum": ["client_credentials"]},
            "scope": {"type": "string"},
            "client_id": {"type": "string", "description": "Only if not using HTTP Basic (RFC 6749 2.3.1)"},
            "client_secret": {"type": "string", "description": "Only if not using HTTP Basic (RFC 6749 2.3.1)"},
        },
    }
    no_store = {"Cache-Control": _header("no-store"), "Pragma": _header("no-cache")}
    oauth_error = json_content(ref("OAuthError"))
    return {
        "post": {
            "operationId": "createToken",
            "summary": "Get an access token (OAuth 2.0 client credentials, RFC 6749 section 4.4)",
            "tags": ["auth"],
            "security": [{"clientBasic": []}, {}],
            "parameters": [_CORRELATION],
            "requestBody": {"required": True, "content": json_content(form, "application/x-www-form-urlencoded")},
            "responses": {
                "200": {"description": "An access token", "headers": no_store, "content": json_content(ref("Token"))},
                "400": {
                    "description": "invalid_request, unsupported_grant_type or invalid_scope",
                    "headers": no_store,
                    "content": oauth_error,
                },
                "401": {
                    "description": "invalid_client",
                    "headers": {**no_store, "WWW-Authenticate": _header("Basic challenge")},
                    "content": oauth_error,
                },
                **{
                    status: _problem(text, {"Retry-After": _header("retry", status == "429")})
                    for status, text in _FAULT_STATUSES.items()
                },
            },
        }
    }


def document(
    title: str,
    description: str,
    credentials: Credentials,
    paths: dict[str, Any],
    schemas: dict[str, Any],
    base_url: str | None,
) -> dict[str, Any]:
    """Assemble a complete OpenAPI 3.0.3 document for a Bearer-protected service."""
    token_url = f"{base_url}{credentials.token_path}" if base_url else credentials.token_path
    scopes = {scope: scope.replace(":", " ") for scope in credentials.scopes}
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": "1.0.0", "description": description},
        "servers": [{"url": base_url or "/"}],
        "tags": [{"name": "auth"}],
        "paths": {credentials.token_path: _token_path(credentials), **paths},
        "components": {
            "schemas": {"Problem": _PROBLEM, "OAuthError": _OAUTH_ERROR, "Token": _TOKEN, **schemas},
            "securitySchemes": {
                "oauth2": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": token_url, "scopes": scopes}}},
                "clientBasic": {"type": "http", "scheme": "basic", "description": "client_id and client_secret"},
            },
        },
        "security": [{"oauth2": list(credentials.scopes)}],
    }


def correlation_parameter() -> dict[str, Any]:
    """Return the optional X-Correlation-ID header parameter."""
    return dict(_CORRELATION)
