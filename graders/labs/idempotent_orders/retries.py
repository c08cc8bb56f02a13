"""idempotent-orders criteria 3 and 6: retrying creates whose outcome is unknown, waiting right, reporting failures.

All three checks read the "create" scene's journal per logical order. An
order's attempts are its create requests less the resends right after a 401
(the token refresh); retry n waits 50-100% of ``min(cap, base * 2**(n-1))``
after a dropped connection, a timeout or a 5xx without Retry-After, and as
long as Retry-After says after a 429 or a 503 with it (not earlier, not more
than ``LATE`` seconds later; a date already past means at once). The failed
list is judged against the journal of the same run: what the ERP last said
to each order that was refused or ran out of attempts.
"""
from __future__ import annotations

import json
from http import HTTPStatus

from ...checks import failed, passed
from ...evidence import show
from ...results import Dimension
from .._http_support import come_back_at, ended, is_token, kind
from .creates import LATE, RETRIED, TOLERANCE, Created, attempts, creates, result, retries

PHRASES = {status.value for status in HTTPStatus}
NO_ANSWER = {"timeout": ("time",),
             "dropped": ("connection", "closed", "reset", "drop", "disconnect", "abort", "remote end")}


def check_retried(created: Created, data):
    settings = dict(data.settings)
    most = settings["max_attempts"]
    met, bad = set(), []
    for ref, requests in creates(created.played, data.create_batch).items():
        n = attempts(requests)
        if n > most:
            bad.append(f"{ref}: attempted {n} times; max_attempts is {most}")
        for i, entry in enumerate(requests):
            # Hang-up times are real time (load-dependent): only whether the client hung up at all is judged.
            if entry.response.stall > 0 and not entry.client_gone:
                bad.append(f"{ref}: a create held {entry.response.stall:g} s was waited out: pass timeout= "
                           "(config['timeout']) on every request")
            how = kind(entry)
            if how not in RETRIED:
                continue
            met.add(RETRIED[how])
            if i + 1 == len(requests) and n < most:
                bad.append(f"{ref}: {RETRIED[how]} on attempt {n}, then the order was not sent again")
    if not met:
        return failed("no create met a dropped connection, a timeout, a 5xx or a 429",
                      created.played.call.problem() or "")
    if bad:
        return failed(f"{len(bad)} creates whose outcome was unknown or transient were not retried properly",
                      "\n".join(bad[:4]))
    return passed(f"every create that met {', '.join(sorted(met))} was sent again, at most max_attempts times, "
                  "and a held create was abandoned after the timeout")


def check_waits(created: Created, data):
    settings = dict(data.settings)
    bad, judged = [], 0
    for ref, requests in creates(created.played, data.create_batch).items():
        for n, before, after in retries(requests):
            wait, until = after.at - ended(before), come_back_at(before)
            if kind(before) == "throttled":
                judged += 1
                asked = f"{before.status} with Retry-After {before.response.header('Retry-After')!r}"
                if after.at < until - TOLERANCE:
                    bad.append(f"{ref}: {asked}: retried after {wait:.2f} s, {until - ended(before):.2f} s were "
                               "asked for")
                elif after.at > max(until, ended(before)) + LATE:
                    bad.append(f"{ref}: {asked}: retried after {wait:.2f} s, {max(0.0, until - ended(before)):.2f} s "
                               f"were asked for (more than {LATE:g} s late)")
            elif kind(before) in ("dropped", "timeout", "transient"):
                judged += 1
                top = min(settings["backoff_cap"], settings["backoff_base"] * 2 ** (n - 1))
                if not top / 2 - TOLERANCE <= wait <= top + TOLERANCE:
                    bad.append(f"{ref} retry {n} after {RETRIED[kind(before)]}: waited {wait:.2f} s, expected "
                               f"{top / 2:g} to {top:g} s")
    if not judged:
        return failed("no create was retried after a dropped connection, a timeout, a 5xx or a 429",
                      created.played.call.problem() or "")
    if bad:
        return failed(f"{len(bad)} of {judged} waits before a retry broke the rules (backoff 50-100% of "
                      "min(cap, base x 2^(n-1)); Retry-After as asked)", "\n".join(bad[:4]))
    return passed(f"all {judged} waits before a retry followed the rules: backoff up to the cap, and Retry-After "
                  "as seconds, as HTTP-dates (one already past) and as 0")


def explanation(entry) -> tuple[str, list[str]]:
    """(what the ERP said, texts the failure's detail must all contain) for an order's last answer."""
    how = kind(entry)
    if how in NO_ANSWER:
        return f"no answer ({how}): say what happened", []
    try:
        body = json.loads(entry.response.body)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        text = entry.response.body.decode("utf-8", "replace").strip()
        if text:
            return "the start of its body", [text[:40]]
        return "the reason phrase", [HTTPStatus(entry.status).phrase] if entry.status in PHRASES else []
    clues = [str(body.get("detail") or body.get("title") or body.get("error_description") or "")[:60]]
    for error in body.get("errors", []) if isinstance(body.get("errors"), list) else []:
        if isinstance(error, dict):
            clues += [str(error.get("pointer", "")), str(error.get("detail", ""))[:40]]
    return ("its detail and every error's pointer and detail" if len(clues) > 1 else "its detail"), \
        [c for c in clues if c]


def _final(requests) -> str | None:
    """Why an order ended without an order: 'refused' (a 4xx, or a 401 after the refresh), 'exhausted', or None."""
    last = requests[-1]
    how = kind(last)
    if how == "refused" or (how == "unauthorized" and len(requests) > 1 and kind(requests[-2]) == "unauthorized"):
        return "refused"
    if how in NO_ANSWER or how in ("transient", "throttled", "malformed"):
        return "exhausted"
    return None


def _refused_token(played, requests):
    """The token request refused right after an order's last create got 401, if one was."""
    if kind(requests[-1]) != "unauthorized":
        return None
    mine = list(played.mine)
    after = mine[mine.index(requests[-1]) + 1:]
    for entry in after:
        if entry.path == "/v1/orders":
            return None
        if is_token(entry) and entry.status != 200:
            return entry
    return None


def check_failures(created: Created, data):
    groups = creates(created.played, data.create_batch)
    most = dict(data.settings)["max_attempts"]
    lines, judged = [], 0
    for ref, requests in groups.items():
        refused_at = next((i for i, e in enumerate(requests) if kind(e) == "refused" or (
            kind(e) == "unauthorized" and i and kind(requests[i - 1]) == "unauthorized")), None)
        if refused_at is not None and refused_at + 1 < len(requests):
            lines.append(f"{ref}: refused with {requests[refused_at].status}, then sent "
                         f"{len(requests) - refused_at - 1} more times: a 4xx will not change by asking again")
    value, why = result(created.played)
    if why:
        return failed(f"no result to judge: {why}", "\n".join(lines[:4]))
    entries = {f.get("order_ref"): f for f in value["failed"] if isinstance(f, dict)
               and isinstance(f.get("order_ref"), str)}
    created_refs = {c.get("order_ref") for c in value["created"] if isinstance(c, dict)
                    and isinstance(c.get("order_ref"), str)}
    for ref, requests in groups.items():
        why_failed, last = _final(requests), requests[-1]
        token = _refused_token(created.played, requests)
        if token is not None:
            why_failed, last = "its token request was refused", token
        if why_failed is None or (why_failed == "exhausted" and attempts(requests) < most):
            if ref in entries and kind(requests[-1]) == "ok":
                lines.append(f"{ref}: the ERP created it, yet it is in 'failed'")
            continue
        judged += 1
        entry = entries.get(ref)
        if entry is None:
            lines.append(f"{ref} ({why_failed}, last answer {_outcome(last)}) is not in 'failed'")
            continue
        want = None if kind(last) in NO_ANSWER else last.status
        status = entry.get("status", "<absent>")
        if not (status is None and want is None) and not (type(status) is int and status == want):
            lines.append(f"{ref}: status expected {show(want)} (the last HTTP status), got {show(status, 40)}")
        said, clues = explanation(last)
        detail = entry.get("detail")
        words = NO_ANSWER.get(kind(last))
        if not isinstance(detail, str):
            lines.append(f"{ref}: detail should be a string saying {said}, got {show(detail, 40)}")
        elif words and not any(w in detail.lower() for w in words):
            lines.append(f"{ref}: detail should say what happened ({kind(last)}), got {show(detail, 60)}")
        elif not words and not all(c.lower() in detail.lower() for c in clues):
            missing = [c for c in clues if c.lower() not in detail.lower()]
            lines.append(f"{ref}: detail should give {said}; missing {show(missing[:3], 80)}")
        elif any(brace in detail for brace in ('{"', "{'")):
            lines.append(f"{ref}: detail should give {said} as text, not the whole body: got {show(detail, 60)}")
        if ref in created_refs:
            lines.append(f"{ref} is listed in 'created' too")
    if lines:
        return failed(f"{len(lines)} problems with the orders that could not be created", "\n".join(lines[:5]))
    if not judged:
        return failed("no order was refused or ran out of attempts", created.played.call.problem() or "")
    return passed(f"the {judged} orders the ERP refused or that ran out of attempts are in 'failed' with the last "
                  "status and the ERP's reason (every 422 error), and none was sent again after a 4xx")


def _outcome(entry) -> str:
    return {"timeout": "a timeout", "dropped": "a closed connection"}.get(kind(entry), str(entry.status))


def register_retries(grader) -> None:
    """Add criterion 3's checks to ``grader``."""
    grader.check("retries-unknown-outcome", title="Dropped connections, timeouts, 5xx and 429 are retried, within "
                 "max_attempts", points=8, skill="retries", dimension=Dimension.INTEGRATION, criterion=3,
                 probe="create")(check_retried)
    grader.check("waits-before-retry", title="Backoff with a cap, and Retry-After honoured, before each retry",
                 points=6, skill="retries", dimension=Dimension.INTEGRATION, criterion=3, probe="create")(check_waits)


def register_failures(grader) -> None:
    """Add criterion 6's check to ``grader``."""
    grader.check("reports-failures", title="Refused and exhausted orders are reported with the ERP's reason; a 4xx "
                 "is never resent", points=8, skill="error-handling", dimension=Dimension.API_DATA, criterion=6,
                 probe="create")(check_failures)
