"""api-sync criteria 9 and 11: what the client writes, judged from records the grader received as they were written.

The harness sends each log record and each printed line to the grader at
the moment it is written (``log.record``, ``log.output``); ``Stage`` stamps
it with how many of the run's requests the CRM had received by then. So:

- criterion 11 (the log events the ticket asks for) is judged against the
  journal: each page fetched, each retry (with its correlation ID and the
  wait, in seconds) and each failure (its path, status and correlation ID)
  must have a ``crm_sync`` record that arrived while that operation was
  going on. A record whose message could not be formatted counts as not
  written (logging writes nothing for it either).
- criterion 9 (no secret in anything the client writes) searches every
  record, every printed line and the output the child reported. It can only
  be judged when records arrived at all: a run whose records never reach the
  grader (logging switched off, the capture removed) fails it too, pointing
  at the log-events check, so silencing the logs never raises a score.
"""
from __future__ import annotations

import base64
import re
from urllib.parse import unquote

from ...checks import failed, passed
from ...results import Dimension
from .._http_support import LogLine, correlation, ended, is_token, kind, operations
from .world import SCENES

LOGGER = "crm_sync"
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.(\d+))?)(\s*(?:ms|s|secs?|seconds?)\b)?")


def _ours(line: LogLine) -> bool:
    return line.message is not None and (line.logger == LOGGER or line.logger.startswith(LOGGER + "."))


def mentions_wait(text: str, wait: float) -> bool:
    """Whether ``text`` states ``wait`` seconds: a decimal to its precision, or a whole number with a unit."""
    for found in _NUMBER.finditer(text):
        number, decimals, unit = found.group(1), found.group(2) or "", (found.group(3) or "").strip()
        if not decimals and not unit:
            continue  # "attempt 2 of 6" is not a wait
        value, slack = float(number), 0.5 * 10 ** -len(decimals) + 0.011
        if unit == "ms":
            value, slack = value / 1000, slack / 1000 + 0.011
        if abs(value - wait) <= slack:
            return True
    return False


def _mentions_number(text: str, number: int) -> bool:
    return re.search(rf"(?<![\w.]){number}(?![\w.])", text) is not None


def _without(text: str, *parts: str | None) -> str:
    for part in parts:
        if part:
            text = text.replace(part, " ")
    return text


def _take(lines: list[LogLine], used: set[int], low: int, high: int, fits) -> bool:
    """Use the earliest unused record that arrived between requests ``low`` and ``high`` and ``fits``."""
    for i, line in enumerate(lines):
        if i not in used and low <= line.after <= high and fits(line.message):
            used.add(i)
            return True
    return False


def page_problems(sync) -> list[str]:
    """Each page fetched has its own record, written while that page was being fetched."""
    mine = list(sync.played.mine)
    index = {e.seq: i for i, e in enumerate(mine)}
    lines = [ln for ln in sync.played.logs if _ours(ln)]
    used: set[int] = set()
    ops = [op for op in operations(mine) if not is_token(op[0])]
    out = []
    for k, op in enumerate(ops):
        if op[0].path != "/v1/accounts" or kind(op[-1]) != "ok":
            continue
        low = index[op[0].seq]
        high = index[ops[k + 1][0].seq] if k + 1 < len(ops) else len(mine)
        if not _take(lines, used, low, high, lambda message: True):
            out.append(f"page {op[-1].target}: no {LOGGER} record was written for it")
    return out


def retry_problems(sync) -> list[str]:
    """Each retry has a record with the operation's correlation ID and the wait, written before the operation ended."""
    mine = list(sync.played.mine)
    index = {e.seq: i for i, e in enumerate(mine)}
    lines = [ln for ln in sync.played.logs if _ours(ln)]
    used: set[int] = set()
    out = []
    for op in operations(mine):
        for before, after in zip(op, op[1:]):
            if kind(before) == "unauthorized":
                continue  # the resend after a token refresh is not a retry
            wait, cid = after.at - ended(before), correlation(before)
            low, high = index[before.seq] + 1, index[op[-1].seq] + 1

            def fits(message, cid=cid, wait=wait, entry=before):
                if cid and cid not in message:
                    return False
                return mentions_wait(_without(message, cid, entry.target, entry.path), wait)

            if not _take(lines, used, low, high, fits):
                what = "the token request" if is_token(before) else before.target
                out.append(f"retry of {what} after {kind(before)} ({wait:.2f} s): no {LOGGER} record with "
                           f"{'its correlation ID and ' if cid else ''}the wait")
    return out


def failure_problems(sync) -> list[str]:
    """Each operation that failed for good has a record naming its path, status and correlation ID."""
    mine = list(sync.played.mine)
    index = {e.seq: i for i, e in enumerate(mine)}
    lines = [ln for ln in sync.played.logs if _ours(ln)]
    used: set[int] = set()
    ops = operations(mine)
    starts = sorted(index[op[0].seq] for op in ops if not is_token(op[0]))
    out = []
    for op in ops:
        last = op[-1]
        if kind(last) == "ok":
            continue
        low = index[last.seq] + 1
        high = next((s for s in starts if s >= low), len(mine))
        status = None if kind(last) in ("timeout", "dropped") else last.status
        cid = correlation(op[0])

        def fits(message, cid=cid, status=status, entry=last):
            if cid and cid not in message:
                return False
            if entry.path not in message and unquote(entry.path) not in message:
                return False
            return status is None or _mentions_number(_without(message, cid, entry.target, entry.path), status)

        if not _take(lines, used, low, high, fits):
            out.append(f"failure of {last.method} {last.target}: no {LOGGER} record naming its path"
                       f"{', status' if status else ''}{' and correlation ID' if cid else ''}")
    return out


def check_events(syncs: dict, data):
    kept = {name: s for name, s in syncs.items() if not s.played.stopped}
    rows = []
    if "happy" in kept:
        rows += page_problems(kept["happy"])
    for name in ("flaky", "throttled"):
        if name in kept:
            rows += retry_problems(kept[name])
    for name in ("client-errors", "outage", "single-shot", "token-revoked", "token-refused"):
        if name in kept:
            rows += failure_problems(kept[name])
    if not any(_ours(line) for s in syncs.values() for line in s.played.logs):
        return failed(f"no {LOGGER} log record reached the grader from any run: log each page, each retry and each "
                      "failure with the logging module (logger crm_sync)",
                      "records from other loggers, or ones whose format failed, do not count")
    if not {"happy", "flaky", "throttled"} & set(kept):
        return failed("the grader had to stop the runs whose pages and retries must be logged (see bounded-attempts)",
                      next(iter(syncs.values())).played.stopped or "")
    if rows:
        return failed(f"{len(rows)} pages, retries or failures were not logged as the ticket asks",
                      "\n".join(rows[:5]))
    note = "" if len(kept) == len(syncs) else f" (left out: {len(syncs) - len(kept)} run(s) the grader had to stop)"
    return passed("every page, every retry (with its correlation ID and wait) and every failure (path, status, "
                  "correlation ID) was logged on crm_sync as it happened" + note)


def _needles(syncs: dict, data) -> tuple[list, list]:
    basic = base64.b64encode(f"{data.client_id}:{data.client_secret}".encode()).decode()
    secrets = {data.client_secret, data.rotated_secret}
    needles = [("CLIENT SECRET", s) for s in sorted(secrets)] + \
        [("CLIENT SECRET", basic[:24]), ("CLIENT SECRET", basic[-24:])]
    tokens = sorted({t[3:] for s in syncs.values() for t in s.played.tokens})
    needles += [("TOKEN", t[i:i + 20]) for t in tokens for i in range(0, len(t) - 19, 5)]
    whole = [(f"at_{t}", "TOKEN") for t in tokens] + [(t, "TOKEN") for t in tokens] + \
        [(s, "CLIENT SECRET") for s in sorted(secrets)] + [(basic, "CLIENT SECRET")]
    return needles, whole


def _around(line: str, marker: str, before: int = 70, width: int = 150) -> str:
    """The part of a long line around the first ``marker``."""
    start = max(0, line.find(marker) - before)
    return ("..." if start else "") + line[start:start + width] + ("..." if len(line) > start + width else "")


def check_secrets(syncs: dict, data):
    if not any(_ours(line) for s in syncs.values() for line in s.played.logs):
        return failed("cannot be judged: no crm_sync log record reached the grader from any run, so what the "
                      "client logs is unknown (see logs-operations)",
                      "the ticket asks for a record for each page, retry and failure")
    needles, whole = _needles(syncs, data)
    leaks = []
    for sync in syncs.values():
        for line in sync.played.text().splitlines():
            hits = {label for label, needle in needles if needle in line}
            if hits:
                for value, label in whole:
                    line = line.replace(value, f'"<LEAKED {label}>"')
                for label, needle in needles:
                    line = line.replace(needle, f'"<LEAKED {label}>"')
                leaks.append((sorted(hits), line))
    if leaks:
        what = " and ".join(sorted({h for hits, _ in leaks for h in hits})).lower().replace("token", "bearer token")
        return failed(f"{len(leaks)} log or output lines contain the {what}",
                      "\n".join(_around(line, '"<LEAKED') for _, line in leaks[:4]))
    return passed(f"no log record or printed line of the {len(syncs)} runs contains the client secret or a token")


def register_secrets(grader) -> None:
    """Add criterion 9's check (and the probe of every scene) to ``grader``."""
    from . import scene

    grader.probe("written")(lambda run: {name: scene(run, name) for name in SCENES})
    grader.check("no-secrets-in-logs", title="No client secret or bearer token in the logs or output", points=8,
                 skill="secrets-handling", dimension=Dimension.SECURITY, criterion=9, probe="written")(check_secrets)


def register_events(grader) -> None:
    """Add criterion 11's check to ``grader`` (after register_secrets)."""
    grader.check("logs-operations", title="Each page, retry and failure is logged with what a person needs",
                 points=5, skill="observability", dimension=Dimension.TROUBLESHOOTING, criterion=11,
                 probe="written")(check_events)
