"""Reading a mock's journal: token requests, how a request ended, Retry-After, logical operations."""
from __future__ import annotations

import json
from email.utils import parsedate_to_datetime
from functools import lru_cache

from mock_services import Delivery, JournalEntry

__all__ = ["is_token", "bearer", "correlation", "ended", "come_back_at", "kind", "operations", "TRANSIENT",
           "RETRY_KINDS"]

TRANSIENT = {500, 502, 503, 504}
RETRY_KINDS = ("timeout", "dropped", "transient", "malformed")  # outcomes a client retries with backoff


def is_token(entry: JournalEntry) -> bool:
    """Whether the entry is a request to the token endpoint."""
    return entry.method == "POST" and entry.path.endswith("/oauth/token")


def bearer(entry: JournalEntry) -> str | None:
    """The Bearer token a request carried, or None."""
    scheme, _, value = (entry.header("Authorization") or "").strip().partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def correlation(entry: JournalEntry) -> str | None:
    value = (entry.header("X-Correlation-ID") or "").strip()
    return value or None


def ended(entry: JournalEntry) -> float:
    """When the client stopped waiting for this response (virtual time)."""
    return entry.at + entry.response.waited


def come_back_at(entry: JournalEntry) -> float | None:
    """The virtual instant the response's Retry-After asked the client to wait for, if any."""
    raw = (entry.response.header("Retry-After") or "").strip()
    if not raw:
        return None
    if raw.isdigit():
        return ended(entry) + int(raw)
    try:
        return parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


@lru_cache(maxsize=4096)
def _is_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return False
    return True


def kind(entry: JournalEntry) -> str:
    """How a request ended, from the client's side.

    ok | malformed (a 2xx whose body is not JSON) | timeout (the client gave up
    waiting) | dropped (the server closed the connection) | throttled (429/503
    with Retry-After) | conflict (409) | transient (5xx or 429 without
    Retry-After) | unauthorized (401) | refused (other 4xx)
    """
    resp = entry.response
    if resp.delivery is Delivery.CLIENT_GONE:
        return "timeout"
    if resp.delivery is Delivery.DROPPED:
        return "dropped"
    status = resp.status
    if 200 <= status < 300:
        return "ok" if _is_json(resp.body) else "malformed"
    if status == 409:
        return "conflict"
    if status in (429, 503) and come_back_at(entry) is not None:
        return "throttled"
    if status in TRANSIENT or status == 429:
        return "transient"
    if status == 401:
        return "unauthorized"
    return "refused"


def operations(entries) -> list[list[JournalEntry]]:
    """Group a run's requests into logical operations, token requests included, in order of their first request.

    An API operation is a run of requests with the same method and target
    (token requests in between, e.g. a refresh, do not end it); a token
    operation is a run of consecutive token requests (its retries).
    """
    ops: list[list[JournalEntry]] = []
    api: list[JournalEntry] | None = None
    token: list[JournalEntry] | None = None
    for entry in entries:
        if is_token(entry):
            if token is None:
                token = [entry]
                ops.append(token)
            else:
                token.append(entry)
            continue
        token = None
        if api is not None and (api[-1].method, api[-1].target) == (entry.method, entry.target):
            api.append(entry)
        else:
            api = [entry]
            ops.append(api)
    return ops
