"""Routes of a fake system, and matching a request to one.

A route is a method, a path pattern with ``{name}`` segments, a handler, and
the protections the pipeline applies before the handler runs (a Bearer token
with a scope; a required Idempotency-Key).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .messages import Request, Response

if TYPE_CHECKING:
    from .oauth import Token

__all__ = ["Call", "Route", "Router"]

_SEGMENT = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Route:
    """One operation a fake system offers."""

    method: str
    pattern: str
    handler: Callable[[Call], Response]
    operation_id: str
    scope: str | None = None  # None: public; otherwise a Bearer token with this scope
    idempotency_key: bool = False  # the Idempotency-Key header is required

    @property
    def key(self) -> str:
        """Return "METHOD /pattern", the name scenarios use for this route."""
        return f"{self.method} {self.pattern}"


@dataclass
class Call:
    """A request on its way through the pipeline to a route's handler."""

    request: Request
    route: Route
    params: Mapping[str, str]
    seq: int
    at: float  # virtual arrival time
    token: Token | None = None
    applied: list[str] = field(default_factory=list)  # faults that acted, as evidence


class Router:
    """Match (method, path) to a route; tell 404 from 405 (RFC 9110 section 15.5.6)."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes = tuple(routes)
        self._compiled = [(route, _compile(route.pattern)) for route in self.routes]

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], tuple[str, ...]]:
        """Return (route, path params, allowed methods); route is None when nothing matched."""
        allowed: list[str] = []
        for route, regex in self._compiled:
            found = regex.fullmatch(path)
            if found is None:
                continue
            if route.method == method:
                return route, found.groupdict(), ()
            allowed.append(route.method)
        return None, {}, tuple(dict.fromkeys(allowed))

    def by_key(self, key: str) -> Route | None:
        """Return the route named "METHOD /pattern", or None."""
        return next((route for route in self.routes if route.key == key), None)


def _compile(pattern: str) -> re.Pattern[str]:
    regex, last = "", 0
    for found in _SEGMENT.finditer(pattern):
        regex += re.escape(pattern[last : found.start()]) + f"(?P<{found.group(1)}>[^/]+)"
        last = found.end()
    return re.compile(regex + re.escape(pattern[last:]))
