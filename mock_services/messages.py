"""Plain HTTP messages: what a fake system's handler takes and returns.

A mock is a function from ``Request`` to ``Response`` (httpx's transport
seam); sockets, ``responses`` stubs and direct calls are separate concerns.
A ``Response`` may also carry two instructions only a transport can carry
out: ``stall`` (hold the response for that many virtual seconds) and
``drop`` (close the connection instead of answering).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

__all__ = ["Headers", "Request", "Response", "json_response", "header_value"]

Headers = tuple[tuple[str, str], ...]

# Media types that carry JSON (RFC 6838 structured syntax suffix).
_JSON_TYPES = ("application/json", "application/problem+json")


def header_value(headers: Headers, name: str) -> str | None:
    """Return the first value of header ``name`` (case-insensitive), or None."""
    wanted = name.lower()
    for key, value in headers:
        if key.lower() == wanted:
            return value
    return None


@dataclass(frozen=True)
class Request:
    """One HTTP request as the mock sees it, whichever transport carried it."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    headers: Headers = ()
    body: bytes = b""

    @classmethod
    def build(
        cls,
        method: str,
        target: str,
        headers: Headers | dict[str, str] = (),
        body: bytes | str | None = b"",
    ) -> Request:
        """Make a request from a target such as ``/v1/accounts?limit=5``."""
        parts = urlsplit(target)
        pairs = tuple(headers.items()) if isinstance(headers, dict) else tuple(headers)
        raw = body.encode() if isinstance(body, str) else (body or b"")
        return cls(
            method=method.upper(),
            path=parts.path or "/",
            query=tuple(parse_qsl(parts.query, keep_blank_values=True)),
            headers=tuple((str(k), str(v)) for k, v in pairs),
            body=raw,
        )

    def header(self, name: str) -> str | None:
        """Return the first value of a request header, or None."""
        return header_value(self.headers, name)

    def param(self, name: str) -> str | None:
        """Return the first value of a query parameter, or None."""
        for key, value in self.query:
            if key == name:
                return value
        return None

    def params(self, name: str) -> list[str]:
        """Return every value of a query parameter (repeats are evidence too)."""
        return [value for key, value in self.query if key == name]

    @property
    def target(self) -> str:
        """Return path plus query string, as it appeared on the request line."""
        return self.path + (f"?{urlencode(self.query)}" if self.query else "")

    def media_type(self) -> str:
        """Return the request's media type, lower-cased and without parameters."""
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()


@dataclass(frozen=True)
class Response:
    """One HTTP response, plus the delivery instructions a transport obeys."""

    status: int
    headers: Headers = ()
    body: bytes = b""
    stall: float = 0.0  # virtual seconds to hold the response before writing it
    drop: bool = False  # close the connection instead of writing anything
    faults: tuple[str, ...] = ()  # which scheduled faults shaped this response
    seq: int | None = None  # journal entry to settle once delivered

    def header(self, name: str) -> str | None:
        """Return the first value of a response header, or None."""
        return header_value(self.headers, name)

    def with_header(self, name: str, value: str) -> Response:
        """Return a copy with ``name`` set to ``value`` (replacing earlier values)."""
        kept = tuple((k, v) for k, v in self.headers if k.lower() != name.lower())
        return replace(self, headers=kept + ((name, value),))

    def is_json(self) -> bool:
        """Tell whether the body is declared as JSON."""
        media = (self.header("Content-Type") or "").split(";")[0].strip().lower()
        return media in _JSON_TYPES

    def json(self) -> Any:
        """Decode the body as JSON (raises ValueError when it is not)."""
        return json.loads(self.body)


def json_response(status: int, payload: Any, headers: Headers = (), media_type: str = "application/json") -> Response:
    """Build a JSON response with a stable, compact encoding."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(status=status, headers=(("Content-Type", media_type),) + tuple(headers), body=body)
