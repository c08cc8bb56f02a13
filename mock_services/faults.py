"""Faults: small objects that make a fake system misbehave on schedule.

Each fault has up to three hooks, run by the service pipeline
(pytest-httpserver's hooks, split by phase):

``before(call, service)``  before authentication; may answer instead of the
                           route (429, 5xx) or change the world (expire a
                           token, insert rows). The first answer wins.
``during(call, service)``  after auth and the Idempotency-Key claim, just
                           before the handler: inside the "in flight" window.
``after(call, service, response)``  reshape whatever response the request
                           got: stall it, drop it, corrupt it, rename fields.

Faults are frozen dataclasses, so a scenario is plain data; ``to_dict`` and
``fault_from_dict`` carry them through the admin API.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import asdict, dataclass, field, fields, replace
from email.utils import formatdate
from typing import TYPE_CHECKING, Any, Literal

from .clock import MAX_REAL_STALL
from .errors import ScenarioError
from .messages import Response
from .problems import problem
from .routing import Call

if TYPE_CHECKING:
    from .service import MockService

__all__ = [
    "DropAfterCommit",
    "ExpireToken",
    "Fault",
    "Gate",
    "InsertRowsBeforeFetch",
    "MalformedBody",
    "RateLimited",
    "RenameField",
    "ServerError",
    "Slow",
    "fault_from_dict",
]


class Fault:
    """Base class: every hook does nothing unless a fault overrides it."""

    def before(self, call: Call, service: MockService) -> Response | None:
        """Answer instead of the route, or change the world; None to carry on."""
        return None

    def during(self, call: Call, service: MockService) -> None:
        """Act inside the processing window, just before the handler runs."""

    def after(self, call: Call, service: MockService, response: Response) -> Response:
        """Reshape the response the request got."""
        return response

    def describe(self) -> str:
        """Return a short label for journals ("RateLimited(retry_after=30, form='seconds')")."""
        return repr(self)

    def to_dict(self) -> dict[str, Any]:
        """Return this fault as JSON-ready data."""
        return {"type": type(self).__name__, **asdict(self)}  # type: ignore[call-overload]


@dataclass(frozen=True)
class RateLimited(Fault):
    """Answer 429 with Retry-After, as delay-seconds or as an HTTP-date (RFC 9110 10.2.3)."""

    retry_after: float = 30
    form: Literal["seconds", "http-date"] = "seconds"

    def __post_init__(self) -> None:
        if self.form not in ("seconds", "http-date"):
            raise ScenarioError(f"RateLimited form must be 'seconds' or 'http-date', not {self.form!r}")
        if self.retry_after < 0:
            raise ScenarioError("RateLimited retry_after must be non-negative")

    def before(self, call: Call, service: MockService) -> Response:
        value = retry_after_value(self.retry_after, self.form, service.clock.now())
        detail = f"rate limit exceeded; retry after {math.ceil(self.retry_after)} seconds"
        return problem(429, "rate-limited", detail, call.request, (("Retry-After", value),))


@dataclass(frozen=True)
class ServerError(Fault):
    """Answer 500, 502 or 503 (optionally with Retry-After), before anything is committed."""

    status: int = 500
    retry_after: float | None = None

    def __post_init__(self) -> None:
        if self.status not in _SERVER_ERRORS:
            raise ScenarioError(f"ServerError status must be one of {sorted(_SERVER_ERRORS)}, not {self.status}")

    def before(self, call: Call, service: MockService) -> Response:
        slug, detail = _SERVER_ERRORS[self.status]
        headers: tuple[tuple[str, str], ...] = ()
        if self.retry_after is not None:
            headers = (("Retry-After", retry_after_value(self.retry_after, "seconds", service.clock.now())),)
        return problem(self.status, slug, detail, call.request, headers)


_SERVER_ERRORS = {
    500: ("server-error", "the upstream system failed while handling the request; nothing was changed"),
    502: ("bad-gateway", "the gateway got an invalid response from the upstream system"),
    503: ("service-unavailable", "the system is temporarily unavailable; try again later"),
}


@dataclass(frozen=True)
class Slow(Fault):
    """Hold the response for ``virtual_seconds`` (past a client's timeout, if it set one)."""

    virtual_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.virtual_seconds <= 0:
            raise ScenarioError("Slow virtual_seconds must be positive")

    def after(self, call: Call, service: MockService, response: Response) -> Response:
        return replace(response, stall=response.stall + self.virtual_seconds)


@dataclass(frozen=True)
class DropAfterCommit(Fault):
    """Commit the write, then close the connection without answering."""

    def after(self, call: Call, service: MockService, response: Response) -> Response:
        return replace(response, drop=True)


@dataclass(frozen=True)
class ExpireToken(Fault):
    """Expire the presented access token now, so this request gets invalid_token."""

    def before(self, call: Call, service: MockService) -> None:
        value = service.tokens.presented(call.request) if service.tokens else None
        if value is not None:
            service.tokens.expire(value)  # type: ignore[union-attr]


@dataclass(frozen=True)
class MalformedBody(Fault):
    """Cut the body in half (still labelled JSON), as a broken proxy would."""

    def after(self, call: Call, service: MockService, response: Response) -> Response:
        body = response.body[: len(response.body) // 2] if len(response.body) > 1 else b"{"
        return replace(response, body=body)


@dataclass(frozen=True)
class RenameField(Fault):
    """Rename a JSON member wherever it appears (contract drift)."""

    old: str
    new: str

    def after(self, call: Call, service: MockService, response: Response) -> Response:
        if not response.is_json():
            return response
        try:
            payload = json.loads(response.body)
        except ValueError:
            return response  # already corrupted by another fault; leave it be
        body = json.dumps(_rename(payload, self.old, self.new), separators=(",", ":"), ensure_ascii=False)
        return replace(response, body=body.encode())


def _rename(value: Any, old: str, new: str) -> Any:
    if isinstance(value, dict):
        return {(new if key == old else key): _rename(item, old, new) for key, item in value.items()}
    if isinstance(value, list):
        return [_rename(item, old, new) for item in value]
    return value


@dataclass(frozen=True)
class InsertRowsBeforeFetch(Fault):
    """Insert ``count`` new rows into the data set before this request is served."""

    count: int = 3

    def __post_init__(self) -> None:
        if not isinstance(self.count, int) or isinstance(self.count, bool) or self.count < 1:
            raise ScenarioError("InsertRowsBeforeFetch count must be at least 1")

    def before(self, call: Call, service: MockService) -> None:
        service.insert_rows(self.count)


@dataclass(frozen=True)
class Gate(Fault):
    """Hold processing until ``release`` is set (bounded): a race on demand, for tests and graders."""

    release: threading.Event = field(repr=False)
    entered: threading.Event | None = field(default=None, repr=False)
    timeout: float = MAX_REAL_STALL

    def during(self, call: Call, service: MockService) -> None:
        if self.entered is not None:
            self.entered.set()
        self.release.wait(min(self.timeout, MAX_REAL_STALL))

    def to_dict(self) -> dict[str, Any]:
        # Shown by GET /__admin/scenario; not loadable back (it holds live Events).
        return {"type": "Gate", "timeout": self.timeout}


def retry_after_value(seconds: float, form: str, now: float) -> str:
    """Render a Retry-After value: integer delay-seconds, or an IMF-fixdate (RFC 9110 5.6.7)."""
    if form == "http-date":
        # Round up: a client that waits until the date must wait at least ``seconds``.
        return formatdate(math.ceil(now + seconds), usegmt=True)
    return str(math.ceil(seconds))


_SERIALISABLE: dict[str, type[Fault]] = {
    cls.__name__: cls
    for cls in (
        RateLimited,
        ServerError,
        Slow,
        DropAfterCommit,
        ExpireToken,
        MalformedBody,
        RenameField,
        InsertRowsBeforeFetch,
    )
}


def fault_from_dict(data: dict[str, Any]) -> Fault:
    """Build a fault from ``{"type": "RateLimited", "retry_after": 30, ...}``."""
    if not isinstance(data, dict) or data.get("type") not in _SERIALISABLE:
        raise ScenarioError(f"unknown fault {data!r}; known: {', '.join(sorted(_SERIALISABLE))}")
    cls = _SERIALISABLE[data["type"]]
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    extra = set(data) - known - {"type"}
    if extra:
        raise ScenarioError(f"{cls.__name__} has no field(s) {', '.join(sorted(extra))}")
    try:
        return cls(**{k: v for k, v in data.items() if k != "type"})
    except TypeError as exc:
        raise ScenarioError(f"{cls.__name__}: {exc}") from None
