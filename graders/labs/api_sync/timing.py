"""api-sync's timing checks: Retry-After, retrying transient failures, capped exponential backoff, jitter, bounds.

A retry is a pair of consecutive attempts of one logical operation (same
method and target). Retry ``n`` is the n-th retry of the operation; the
immediate retry after a token refresh does not count. Its wait is the
arrival of the retry minus the moment the client stopped waiting for the
attempt before it (``ended``): sleeps are exact on the virtual clock, so the
tolerance only absorbs float rounding.

The contract's backoff: before retry n, wait between 50% and 100% of
``min(backoff_cap, backoff_base * 2 ** (n - 1))`` seconds. Jitter is seen in
the journal when the waits are not all exactly that nominal value and no two
retries with the same n waited exactly the same time.
"""
from __future__ import annotations

from ...checks import failed, passed
from ...results import Dimension
from .._http_support import RETRY_KINDS, come_back_at, ended, kind, runs
from .world import Sync

TOLERANCE = 0.01  # seconds; sleeps are exact, this only absorbs float rounding at epoch magnitudes
SAME = 1e-3  # two waits closer than this are "exactly the same"


def _ops(sync: Sync):
    return runs(sync.played.mine, key=lambda e: (e.method, e.target))


def _retries(sync: Sync):
    """(retry number, failed attempt, next attempt, wait) for every retry of every operation."""
    out = []
    for op in _ops(sync):
        n = 0
        for before, after in zip(op, op[1:]):
            if kind(before) == "unauthorized":
                continue  # the retry after a token refresh is immediate and not an attempt
            n += 1
            out.append((n, before, after, after.at - ended(before)))
    return out


def _backoff(sync: Sync):
    """The retries after a 5xx or timeout without Retry-After: the ones the backoff rule governs."""
    return [r for r in _retries(sync) if kind(r[1]) in RETRY_KINDS and come_back_at(r[1]) is None]


def _nominal(data, n: int) -> float:
    config = data.config
    return min(config["backoff_cap"], config["backoff_base"] * 2 ** (n - 1))


def _outcome(entry) -> str:
    return {"timeout": "timeout", "dropped": "dropped"}.get(kind(entry), str(entry.status))


def check_retry_after(sync: Sync, data):
    events = []
    for op in _ops(sync):
        for i, entry in enumerate(op):
            until = come_back_at(entry)
            if until is not None and entry.status in (429, 503):
                events.append((entry, until, op[i + 1] if i + 1 < len(op) else None))
    if not events:
        return failed("the run ended before the CRM answered 429 or 503 with Retry-After",
                      sync.played.call.problem() or sync.played.stopped or "")
    bad = []
    for entry, until, retry in events:
        asked = f"{entry.status} with Retry-After {entry.response.header('Retry-After')}"
        if retry is None:
            bad.append(f"{entry.target}: {asked}: never retried")
        elif retry.at < until - TOLERANCE:
            bad.append(f"{entry.target}: {asked}: retried after {retry.at - ended(entry):.1f} s, "
                       f"{until - ended(entry):.0f} s were asked for")
    if bad:
        return failed(f"{len(bad)} of {len(events)} retries after 429/503 did not wait as long as Retry-After asked",
                      "\n".join(bad[:4]))
    forms = ", ".join(f"{e.status} {'HTTP-date' if not e.response.header('Retry-After').isdigit() else e.response.header('Retry-After') + ' s'}"
                      for e, _, _ in events)
    return passed(f"waited as long as Retry-After asked before all {len(events)} retries ({forms})")


def check_retries(sync: Sync, data):
    troubled = [op for op in _ops(sync) if any(kind(e) in RETRY_KINDS for e in op)]
    if not troubled:
        return failed("no server error or timeout happened: the run ended before the second page",
                      sync.played.call.problem() or sync.played.stopped or "")
    most = data.config["max_attempts"]
    bad = [op for op in troubled if kind(op[-1]) != "ok"]
    if bad:
        lines = [f"{op[0].target}: {' -> '.join(_outcome(e) for e in op)}, then no more attempts "
                 f"(max_attempts is {most})" for op in bad[:3]]
        return failed(f"{len(bad)} of {len(troubled)} requests that met a 5xx or a timeout were not retried until "
                      "they succeeded", "\n".join(lines))
    seen = sorted({_outcome(e) for op in troubled for e in op if kind(e) in RETRY_KINDS})
    return passed(f"every request that met {', '.join(seen)} was retried until it succeeded")


def check_capped(sync: Sync, data):
    samples = _backoff(sync)
    if not samples:
        return failed("no retry after a server error or timeout to judge", sync.played.call.problem() or "")
    bad = []
    for n, before, _, wait in samples:
        top = _nominal(data, n)
        if not top / 2 - TOLERANCE <= wait <= top + TOLERANCE:
            bad.append(f"{before.target} retry {n}: waited {wait:.2f} s, expected {top / 2:g} to {top:g} s")
    if bad:
        return failed(f"{len(bad)} of {len(samples)} waits before a retry broke the backoff rule "
                      "(50-100% of min(cap, base x 2^(n-1)))", "\n".join(bad[:4]))
    return passed("every wait before a retry was 50-100% of min(cap, base x 2^(n-1)), up to the cap")


def check_jitter(sync: Sync, data):
    samples = _backoff(sync)
    if len(samples) < 2:
        return failed("fewer than two retries after a server error or timeout, too few to see jitter",
                      sync.played.call.problem() or "")
    if all(abs(wait - _nominal(data, n)) < SAME for n, _, _, wait in samples):
        return failed(f"all {len(samples)} waits were exactly min(cap, base x 2^(n-1)): no jitter, so clients that "
                      "failed together retry together", ", ".join(f"{w:.2f} s" for _, _, _, w in samples[:8]))
    by_n: dict[int, list[float]] = {}
    for n, _, _, wait in samples:
        by_n.setdefault(n, []).append(wait)
    for n, waits in sorted(by_n.items()):
        ordered = sorted(waits)
        if any(b - a < SAME for a, b in zip(ordered, ordered[1:])):
            return failed(f"two retries number {n} waited exactly the same time: the wait is not random",
                          f"retry {n} waits: {', '.join(f'{w:.3f} s' for w in waits)}")
    return passed("waits vary: no two retries with the same number waited the same time")


def check_bounded(sync: Sync, data):
    if sync.played.stopped:
        return failed(f"the grader had to stop the run: {sync.played.stopped}",
                      "the CRM answers 503 to every request from the third page on; give up after max_attempts")
    most = data.config["max_attempts"]
    attempts = [(op, sum(kind(e) != "unauthorized" for e in op)) for op in _ops(sync)]
    over = [(op, n) for op, n in attempts if n > most]
    if over:
        op, n = over[0]
        return failed(f"a request was attempted {n} times; max_attempts is {most}", f"{op[0].method} {op[0].target}")
    failing = [(op, n) for op, n in attempts if kind(op[-1]) != "ok"]
    if not failing:
        return failed("the run ended before the outage (third page on)", sync.played.call.problem() or "")
    return passed(f"the request that kept failing was attempted {failing[0][1]} times (max_attempts {most}), "
                  "then given up")


CHECKS = (
    ("honours-retry-after", "Retry-After is waited out on 429 and 503", 8, "rate-limits", 4, "throttled",
     check_retry_after),
    ("retries-transient", "500, 502, 503 and timeouts are retried", 8, "retries", 5, "flaky", check_retries),
    ("backoff-capped", "Exponential backoff, capped", 6, "retries", 5, "flaky", check_capped),
    ("backoff-jitter", "Backoff with jitter", 6, "retries", 5, "flaky", check_jitter),
    ("bounded-attempts", "A bounded number of attempts", 6, "retries", 5, "outage", check_bounded),
)


def register(grader) -> None:
    """Add the timing checks to ``grader``, in the README's order."""
    for check_id, title, points, skill, criterion, probe, func in CHECKS:
        grader.check(check_id, title=title, points=points, skill=skill, dimension=Dimension.INTEGRATION,
                     criterion=criterion, probe=probe)(func)
