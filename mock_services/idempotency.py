"""Idempotency-Key handling per the IETF httpapi draft and common practice.

The first request with a key is processed and its response stored; a retry
after completion replays that response (same status, same body) with
``Idempotent-Replayed: true``; a retry while the original is still in flight
gets 409; the same key with a different payload gets 422; a missing key
where one is required gets 400. The key may be sent as a structured-field
string (quoted, RFC 8941) or bare.

"In flight" has two sources: a handler still running in another thread
(real concurrency), and a response scheduled to take virtual time (a Slow
fault): until the virtual clock reaches ``ready_at`` the original has not
finished, whatever real time says. The second keeps grading deterministic.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from dataclasses import dataclass

from .clock import VirtualClock
from .messages import Request, Response
from .problems import problem

__all__ = ["IdempotencyStore", "parse_key"]

RETENTION = 24 * 3600  # virtual seconds a key is remembered (Stripe keeps 24 h)
MAX_KEY_LENGTH = 255  # the header value, quotes included (Stripe's limit)


def parse_key(raw: str | None) -> str | None:
    """Return the key from an Idempotency-Key header value (quoted or bare), or None.

    The draft defines the value as a structured-field string (``"abc"``);
    many clients send it bare (``abc``). Both name the same key. A value
    that merely starts with a quote but is not a valid sf-string is taken
    bare rather than refused: leniency costs nothing here.
    """
    if raw is None:
        return None
    value = raw.strip()
    if not value or len(value) > MAX_KEY_LENGTH or not all(0x20 <= ord(ch) <= 0x7E for ch in value):
        return None
    quoted = _parse_sf_string(value) if value.startswith('"') else None
    return quoted if quoted else value


def _parse_sf_string(value: str) -> str | None:
    # RFC 8941 section 4.2.5: DQUOTE *( unescaped / "\" ( DQUOTE / "\" ) ) DQUOTE
    out, i = [], 1
    while i < len(value):
        ch = value[i]
        if ch == "\\":
            if i + 1 >= len(value) or value[i + 1] not in '"\\':
                return None
            out.append(value[i + 1])
            i += 2
            continue
        if ch == '"':
            key = "".join(out)
            return key if i == len(value) - 1 and key else None
        if not 0x20 <= ord(ch) <= 0x7E:
            return None
        out.append(ch)
        i += 1
    return None  # no closing quote


@dataclass(frozen=True)
class _Record:
    fingerprint: str
    started_at: float
    response: Response | None = None  # None while the original is being processed
    ready_at: float = 0.0


class IdempotencyStore:
    """Remembers requests by Idempotency-Key, per client."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._records: dict[tuple[str, str], _Record] = {}

    def reset(self) -> None:
        """Forget every key."""
        with self._lock:
            self._records.clear()

    def begin(self, request: Request, route_key: str, owner: str) -> tuple[str, str] | Response:
        """Claim the request's key and return a ticket, or the response to give instead."""
        raw = request.header("Idempotency-Key")
        if raw is None:
            return problem(400, "idempotency-key-missing", f"{route_key} requires an Idempotency-Key header", request)
        key = parse_key(raw)
        if key is None:
            return problem(
                400,
                "bad-request",
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters",
                request,
            )
        ticket = (owner, key)
        fingerprint = _fingerprint(request, route_key)
        now = self._clock.now()
        with self._lock:
            self._purge(now)
            record = self._records.get(ticket)
            if record is None:
                self._records[ticket] = _Record(fingerprint, started_at=now)
                return ticket
        if record.fingerprint != fingerprint:
            return problem(
                422,
                "idempotency-key-reused",
                f"Idempotency-Key {key!r} was first used with a different request",
                request,
            )
        if record.response is None or now < record.ready_at:
            wait = 1 if record.response is None else max(1, math.ceil(record.ready_at - now))
            return problem(
                409,
                "idempotency-key-in-use",
                f"the original request with Idempotency-Key {key!r} is still being processed",
                request,
                (("Retry-After", str(wait)),),
            )
        return record.response.with_header("Idempotent-Replayed", "true")

    def complete(self, ticket: tuple[str, str], response: Response, ready_at: float) -> None:
        """Store the original's response; a failed original frees the key for a retry."""
        with self._lock:
            record = self._records.get(ticket)
            if record is None:
                return
            if 200 <= response.status < 300:
                self._records[ticket] = _Record(record.fingerprint, record.started_at, response, ready_at)
            else:
                # Nothing was committed (validation failed), so nothing to protect.
                del self._records[ticket]

    def abandon(self, ticket: tuple[str, str]) -> None:
        """Release a key whose original never finished (the handler raised)."""
        with self._lock:
            record = self._records.get(ticket)
            if record is not None and record.response is None:
                del self._records[ticket]

    def _purge(self, now: float) -> None:
        stale = [t for t, r in self._records.items() if r.response is not None and now - r.started_at > RETENTION]
        for ticket in stale:
            del self._records[ticket]


def _fingerprint(request: Request, route_key: str) -> str:
    # Canonical JSON, so a retry that re-serialises the same payload is the same payload.
    try:
        payload = json.dumps(json.loads(request.body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        payload = request.body
    return hashlib.sha256(f"{route_key}\n{request.path}\n".encode() + payload).hexdigest()
