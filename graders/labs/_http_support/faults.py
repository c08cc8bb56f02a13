"""Faults the grading services add to the stock ones in ``mock_services`` (which the grader does not change).

Each is a small frozen ``Fault`` like the stock ones, composed into scenarios
the same way: a fixed answer (a gateway's 504, a firewall's empty 403, a text
503), a connection closed before the request is processed, Retry-After in
every form a server writes it, lower-case header names, and faults keyed by
the logical resource a request is for.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from typing import Callable

from mock_services import Fault
from mock_services.faults import retry_after_value
from mock_services.messages import Response
from mock_services.problems import problem
from mock_services.routing import Call

__all__ = ["Answer", "DropBeforeAnswer", "Throttle", "LowercaseHeaders", "PerKey"]


@dataclass(frozen=True)
class Answer(Fault):
    """Answer with a fixed status, headers and body (a gateway's 504, a WAF's empty 403, a text 503)."""

    status: int
    body: bytes = b""
    headers: tuple = ()
    slug: str | None = None  # a problem-details answer (with this type and ``detail`` = body) instead
    title_only: bool = False  # problem details without a detail member (RFC 9457 makes it optional)

    def before(self, call: Call, service) -> Response:
        if self.slug is None:
            return Response(self.status, tuple(self.headers), self.body)
        answer = problem(self.status, self.slug, self.body.decode(), call.request, tuple(self.headers))
        if self.title_only:
            payload = {k: v for k, v in json.loads(answer.body).items() if k != "detail"}
            answer = replace(answer, body=json.dumps(payload).encode())
        return answer


@dataclass(frozen=True)
class DropBeforeAnswer(Fault):
    """Close the connection before the request is processed: nothing committed, no answer."""

    def before(self, call: Call, service) -> Response:
        return Response(502, (), b"", drop=True)


@dataclass(frozen=True)
class Throttle(Fault):
    """429 or 503 with a Retry-After as a server might write it: seconds or HTTP-date (past too), padded, any case."""

    seconds: float
    status: int = 429
    form: str = "seconds"
    pad: str = ""  # trailing whitespace after the value (RFC 9110 lets a recipient strip it)
    name: str = "Retry-After"

    def before(self, call: Call, service) -> Response:
        now = service.clock.now()
        if self.form == "seconds":
            value = str(math.ceil(self.seconds))
        else:  # a date; in the past when the server's clock is behind the client's
            value = retry_after_value(self.seconds, "http-date", now) if self.seconds >= 0 else \
                retry_after_value(0, "http-date", now + self.seconds)
        slug = "rate-limited" if self.status == 429 else "service-unavailable"
        detail = "slow down" if self.status == 429 else "the system is briefly unavailable; come back later"
        return problem(self.status, slug, detail, call.request, ((self.name, value + self.pad),))


@dataclass(frozen=True)
class LowercaseHeaders(Fault):
    """Send every response header name in lower case, as HTTP/2 servers and some proxies do."""

    def after(self, call: Call, service, response: Response) -> Response:
        return replace(response, headers=tuple((k.lower(), v) for k, v in response.headers))


@dataclass(frozen=True)
class PerKey(Fault):
    """Faults by logical resource: the n-th request for one key (an account id, an order ref) gets its own faults.

    ``plan`` is ``((key, selector, (fault, ...)), ...)``; ``key(call)`` names the
    resource a request is for. Counting per key makes a scenario independent of
    the order in which a client gets to each resource.
    """

    plan: tuple
    key: Callable[[Call], str | None]

    def before(self, call: Call, service):
        chosen = self._choose(call, service)
        for fault in chosen:
            answer = fault.before(call, service)
            if answer is not None:
                return answer
        return None

    def during(self, call: Call, service) -> None:
        for fault in self._chosen(call, service):
            fault.during(call, service)

    def after(self, call: Call, service, response: Response) -> Response:
        for fault in self._chosen(call, service, pop=True):
            response = fault.after(call, service, response)
        return response

    def _state(self, service) -> dict:
        with service.state_lock:
            return service.__dict__.setdefault("_per_key", {"counts": {}, "chosen": {}})

    def _choose(self, call: Call, service) -> tuple:
        state = self._state(service)
        name = self.key(call)
        with service.state_lock:
            state["last"] = name  # the resource the client worked on last (e.g. whose refresh a token request is)
            n = state["counts"][name] = state["counts"].get(name, 0) + 1
            chosen = tuple(f for key, when, faults in self.plan if key == name and when.selects(n, None)
                           for f in faults) if name is not None else ()
            state["chosen"][call.seq] = chosen
        return chosen

    def _chosen(self, call: Call, service, pop: bool = False) -> tuple:
        state = self._state(service)
        with service.state_lock:
            return state["chosen"].pop(call.seq, ()) if pop else state["chosen"].get(call.seq, ())
