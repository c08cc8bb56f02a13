"""Hidden checks for api-sync: a CRM client that survives tokens expiring, throttling, outages and bad ids.

Each probe runs ``sync_accounts`` (or ``fetch_accounts``) once, through the
``_iclab_http`` harness, against its own scene: the grader's CRM (world.py)
with one scenario, on its own virtual clock. The checks judge what the CRM's
journal saw (methods, targets, headers, virtual arrival times, how each
response was delivered) and what the entry point returned; the harness's own
report is only trusted for the logs, which are the submission's output.

Waits are measured on the virtual clock: the wait before a retry is the
arrival of the retry minus the moment the client stopped waiting for the
previous attempt (for a timed-out request, when it hung up). Compared with
small tolerances: sleeps are exact, hang-up times are measured.

The package is split because one module would pass 400 lines: world.py
(the CRM, hidden data, scenarios), timing.py (retries and waits) and this
file (probes and the checks about tokens, paging, errors and logs).
"""
from __future__ import annotations

import base64
import json
from collections import Counter

from ...checks import Grader, failed, passed
from ...evidence import field_diff, mismatch_table, show
from ...results import Dimension
from .._http_support import Stage, bearer, correlation, environment, is_token, kind, runs
from . import timing
from .world import MODULE, SCENARIOS, SLOW_SECONDS, Hidden, Sync, grading_crm, make_hidden, result

grader = Grader(seed=20261301, data=make_hidden)
REFUSED = (400, 404, 422)
FIELDS = ("account_id", "name", "status", "country", "email", "phone", "updated_at")


@grader.environment
def _environment(data: Hidden):
    return environment(Stage(max_requests=100, call_timeout=6.0), crm_class=grading_crm(data))


def _scene(run, name: str) -> Sync:
    stage: Stage = run.env.stage

    def play() -> Sync:
        scene = stage.open(name, lambda clock: run.env.crm_class(SCENARIOS[name], seed=run.data.seed, clock=clock))
        try:
            before = scene.service.accounts()
            config = run.data.config_for(scene.url)
            if name == "client-errors":
                played = stage.play(run.call, scene, f"{MODULE}:fetch_accounts", config, list(run.data.fetch_ids))
            else:
                played = stage.play(run.call, scene, f"{MODULE}:sync_accounts", config)
            return Sync(played, before, scene.service.accounts())
        finally:
            stage.finish(scene)

    return stage.memo(name, play)


for _name in SCENARIOS:
    grader.probe(_name)(lambda run, _name=_name: _scene(run, _name))


@grader.probe("logs")
def _probe_logs(run):
    """The runs whose logs are searched for secrets: the healthy one and the two with most error paths."""
    return tuple(_scene(run, name) for name in ("happy", "flaky", "client-errors"))


# -- helpers --------------------------------------------------------------------------
def _record_id(record) -> str | None:
    return record.get("account_id", record.get("id")) if isinstance(record, dict) else None


def canonical(account: dict) -> dict:
    """The record the contract expects for a CRM account."""
    return {"account_id": account["id"], **{k: account[k] for k in FIELDS[1:]}}


def _around(line: str, marker: str, before: int = 70, width: int = 150) -> str:
    """The part of a long line around the first ``marker``."""
    start = max(0, line.find(marker) - before)
    return ("..." if start else "") + line[start:start + width] + ("..." if len(line) > start + width else "")


def _issued(entry) -> str | None:
    try:
        return json.loads(entry.response.body).get("access_token")
    except (ValueError, AttributeError):
        return None


# -- 1. token ---------------------------------------------------------------------------
@grader.check("token-reused", title="One client-credentials token, reused for the whole sync", points=8,
              skill="oauth2", dimension=Dimension.API_DATA, criterion=1, probe="happy")
def check_token(sync: Sync, data):
    entries = sync.played.mine
    tokens = [e for e in entries if is_token(e)]
    calls = [e for e in entries if not is_token(e)]
    granted = [_issued(e) for e in tokens if e.status == 200]
    if not granted:
        got = ", ".join(f"{e.status} {show(e.response.body.decode('utf-8', 'replace'), 80)}" for e in tokens[:2])
        return failed("no access token was obtained from POST /oauth/token with the client credentials",
                      got or "no request reached /oauth/token")
    if not calls:
        return failed("a token was obtained, but no API request followed", sync.played.call.problem())
    if len(tokens) > 1:
        return failed(f"{len(tokens)} token requests for {len(calls)} API requests: get one token per sync and "
                      "reuse it until the CRM says it is invalid",
                      f"token requests at positions {[entries.index(e) + 1 for e in tokens][:8]} of the journal")
    stray = [e for e in calls if bearer(e) != granted[0]]
    if stray:
        return failed(f"{len(stray)} of {len(calls)} API requests did not carry the token obtained",
                      "\n".join(f"{e.method} {e.target}: Authorization {'missing' if bearer(e) is None else 'other'}"
                                for e in stray[:3]))
    return passed("one token request, and that token on every API request")


@grader.check("refresh-on-401", title="An expired token is replaced once and the request retried", points=8,
              skill="oauth2", dimension=Dimension.API_DATA, criterion=2, probe="token-expiry")
def check_refresh(sync: Sync, data):
    entries = sync.played.mine
    rejected = next((i for i, e in enumerate(entries) if not is_token(e) and e.status == 401), None)
    if rejected is None:
        return failed("the sync ended before the CRM expired its token (on the third page request)",
                      result(sync.played)[2] or f"{len(entries)} requests in all")
    expired = entries[rejected]
    later = entries[rejected + 1:]
    retry = next((i for i, e in enumerate(later) if not is_token(e)), None)
    new_tokens = {_issued(e) for e in later[:retry] if e.status == 200} if retry is not None else set()
    if retry is None:
        return failed("after a 401 invalid_token the client sent nothing more: get a new token and retry",
                      f"{expired.method} {expired.target} -> 401 was the last API request")
    again = later[retry]
    problems = []
    if not new_tokens - {None}:
        problems.append("no new token was requested between the 401 and the next request")
    elif bearer(again) not in new_tokens:
        problems.append("the next request did not carry the new token")
    if again.target != expired.target:
        problems.append(f"the next request was {again.method} {again.target}, not the one that got the 401")
    elif again.status != 200:
        problems.append(f"the retry got {again.status}")
    if problems:
        return failed("the request that got 401 invalid_token was not retried once with a new token",
                      "\n".join(problems))
    return passed("after 401 invalid_token: one new token, then the same request again, which succeeded")


@grader.check("no-401-loop", title="A token that keeps being refused is not retried forever", points=6,
              skill="error-handling", dimension=Dimension.INTEGRATION, criterion=2, probe="token-revoked")
def check_no_loop(sync: Sync, data):
    if sync.played.stopped:
        return failed(f"the grader had to stop the run: {sync.played.stopped}",
                      "every token the CRM issues is refused from the second page on; refresh once, then give up")
    ops = runs(sync.played.mine, key=lambda e: (e.method, e.target))
    if not any(e.status == 401 for op in ops for e in op):
        return failed("the run ended before the CRM refused its token (from the second page on)",
                      result(sync.played)[2] or f"{sum(map(len, ops))} API requests")
    looping = [op for op in ops if sum(e.status == 401 for e in op) > 0 and len(op) > 2]
    if looping:
        op = looping[0]
        return failed(f"a request refused with 401 was sent {len(op)} times; after one refresh it must fail",
                      f"{op[0].method} {op[0].target}: {[e.status for e in op][:10]}")
    return passed("the request whose token kept being refused was tried at most twice, then the run ended")


# -- 3. pagination ----------------------------------------------------------------------
@grader.check("cursor-pagination", title="Cursor pagination: every account exactly once while accounts are created",
              points=8, skill="pagination", dimension=Dimension.API_DATA, criterion=3, probe="growing")
def check_pages(sync: Sync, data):
    records, failures, why = result(sync.played)
    if why:
        return failed(f"no records to judge: {why}")
    originals = [a["id"] for a in sync.before]
    known = {a["id"] for a in sync.after}
    got = Counter(_record_id(r) for r in records)
    lines = [f"{i} came back {n} times" for i, n in got.items() if n > 1]
    lines += [f"{i} is missing" for i in originals if i not in got]
    lines += [f"{i} is not a CRM account" for i in got if i not in known]
    if lines:
        return failed(f"{len(lines)} problems with the {len(originals)} accounts that existed when the sync started"
                      " (2 accounts were created during the sync, twice)",
                      "\n".join(lines[:6]) + ("\nfailures reported: " + show(failures, 150) if failures else ""))
    return passed(f"all {len(originals)} accounts came back exactly once while accounts were being created")


timing.register(grader)  # criteria 4 and 5: Retry-After, retries, backoff, bounds


# -- 6. client errors ---------------------------------------------------------------------
def _refused_ops(sync: Sync):
    ops = runs(sync.played.mine, key=lambda e: (e.method, e.target))
    return [op for op in ops if op[0].status in REFUSED and kind(op[0]) == "refused"]


@grader.check("no-retry-client-errors", title="400, 404 and 422 are never retried", points=8,
              skill="error-handling", dimension=Dimension.INTEGRATION, criterion=6, probe="client-errors")
def check_no_retry(sync: Sync, data):
    refused = _refused_ops(sync)
    if not refused:
        return failed("none of the account ids that should be refused (400, 404, 422) was requested",
                      sync.played.call.problem() or f"ids: {list(data.fetch_ids)}")
    retried = [op for op in refused if len(op) > 1]
    if retried:
        return failed(f"{len(retried)} of {len(refused)} requests refused with a 4xx were retried; a 4xx will "
                      "not change by asking again",
                      "\n".join(f"{op[0].target}: {op[0].status}, sent {len(op)} times" for op in retried[:4]))
    statuses = sorted({op[0].status for op in refused})
    return passed(f"each of the {len(refused)} requests refused with {statuses} was sent once")


# -- 7, 8 and 9. correlation IDs, timeouts, secrets ----------------------------------------
@grader.check("correlation-ids", title="One X-Correlation-ID per logical operation, kept on its retries", points=6,
              skill="observability", dimension=Dimension.TROUBLESHOOTING, criterion=7, probe="flaky")
def check_correlation(sync: Sync, data):
    ops = runs(sync.played.mine, key=lambda e: (e.method, e.target))
    if not ops:
        return failed("no API request was made", sync.played.call.problem())
    lines = []
    missing = [e for op in ops for e in op if not correlation(e)]
    if missing:
        lines.append(f"{len(missing)} requests carried no X-Correlation-ID, e.g. {missing[0].target}")
    changed = [op for op in ops if len({correlation(e) for e in op}) > 1]
    if changed:
        lines.append(f"{len(changed)} operations changed their ID between retries, e.g. {changed[0][0].target}")
    counts = Counter(correlation(op[0]) for op in ops if correlation(op[0]))
    shared = [cid for cid, n in counts.items() if n > 1]
    if shared:
        lines.append(f"{len(shared)} IDs were used by more than one operation")
    if lines:
        return failed("correlation IDs do not follow the logical operations", "\n".join(lines))
    return passed("each operation had its own X-Correlation-ID and kept it across its retries")


@grader.check("request-timeout", title="Every request has a timeout", points=6, skill="timeouts",
              dimension=Dimension.INTEGRATION, criterion=8, probe="flaky")
def check_timeout(sync: Sync, data):
    held = [e for e in sync.played.mine if e.response.stall > 0]
    if not held:
        return failed("the run ended before the CRM's slow response (page 4, first try)",
                      result(sync.played)[2] or "")
    limit = 3 * data.config["timeout"]
    waited = [e for e in held if not e.client_gone or e.response.waited > limit]
    if waited:
        e = waited[0]
        how = "waited for all of it: no timeout?" if not e.client_gone else "hung up long after the timeout"
        return failed(f"a response held {SLOW_SECONDS} s (virtual) was not abandoned after the configured timeout",
                      f"{e.method} {e.target}: held {SLOW_SECONDS} s; the client {how}")
    return passed(f"the response held {SLOW_SECONDS} s was abandoned after the configured timeout")


@grader.check("no-secrets-in-logs", title="No client secret or bearer token in the logs", points=8,
              skill="secrets-handling", dimension=Dimension.SECURITY, criterion=9, probe="logs")
def check_secrets(syncs: tuple, data):
    basic = base64.b64encode(f"{data.client_id}:{data.client_secret}".encode()).decode()
    needles = [("CLIENT SECRET", data.client_secret), ("CLIENT SECRET", basic[:24]), ("CLIENT SECRET", basic[-24:])]
    tokens = {t[3:] for s in syncs for t in s.played.tokens}
    needles += [("TOKEN", t[i:i + 20]) for t in sorted(tokens) for i in range(0, len(t) - 19, 5)]
    if not any(bearer(e) for sync in syncs for e in sync.played.mine):
        return failed("no run got as far as an authenticated request, so there are no logs worth judging",
                      "; ".join(filter(None, (result(s.played)[2] for s in syncs)))[:300])
    leaks = []
    for sync in syncs:
        for line in sync.played.text().splitlines():
            hits = {label for label, needle in needles if needle in line}
            if hits:
                for value, label in [(f"at_{t}", "TOKEN") for t in tokens] + [(t, "TOKEN") for t in tokens] + \
                        [(data.client_secret, "CLIENT SECRET"), (basic, "CLIENT SECRET")]:
                    line = line.replace(value, f'"<LEAKED {label}>"')
                for label, needle in needles:
                    line = line.replace(needle, f'"<LEAKED {label}>"')
                leaks.append((sorted(hits), line))
    if leaks:
        what = " and ".join(sorted({h for hits, _ in leaks for h in hits})).lower().replace("token", "bearer token")
        return failed(f"{len(leaks)} log or output lines contain the {what}",
                      "\n".join(_around(line, '"<LEAKED') for _, line in leaks[:4]))
    return passed("no log line or printed output of three runs contains the client secret or a token")


# -- 10. what the entry points return ----------------------------------------------------
@grader.check("failure-report", title="Failures name the request, status, correlation ID and the CRM's detail",
              points=4, skill="error-reporting", dimension=Dimension.TROUBLESHOOTING, criterion=10,
              probe="client-errors")
def check_failures(sync: Sync, data):
    records, failures, why = result(sync.played)
    if why:
        return failed(f"no failure list to judge: {why}")
    rows = []
    for op in _refused_ops(sync):
        entry, cid = op[-1], correlation(op[0])
        match = [f for f in failures if isinstance(f, dict) and entry.path in str(f.get("operation", ""))]
        detail = json.loads(entry.response.body).get("detail", "")
        if not match:
            rows.append((entry.path, ["no entry in failures names this request in 'operation'"]))
            continue
        got = match[0]
        attempts = sum(kind(e) != "unauthorized" for e in op)  # the resend after a token refresh is no attempt
        lines = field_diff({"status": entry.status, "correlation_id": cid, "attempts": attempts}, got,
                           ("status", "correlation_id", "attempts"))
        if not cid:
            lines.append("the request carried no X-Correlation-ID to report")
        if detail[:40] not in str(got.get("detail", "")):
            lines.append(f"detail: expected the CRM's detail {show(detail, 60)}, got {show(got.get('detail'), 60)}")
        if lines:
            rows.append((entry.path, lines))
    asked = {e.path.rsplit("/", 1)[-1] for e in sync.played.mine if not is_token(e)}
    for account_id, _ in data.refused:
        if account_id not in asked and not any(account_id in json.dumps(f, default=str) for f in failures):
            rows.append((account_id, ["never requested and not in failures"]))
    wanted = [a["id"] for a in sync.before if a["id"] in data.fetch_ids and a["id"] not in data.merged]
    got_ids = [_record_id(r) for r in records]
    if sorted(got_ids, key=str) != sorted(wanted):
        rows.append(("records", [f"expected the {len(wanted)} readable accounts, got {show(got_ids, 90)}"]))
    if rows:
        return failed(f"{len(rows)} problems in the records and failures returned", mismatch_table(rows, len(rows)))
    return passed(f"{len(wanted)} records, and {len(data.refused)} failures each with status, correlation ID, "
                  "attempts and the CRM's detail")


@grader.check("records-canonical", title="Records in the canonical shape, failures empty on a healthy CRM",
              points=4, skill="data-mapping", dimension=Dimension.API_DATA, criterion=10, probe="happy")
def check_records(sync: Sync, data):
    records, failures, why = result(sync.played)
    if why:
        return failed(f"no records to judge: {why}")
    want = [canonical(a) for a in sync.before]
    if records == want and not failures:
        return passed(f"{len(want)} canonical records in CRM order, no failures")
    by_id = {_record_id(r): r for r in records}
    rows = [(w["account_id"], field_diff(w, by_id.get(w["account_id"], {}), FIELDS)) for w in want]
    rows = [(label, lines) for label, lines in rows if lines]
    if not rows and [_record_id(r) for r in records] != [w["account_id"] for w in want]:
        rows.append(("order", [f"expected {len(want)} records in the CRM's order, got {len(records)}"]))
    if failures:
        rows.append(("failures", [f"expected none on a healthy CRM, got {show(failures, 100)}"]))
    return failed(f"{len(rows)} of {len(want)} records differ from the canonical shape",
                  mismatch_table(rows, len(want)))
