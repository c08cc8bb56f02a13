"""api-sync criterion 10: the records and the failure list the entry points return.

The failure list is judged against the journal of the same run, on its own
terms: whatever requests the client made, each operation that did not end in
a usable answer must have one entry naming it (method, path and, for a page,
the query), with the last status (None when nothing came back), the
correlation ID it carried, its attempts (the resend after a token refresh
not counted) and the CRM's explanation, found the way the ticket says: the
problem's ``detail``, else its ``title``; the OAuth ``error_description``;
the start of a body that is not JSON; the reason phrase of an empty one; and
when no answer came, what happened (a timeout, a closed connection).
Records are judged here only by which accounts they are; their shape is
judged on the healthy run (records-canonical).
"""
from __future__ import annotations

import json
from collections import Counter
from http import HTTPStatus
from urllib.parse import parse_qsl, unquote, urlsplit

from ...checks import failed, passed
from ...evidence import field_diff, mismatch_table, show
from ...results import Dimension
from .._http_support import correlation, kind, operations
from .timing import STOPS_JUDGED_BY, attempts
from .world import Sync, result

FIELDS = ("account_id", "name", "status", "country", "email", "phone", "updated_at")
ACCOUNT = "/v1/accounts/"
NO_ANSWER = {"timeout": ("time",),
             "dropped": ("connection", "closed", "reset", "drop", "disconnect", "abort", "remote end")}
BROKEN = ("json", "body", "malformed", "decod", "pars")


def canonical(account: dict) -> dict:
    """The record the contract expects for a CRM account."""
    return {"account_id": account["id"], **{k: account[k] for k in FIELDS[1:]}}


def _record_id(record) -> str | None:
    """The account a record is for (its rendering when it is not a string), or None."""
    found = record.get("account_id", record.get("id")) if isinstance(record, dict) else None
    return found if isinstance(found, (str, type(None))) else show(found, 40)


def explanation(entry) -> tuple[str, tuple[str, ...]]:
    """(what the CRM said, words one of which the failure's detail must contain) for an operation's last answer."""
    how = kind(entry)
    if how in NO_ANSWER:
        return f"no answer ({how})", NO_ANSWER[how]
    if how == "malformed":
        return "a body that is not JSON", BROKEN
    raw = entry.response.body
    try:
        body = json.loads(raw)
    except ValueError:
        text = raw.decode("utf-8", "replace").strip()
        if text:
            return "the start of the body", (text[:40],)
        phrase = HTTPStatus(entry.status).phrase if entry.status in HTTPStatus._value2member_map_ else ""
        return "the reason phrase", (phrase,)
    if isinstance(body, dict):
        for member in ("detail", "title", "error_description"):
            if isinstance(body.get(member), str) and body[member].strip():
                return f"its {member}", (body[member][:40],)
    return "the body", (raw.decode("utf-8", "replace")[:40],)


def _named(operation) -> tuple[str, str, list] | None:
    """(method, path, query pairs) of a failure's ``operation``, or None when it is not "METHOD target"."""
    if not isinstance(operation, str):
        return None
    method, _, target = operation.strip().partition(" ")
    if not target.strip():
        return None
    parts = urlsplit(target.strip())
    return method, parts.path, sorted(parse_qsl(parts.query, keep_blank_values=True))


def _failure_lines(op, entry_got) -> list[str]:
    last, first = op[-1], op[0]
    want_status = None if kind(last) in NO_ANSWER else last.status
    got = entry_got
    lines = []
    status = got.get("status", "<absent>")
    if not (status is None and want_status is None) and not (type(status) is int and status == want_status):
        lines.append(f"status: expected {show(want_status)} (the last HTTP status), got {show(status, 40)}")
    want_attempts = attempts(op)
    if not (type(got.get("attempts")) is int and got["attempts"] == want_attempts):
        lines.append(f"attempts: expected {want_attempts}, got {show(got.get('attempts', '<absent>'), 40)}")
    cid = correlation(first)
    if cid and got.get("correlation_id") != cid:
        lines.append(f"correlation_id: expected {show(cid)}, got {show(got.get('correlation_id', '<absent>'), 60)}")
    said, words = explanation(last)
    detail = got.get("detail")
    if not isinstance(detail, str) or not any(w.lower() in detail.lower() for w in words if w):
        lines.append(f"detail: expected {said} ({show(words[0] if len(words) == 1 else list(words[:3]), 60)}), "
                     f"got {show(detail, 60)}")
    elif any(brace in detail for brace in ('{"', "{'")):
        lines.append(f"detail: expected {said}, the text itself, not the whole body: got {show(detail, 60)}")
    return lines


def _judge(sync: Sync, data) -> list[tuple[str, list[str]]]:
    """Rows of problems with one run's failures and records."""
    records, failures, why = result(sync.played)
    if why:
        return [("result", [why])]
    rows = []
    entries = [f for f in failures if isinstance(f, dict)]
    if len(entries) < len(failures):
        rows.append(("failures", [f"{len(failures) - len(entries)} entries are not objects"]))
    ops = operations(sync.played.mine)
    used: set[int] = set()
    for op in ops:
        last = op[-1]
        target = f"{last.method} {last.target}"
        query = sorted(last.query)
        match = next((i for i, f in enumerate(entries) if i not in used
                      and _named(f.get("operation")) == (last.method, last.path, query)), None)
        if kind(last) == "ok":
            continue
        if match is None:
            rows.append((target, ["no failure names this request in 'operation' (method, path and, for a page, "
                                  "its query)"]))
            continue
        used.add(match)
        lines = _failure_lines(op, entries[match])
        if lines:
            rows.append((target, lines))
    extra = [show(f.get("operation"), 60) for i, f in enumerate(entries) if i not in used]
    if extra:
        rows.append(("failures", [f"{len(extra)} entries name no request that failed: {', '.join(extra[:3])}"]))
    wanted = [canonical(json.loads(op[-1].response.body))["account_id"] if op[-1].path.startswith(ACCOUNT)
              else None for op in ops if kind(op[-1]) == "ok" and op[-1].path != "/oauth/token"]
    pages = [a["id"] for op in ops if kind(op[-1]) == "ok" and op[-1].path == "/v1/accounts"
             for a in json.loads(op[-1].response.body)["data"]]
    got_ids = [_record_id(r) for r in records]
    if pages or not any(w for w in wanted):
        if got_ids != pages:
            rows.append(("records", [f"expected the {len(pages)} accounts of the pages fetched before the failure, "
                                     f"in order, got {show(got_ids, 90)}"]))
    elif Counter(map(str, got_ids)) != Counter(w for w in wanted if w):
        rows.append(("records", [f"expected the {len([w for w in wanted if w])} accounts read, got "
                                 f"{show(got_ids, 90)}"]))
    return rows


def _segments(sync: Sync, data) -> list[tuple[str, list[str]]]:
    """Each id fetch_accounts was given reached the CRM as one path segment."""
    sent = {unquote(e.path[len(ACCOUNT):]) for e in sync.played.mine
            if e.path.startswith(ACCOUNT) and "/" not in e.path[len(ACCOUNT):]}
    return [(account, ["never requested as one path segment: URL-encode the id (a '/' in it must not split the "
                       "path)"]) for account in data.fetch_ids if account not in sent]


def check_failures(syncs: tuple, data):
    kept = [s for s in syncs if not s.played.stopped]
    if not kept:
        return failed("no run returned a failure list: the grader had to stop every one (see bounded-attempts)",
                      syncs[0].played.stopped or "")
    rows = []
    for sync in kept:
        scene_rows = _judge(sync, data)
        if sync is syncs[0]:
            scene_rows += _segments(sync, data)
        rows += scene_rows
    note = "" if len(kept) == len(syncs) else \
        f"; {len(syncs) - len(kept)} run(s) the grader had to stop are judged by {STOPS_JUDGED_BY}"
    if rows:
        return failed(f"{len(rows)} problems in the records and failures returned{note}",
                      mismatch_table(rows, len(rows)))
    return passed("each request that failed for good is in the failure list once, with status, correlation ID, "
                  "attempts and the CRM's explanation (problem detail or title, OAuth description, text body, "
                  "reason phrase, timeout, closed connection); records are the accounts read" + note)


def check_records(sync: Sync, data):
    records, failures, why = result(sync.played)
    if why:
        return failed(f"no records to judge: {why}")
    want = [canonical(a) for a in sync.before]
    if records == want and not failures:
        return passed(f"{len(want)} canonical records in CRM order, no failures")
    by_id = {_record_id(r): r for r in records if isinstance(_record_id(r), str)}
    rows = [(w["account_id"], field_diff(w, by_id.get(w["account_id"], {}), FIELDS)) for w in want]
    rows = [(label, lines) for label, lines in rows if lines]
    if not rows and [_record_id(r) for r in records] != [w["account_id"] for w in want]:
        rows.append(("order", [f"expected {len(want)} records in the CRM's order, got {len(records)}"]))
    if not rows and any(type(r) is not dict or set(r) != set(FIELDS) for r in records):
        rows.append(("keys", [f"expected exactly the keys {list(FIELDS)}"]))
    if failures:
        rows.append(("failures", [f"expected none on a healthy CRM, got {show(failures, 100)}"]))
    return failed(f"{len(rows)} of {len(want)} records differ from the canonical shape",
                  mismatch_table(rows, len(want)))


def register(grader) -> None:
    """Add criterion 10's checks and their probe to ``grader``."""
    from . import scenes

    grader.probe("failure-scenes")(lambda run: scenes(run, "client-errors", "outage", "single-shot", "token-revoked",
                                                         "token-refused"))
    grader.check("failure-report", title="Failures name the request, status, correlation ID, attempts and the CRM's "
                 "explanation", points=6, skill="error-reporting", dimension=Dimension.TROUBLESHOOTING, criterion=10,
                 probe="failure-scenes")(check_failures)
    grader.check("records-canonical", title="Records in the canonical shape, failures empty on a healthy CRM",
                 points=4, skill="data-mapping", dimension=Dimension.API_DATA, criterion=10,
                 probe="happy")(check_records)
