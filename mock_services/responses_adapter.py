"""Stubbing a mock's routes with the ``responses`` library, for learners' visible tests.

The callback drives the very same ``MockService.handle``; only delivery
differs. ``responses`` has no sockets, so the instructions a server carries
out in real time are emulated: a ``drop`` raises ``requests.ConnectionError``,
and a ``stall`` longer than the request's read timeout raises
``requests.ReadTimeout`` after the virtual clock moves on by the timeout
(shorter stalls just move the clock on). Visible tests do not dilate time:
the timeout the learner passes is compared with the stall as is.
"""

from __future__ import annotations

import re
from http.client import RemoteDisconnected
from typing import Any
from urllib.parse import urlsplit

import requests
import responses

from .journal import Delivery
from .messages import Request
from .service import MockService

__all__ = ["register_responses"]


class _AnyMethodCallback(responses.CallbackResponse):
    """One stub for every method: the service answers 405 itself, as a server would.

    A stub per method would trip ``assert_all_requests_are_fired`` for every
    method a test never uses; one stub trips it only if the test never calls
    the service at all.
    """

    def matches(self, request: requests.PreparedRequest) -> tuple[bool, str]:
        if not self._url_matches(self.url, str(request.url)):
            return False, "URL does not match"
        return True, ""


def register_responses(rsps: responses.RequestsMock, service: MockService, base_url: str) -> None:
    """Route every request under ``base_url`` through ``service`` (callback-based)."""
    base = base_url.rstrip("/")
    prefix = urlsplit(base).path
    pattern = re.compile(re.escape(base) + r"(?:[/?#].*)?\Z")

    def callback(prepared: requests.PreparedRequest) -> Any:
        parts = urlsplit(prepared.url or "")
        path = parts.path[len(prefix) :] if prefix and parts.path.startswith(prefix) else parts.path
        target = (path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = tuple((name, _text(value)) for name, value in prepared.headers.items())
        request = Request.build(prepared.method or "GET", target, headers, _body(prepared.body))
        response = service.handle(request)
        waited = 0.0
        if response.stall > 0:
            read_timeout = _read_timeout(getattr(prepared, "req_kwargs", {}).get("timeout"))
            if read_timeout is not None and read_timeout < response.stall:
                service.settle(response, Delivery.CLIENT_GONE, read_timeout)
                return requests.exceptions.ReadTimeout(
                    f"read timed out after {read_timeout}s (virtual)", request=prepared
                )
            waited = response.stall
        if response.drop:
            service.settle(response, Delivery.DROPPED, waited)
            reason = RemoteDisconnected("Remote end closed connection without response")
            return requests.exceptions.ConnectionError(("Connection aborted.", reason), request=prepared)
        service.settle(response, Delivery.WRITTEN, waited)
        return response.status, list(response.headers), response.body

    rsps.add(_AnyMethodCallback("GET", pattern, callback=callback, content_type=None))


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _body(body: Any) -> bytes:
    # responses has already read file-like bodies; what remains is bytes, str, None or an iterable of chunks.
    if body is None or isinstance(body, (bytes, str)):
        return body.encode() if isinstance(body, str) else (body or b"")
    return b"".join(chunk.encode() if isinstance(chunk, str) else bytes(chunk) for chunk in body)


def _read_timeout(timeout: Any) -> float | None:
    if isinstance(timeout, tuple):
        timeout = timeout[1] if len(timeout) > 1 else timeout[0]
    return float(timeout) if timeout is not None else None
