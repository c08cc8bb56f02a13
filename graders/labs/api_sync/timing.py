"""api-sync's timing checks: Retry-After, retrying transient failures, capped exponential backoff, jitter, bounds.

A retry is a pair of consecutive attempts of one logical operation (same
method and target, or consecutive token requests). Retry ``n`` is the n-th
retry of the operation; the immediate resend after a token refresh does not
count. Its wait is the arrival of the retry minus the moment the client
stopped waiting for the attempt before it (``ended``): sleeps are exact on
the virtual clock, so the tolerance only absorbs float rounding.

The contract's backoff: before retry n, wait between 50% and 100% of
``min(backoff_cap, backoff_base * 2 ** (n - 1))`` seconds. Jitter is seen in
the journal when the waits are not all exactly that nominal value and no two
retries with the same n waited exactly the same time. Retry-After is waited
out: not earlier than asked, and not more than ``LATE`` seconds later (an
HTTP-date already past means at once).
"""
from __future__ import annotations

from ...checks import failed, passed
from ...results import Dimension
from .._http_support import RETRY_KINDS, come_back_at, ended, is_token, kind, operations
from .world import result

TOLERANCE = 0.01  # seconds; sleeps are exact, this only absorbs float rounding at epoch magnitudes
LATE = 0.5  # seconds a retry may come after the moment Retry-After named
SAME = 1e-3  # two waits closer than this are "exactly the same"


def _ops(sync):
    return operations(sync.played.mine)


def attempts(op) -> int:
    """Attempts of one operation: its requests, less the resends right after a 401 (a token refresh)."""
    return len(op) - sum(1 for before in op[:-1] if kind(before) == "unauthorized")


def _retries(sync):
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


def _backoff(sync):
    """The retries after a 5xx, timeout, drop or broken body without Retry-After: the ones the backoff rule governs."""
    return [r for r in _retries(sync) if kind(r[1]) in RETRY_KINDS and come_back_at(r[1]) is None]


def _nominal(config: dict, n: int) -> float:
    return min(config["backoff_cap"], config["backoff_base"] * 2 ** (n - 1))


def _outcome(entry) -> str:
    return {"timeout": "timeout", "dropped": "dropped", "malformed": "broken body"}.get(kind(entry), str(entry.status))


def _what(entry) -> str:
    return "the token request" if is_token(entry) else entry.target


def _kept(syncs):
    kept = [s for s in syncs if not s.played.stopped]
    note = "" if len(kept) == len(syncs) else \
        f" ({len(syncs) - len(kept)} run(s) the grader had to stop are judged by {STOPS_JUDGED_BY})"
    return kept, note


def check_retry_after(syncs, data):
    if syncs[0].played.stopped:  # the throttled run: waiting far past what was asked is this criterion's
        return failed(f"the grader had to stop the throttled run: {syncs[0].played.stopped}",
                      "wait as long as Retry-After asks (seconds, or until the HTTP-date), not more")
    kept, note = _kept(syncs)
    events = []
    for sync in kept:
        for op in _ops(sync):
            for i, entry in enumerate(op):
                until = come_back_at(entry)
                if until is not None and entry.status in (429, 503):
                    events.append((entry, until, op[i + 1] if i + 1 < len(op) else None))
    if not events:
        return failed("the runs ended before the CRM answered 429 or 503 with Retry-After",
                      "; ".join(filter(None, (result(s.played)[2] for s in syncs))))
    bad = []
    for entry, until, retry in events:
        asked = f"{entry.status} with Retry-After {entry.response.header('Retry-After')!r}"
        at_once = max(until, ended(entry))
        if retry is None:
            bad.append(f"{_what(entry)}: {asked}: never retried")
        elif retry.at < until - TOLERANCE:
            bad.append(f"{_what(entry)}: {asked}: retried after {retry.at - ended(entry):.2f} s, "
                       f"{until - ended(entry):.2f} s were asked for")
        elif retry.at > at_once + LATE:
            bad.append(f"{_what(entry)}: {asked}: retried after {retry.at - ended(entry):.2f} s, "
                       f"{max(0.0, until - ended(entry)):.2f} s were asked for (more than {LATE:g} s late)")
    if bad:
        return failed(f"{len(bad)} of {len(events)} retries after 429/503 did not wait as long as Retry-After asked",
                      "\n".join(bad[:4]))
    return passed(f"waited as long as Retry-After asked before all {len(events)} retries (seconds, HTTP-dates, "
                  "a date already past, zero; pages, an account and the token endpoint)" + note)


def _exhausted(op, config) -> bool:
    return attempts(op) >= config["max_attempts"]


def check_retries(syncs, data):
    kept, note = _kept(syncs)
    troubled = [(s, op) for s in kept for op in _ops(s) if any(kind(e) in RETRY_KINDS for e in op)]
    if not troubled:
        return failed("no server error, timeout or dropped connection happened: the runs ended early",
                      "; ".join(filter(None, (result(s.played)[2] for s in syncs))))
    bad = [(s, op) for s, op in troubled if kind(op[-1]) != "ok" and not _exhausted(op, s.played.config)]
    if bad:
        lines = [f"{_what(op[0])}: {' -> '.join(_outcome(e) for e in op)}, then no more attempts "
                 f"(max_attempts is {s.played.config['max_attempts']})" for s, op in bad[:3]]
        return failed(f"{len(bad)} of {len(troubled)} requests that met a 5xx, a timeout, a dropped connection or a "
                      "broken body were not retried until they succeeded or used up max_attempts", "\n".join(lines))
    seen = sorted({_outcome(e) for _, op in troubled for e in op if kind(e) in RETRY_KINDS})
    return passed(f"every request that met {', '.join(seen)} was retried (pages, accounts, the token "
                  "endpoint)" + note)


def check_capped(syncs, data):
    kept, note = _kept(syncs)
    samples = [(s, r) for s in kept for r in _backoff(s)]
    if not samples:
        return failed("no retry after a server error or timeout to judge",
                      "; ".join(filter(None, (result(s.played)[2] for s in syncs))))
    bad = []
    for sync, (n, before, _, wait) in samples:
        top = _nominal(sync.played.config, n)
        if not top / 2 - TOLERANCE <= wait <= top + TOLERANCE:
            bad.append(f"{_what(before)} retry {n}: waited {wait:.2f} s, expected {top / 2:g} to {top:g} s")
    if bad:
        return failed(f"{len(bad)} of {len(samples)} waits before a retry broke the backoff rule "
                      "(50-100% of min(cap, base x 2^(n-1)))", "\n".join(bad[:4]))
    return passed(f"all {len(samples)} waits before a retry were 50-100% of min(cap, base x 2^(n-1)), up to the "
                  "cap" + note)


def check_jitter(sync, data):
    samples = _backoff(sync) if not sync.played.stopped else []
    if len(samples) < 2:
        return failed("fewer than two retries after a server error or timeout, too few to see jitter",
                      sync.played.call.problem() or sync.played.stopped or "")
    config = sync.played.config
    if all(abs(wait - _nominal(config, n)) < SAME for n, _, _, wait in samples):
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


def check_bounded(syncs, data):
    stopped = [s for s in syncs if s.played.stopped]
    if stopped:
        return failed(f"the grader had to stop {len(stopped)} run(s): {stopped[0].played.stopped}",
                      "e.g. the CRM answers 503 to every page from the third on, and closes the connection on one "
                      "account six times: give up after max_attempts; wait no longer than the rules say")
    over, failing = [], []
    for sync in syncs:
        most = sync.played.config["max_attempts"]
        for op in _ops(sync):
            n = attempts(op)
            if n > most:
                over.append(f"{_what(op[0])} was attempted {n} times; max_attempts is {most}")
            elif kind(op[-1]) != "ok" and kind(op[-1]) in RETRY_KINDS + ("throttled",):
                failing.append((op, n, most))
    if over:
        return failed(f"{len(over)} requests were attempted more than max_attempts times", "\n".join(over[:4]))
    if not failing:
        return failed("the runs ended before a request used up its attempts (the outage from the third page on)",
                      "; ".join(filter(None, (result(s.played)[2] for s in syncs))))
    shown = ", ".join(f"{n} of {most}" for _, n, most in failing[:4])
    return passed(f"no request was attempted more than max_attempts times; those that kept failing stopped at "
                  f"{shown} attempts")


# A run the grader had to stop is judged by one check: the 401 loop by no-401-loop, the throttled run by
# honours-retry-after, every other run by bounded-attempts.
STOPS_JUDGED_BY = "bounded-attempts, honours-retry-after or no-401-loop"
BOUND_SCENES = ("outage", "single-shot", "client-errors", "happy", "growing", "token-expiry", "token-refused",
                "flaky")

CHECKS = (
    ("honours-retry-after", "Retry-After is waited out on 429 and 503", 8, "rate-limits", 4, "throttle-scenes",
     check_retry_after),
    ("retries-transient", "500, 502, 503, 504, timeouts, drops and broken bodies are retried", 6, "retries", 5,
     "transient-scenes", check_retries),
    ("backoff-capped", "Exponential backoff, capped", 6, "retries", 5, "transient-scenes", check_capped),
    ("backoff-jitter", "Backoff with jitter", 6, "retries", 5, "flaky", check_jitter),
    ("bounded-attempts", "A bounded number of attempts", 6, "retries", 5, "bound-scenes", check_bounded),
)


def register(grader) -> None:
    """Add the timing checks and their probes to ``grader``, in the README's order."""
    from . import scenes

    grader.probe("throttle-scenes")(lambda run: scenes(run, "throttled", "client-errors"))
    grader.probe("transient-scenes")(lambda run: scenes(run, "flaky", "token-expiry", "client-errors"))
    grader.probe("bound-scenes")(lambda run: scenes(run, *BOUND_SCENES))
    for check_id, title, points, skill, criterion, probe, func in CHECKS:
        grader.check(check_id, title=title, points=points, skill=skill, dimension=Dimension.INTEGRATION,
                     criterion=criterion, probe=probe)(func)
