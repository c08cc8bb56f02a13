"""Reading the ERP's journal for idempotent-orders: creates grouped by logical order, keys, attempts, results."""
from __future__ import annotations

import json
from collections import Counter
from typing import NamedTuple

from mock_services.idempotency import parse_key

from ...evidence import show
from .._http_support import Played, kind

TOLERANCE = 0.01
LATE = 0.5  # seconds a retry may come after the moment Retry-After named
RETRIED = {"dropped": "a dropped connection", "timeout": "a timeout", "transient": "a 5xx", "throttled": "a 429",
           "malformed": "a broken body"}


class Created(NamedTuple):
    """The "create" scene's evidence: the run and the ERP's orders after it."""

    played: Played
    orders: tuple  # the ERP's orders after the run


class Rerun(NamedTuple):
    """The "rerun" scene's evidence: both runs, and the ERP's orders after each."""

    first: Played
    second: Played
    after_first: tuple
    after_second: tuple


def ref_of(body, batch) -> str | None:
    """Which logical order a create body or an ERP order is: its external_ref, else its content."""
    if not isinstance(body, dict):
        return None
    refs = {o["order_ref"] for o in batch}
    ref = body.get("external_ref")
    if isinstance(ref, str) and ref in refs:
        return ref
    for order in batch:
        if all(body.get(k) == order[k] for k in ("customer_id", "currency", "lines")):
            return order["order_ref"]
    return None


def creates(played: Played, batch) -> dict[str, list]:
    """Every POST /v1/orders of this run, grouped by logical order, in arrival order."""
    groups: dict[str, list] = {}
    for entry in played.mine:
        if entry.method != "POST" or entry.path != "/v1/orders":
            continue
        try:
            body = json.loads(entry.body)
        except ValueError:
            body = None
        groups.setdefault(ref_of(body, batch) or "<unrecognised body>", []).append(entry)
    return groups


def key(entry) -> str | None:
    return parse_key(entry.header("Idempotency-Key"))


def counts(orders, batch) -> Counter:
    return Counter(ref_of(order, batch) for order in orders)


def attempts(requests) -> int:
    """Attempts of one order: its requests, less the resends right after a 401 (a token refresh)."""
    return len(requests) - sum(1 for before in requests[:-1] if kind(before) == "unauthorized")


def retries(requests) -> list[tuple[int, object, object]]:
    """(retry number n, failed attempt, next request) for an order; the resend after a refresh is no retry."""
    out, n = [], 0
    for before, after in zip(requests, requests[1:]):
        if kind(before) == "unauthorized":
            continue  # the resend after a token refresh is immediate and not an attempt
        n += 1
        out.append((n, before, after))
    return out


def result(played: Played):
    """The run's {"created", "failed"}, or (None, why there is none)."""
    if played.stopped:
        return None, f"the run was stopped: {played.stopped}"
    if not played.call.ok:
        return None, played.call.problem()
    value = played.value
    if not isinstance(value, dict) or not isinstance(value.get("created"), list) \
            or not isinstance(value.get("failed"), list):
        return None, f"expected {{'created': [...], 'failed': [...]}}, got {show(value, 80)}"
    return value, None
