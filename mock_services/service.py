"""The shared pipeline of every fake system: request in, response out, journal written.

``MockService.handle(request) -> response`` is the one seam: no sockets.
For each request it routes, asks the scenario which faults apply, runs
their ``before`` hooks, checks the Bearer token and the Idempotency-Key,
runs ``during`` hooks and the route's handler, runs ``after`` hooks,
stores the idempotent result, and journals what happened. Admin requests
(``/__admin/...``) are answered but never journaled, when the admin API is
on (``serve(..., admin=True)``, as ``iclab mock serve`` does); otherwise they
are ordinary requests to routes that do not exist: a 404, journaled.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, replace
from email.utils import formatdate
from typing import Any, ClassVar
from urllib.parse import unquote

from . import admin
from .clock import VirtualClock
from .errors import ScenarioError, UnknownScenario
from .faults import Fault, InsertRowsBeforeFetch
from .idempotency import IdempotencyStore
from .journal import Delivery, Journal
from .messages import Request, Response, json_response
from .oauth import Credentials, TokenIssuer
from .problems import problem
from .routing import Call, Route, Router
from .scenario import Scenario, Schedule

__all__ = ["MockService", "ServiceInfo"]

_HOST = re.compile(r"[A-Za-z0-9.\-]+(:\d{1,5})?|\[[0-9A-Fa-f:]+\](:\d{1,5})?")


@dataclass(frozen=True)
class ServiceInfo:
    """What a fake system is, for listings and for the console banner."""

    name: str
    summary: str
    scenarios: tuple[str, ...]
    credentials: Credentials | None
    default_port: int


class MockService:
    """A fake enterprise system: a plain handler from ``Request`` to ``Response``.

    Subclasses set the class attributes, list their routes in ``routes()``,
    build their data in ``reset_state()`` and describe themselves in
    ``openapi()``.
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    credentials: ClassVar[Credentials | None] = None
    default_port: ClassVar[int] = 0
    named_scenarios: ClassVar[dict[str, Scenario]] = {}

    def __init__(self, scenario: str | Scenario = "happy", seed: int = 0, clock: VirtualClock | None = None) -> None:
        self.seed = seed
        self.clock = clock if clock is not None else VirtualClock()
        self.journal = Journal()
        self.tokens = TokenIssuer(self.name, self.credentials, self.clock, seed) if self.credentials else None
        self.idempotency = IdempotencyStore(self.clock)
        self.state_lock = threading.RLock()
        routes = list(self.routes())
        if self.tokens is not None:
            routes.append(Route("POST", self.tokens.credentials.token_path, self._token, "createToken"))
        routes.append(Route("GET", "/openapi.json", self._openapi_route, "getOpenApi"))
        self.router = Router(routes)
        self.schedule = Schedule(self._resolve(scenario), seed)
        self.reset_state()

    @classmethod
    def info(cls) -> ServiceInfo:
        """Describe this service: name, summary, scenario names, lab credentials."""
        return ServiceInfo(cls.name, cls.summary, tuple(cls.named_scenarios), cls.credentials, cls.default_port)

    # -- what subclasses provide ------------------------------------------------

    def routes(self) -> list[Route]:
        """Return the service's own routes (the token endpoint is added for you)."""
        raise NotImplementedError

    def reset_state(self) -> None:
        """Rebuild the service's data from its seed."""
        raise NotImplementedError

    def openapi(self, base_url: str | None = None) -> dict[str, Any]:
        """Return the service's OpenAPI 3 document."""
        raise NotImplementedError

    def insert_rows(self, count: int) -> None:
        """Insert ``count`` rows into the data set (services that page override this)."""
        raise ScenarioError(f"{self.name} has no rows to insert")

    # -- scenario and lifecycle ---------------------------------------------------

    @property
    def scenario(self) -> Scenario:
        """Return the scenario in force."""
        return self.schedule.scenario

    def use(self, scenario: str | Scenario) -> None:
        """Switch to another scenario (by name or object), counting from zero."""
        self.schedule = Schedule(self._resolve(scenario), self.seed)

    def reset(self) -> None:
        """Forget the journal, tokens and keys, rewind the scenario, rebuild the data.

        The clock is left alone: it may be shared, and time never runs backwards.
        """
        self.journal.clear()
        self.schedule.reset()
        self.idempotency.reset()
        if self.tokens is not None:
            self.tokens.reset()
        with self.state_lock:
            self.reset_state()

    def _resolve(self, scenario: str | Scenario) -> Scenario:
        if isinstance(scenario, str):
            if scenario not in self.named_scenarios:
                known = ", ".join(self.named_scenarios)
                raise UnknownScenario(f"{self.name} has no scenario {scenario!r}; known: {known}")
            scenario = self.named_scenarios[scenario]
        for rule in scenario.rules:
            if self.router.by_key(rule.route) is None:
                known = ", ".join(route.key for route in self.router.routes)
                raise ScenarioError(
                    f"scenario {scenario.name!r} targets {rule.route!r}, which {self.name} lacks; routes: {known}"
                )
            if (
                any(isinstance(f, InsertRowsBeforeFetch) for f in rule.faults)
                and type(self).insert_rows is MockService.insert_rows
            ):
                raise ScenarioError(f"{self.name} has no rows to insert (scenario {scenario.name!r})")
        return scenario

    # -- the pipeline ---------------------------------------------------------------

    admin_enabled = False  # serve(admin=True) turns the /__admin API on for this service

    def handle(self, request: Request) -> Response:
        """Answer one request, journaling it (admin requests excepted)."""
        if self.admin_enabled and (request.path == "/__admin" or request.path.startswith("/__admin/")):
            return self._finish(request, admin.handle(self, request))
        seq, at = self.journal.reserve(), self.clock.now()
        route, params, allowed = self.router.match(request.method, request.path)
        if route is None:
            response = _no_route(request, allowed)
        else:
            params = {name: unquote(value) for name, value in params.items()}
            response = self._process(Call(request, route, params, seq, at))
        response = self._finish(request, response)
        self.journal.record(seq, at, request, route.key if route else None, response)
        return replace(response, seq=seq)

    def settle(self, response: Response, delivery: Delivery, waited: float = 0.0) -> None:
        """Record how a transport delivered ``response``; a stall moves virtual time on.

        Virtual time passes while the server holds a response: the client
        waited that long, so its next request (and its own clock) sees it.
        """
        if response.seq is None:
            return
        entry = self.journal.settle(response.seq, delivery, waited)
        if entry is not None and waited > 0:
            self.clock.advance_to(entry.at + waited)

    def _process(self, call: Call) -> Response:
        faults = self.schedule.faults_for(call.route.key)
        response: Response | None = None
        for fault in faults:
            response = fault.before(call, self)
            if response is not None:
                break
        ticket, clean = None, None
        if response is None:
            response, ticket = self._guarded(call, faults)
            clean = response
        for fault in faults:
            response = fault.after(call, self, response)
        if ticket is not None and clean is not None:
            # The original counts as in flight until its (virtual) response time.
            self.idempotency.complete(ticket, clean, ready_at=call.at + response.stall)
        return replace(response, faults=tuple(fault.describe() for fault in faults))

    def _guarded(self, call: Call, faults: tuple[Fault, ...]) -> tuple[Response, tuple[str, str] | None]:
        route = call.route
        if route.scope is not None and self.tokens is not None:
            call.token, refusal = self.tokens.authorize(call.request, route.scope)
            if refusal is not None:
                return refusal, None
        ticket = None
        if route.idempotency_key:
            owner = call.token.client_id if call.token is not None else "-"
            claimed = self.idempotency.begin(call.request, route.key, owner)
            if isinstance(claimed, Response):
                return claimed, None
            ticket = claimed
        try:
            for fault in faults:
                fault.during(call, self)
            return route.handler(call), ticket
        except Exception as exc:  # a bug in a mock must not look like a network failure
            if ticket is not None:
                self.idempotency.abandon(ticket)
            return problem(500, "mock-bug", f"{type(exc).__name__}: {exc}", call.request), None

    def _finish(self, request: Request, response: Response) -> Response:
        # Date in virtual time, so an HTTP-date Retry-After and Date agree.
        response = response.with_header("Date", formatdate(self.clock.now(), usegmt=True))
        correlation_id = request.header("X-Correlation-ID")
        if correlation_id:
            response = response.with_header("X-Correlation-ID", correlation_id)
        return response

    def _token(self, call: Call) -> Response:
        assert self.tokens is not None
        return self.tokens.token_endpoint(call.request)

    def _openapi_route(self, call: Call) -> Response:
        host = call.request.header("Host") or ""
        # The document names the server it was fetched from, so Postman's import just works.
        return json_response(200, self.openapi(f"http://{host}" if _HOST.fullmatch(host) else None))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} scenario={self.scenario.name!r} seed={self.seed}>"


def _no_route(request: Request, allowed: tuple[str, ...]) -> Response:
    if allowed:
        detail = f"{request.method} is not allowed on {request.path}; allowed: {', '.join(allowed)}"
        return problem(405, "method-not-allowed", detail, request, (("Allow", ", ".join(allowed)),))
    return problem(404, "not-found", f"no route matches {request.method} {request.path}", request)
