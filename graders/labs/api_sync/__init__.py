"""Hidden checks for api-sync: a CRM client that survives tokens expiring, throttling, outages and bad ids.

Each probe runs ``sync_accounts`` (or ``fetch_accounts``) once, through the
``_iclab_http`` harness, against its own scene: the grader's CRM (world.py)
with one scenario, on its own virtual clock. The checks judge what the CRM's
journal saw (methods, targets, headers, virtual arrival times, how each
response was delivered), what the entry point returned, and the log records
and printed lines that reached the grader while the run went on.

Waits are measured on the virtual clock: the wait before a retry is the
arrival of the retry minus the moment the client stopped waiting for the
previous attempt (for a timed-out request, when it hung up). Compared with
small tolerances: sleeps are exact, hang-up times are measured.

A run the grader had to stop (a loop, an endless wait) is judged by the
check about loops and bounds; the other checks leave that scene out and say
so, so one mistake costs one check.

The package: world.py (the CRM, hidden data, scenes), coverage.py (the edge
classes per criterion), timing.py (retries and waits), reports.py (the
failure list and the records), logs.py (log events and secrets) and this
file (probes and the checks about tokens, paging, 4xx, correlation IDs and
timeouts).
"""
from __future__ import annotations

import json
import zlib
from collections import Counter

from ...checks import Grader, failed, passed
from ...evidence import show
from ...results import Dimension
from .._http_support import Stage, bearer, correlation, environment, is_token, kind, operations
from . import logs, reports, timing
from .timing import STOPS_JUDGED_BY
from .coverage import COVERAGE
from .world import FETCH_SCENES, MODULE, SCENES, SLOW_SECONDS, Hidden, Sync, grading_crm, make_hidden, result

grader = Grader(seed=20261301, data=make_hidden, coverage=COVERAGE)
FIELDS = ("account_id", "name", "status", "country", "email", "phone", "updated_at")


@grader.environment
def _environment(data: Hidden):
    return environment(Stage(max_requests=100, call_timeout=6.0), crm_class=grading_crm(data))


def scene(run, name: str) -> Sync:
    """Play scene ``name`` once per grading (several probes share a scene's evidence)."""
    stage: Stage = run.env.stage

    def play() -> Sync:
        scenario = run.data.scenarios[name]
        opened = stage.open(name, lambda clock: run.env.crm_class(scenario, seed=run.data.seed, clock=clock))
        try:
            before = opened.service.accounts()
            config = run.data.config_for(opened.url, name)
            seed = zlib.crc32(name.encode())  # each scene its own jitter draws
            if name in FETCH_SCENES:
                played = stage.play(run.call, opened, f"{MODULE}:fetch_accounts", config, list(run.data.fetch_ids),
                                    seed=seed)
            else:
                played = stage.play(run.call, opened, f"{MODULE}:sync_accounts", config, seed=seed)
            return Sync(played, before, opened.service.accounts())
        finally:
            stage.finish(opened)

    return stage.memo(name, play)


def scenes(run, *names: str) -> tuple[Sync, ...]:
    return tuple(scene(run, name) for name in names)


for _name in SCENES:
    grader.probe(_name)(lambda run, _name=_name: scene(run, _name))
grader.probe("token-scenes")(lambda run: scenes(run, "token-expiry", "client-errors"))
grader.probe("client-error-scenes")(lambda run: scenes(run, "client-errors", "token-refused"))
grader.probe("correlation-scenes")(lambda run: scenes(run, "flaky", "client-errors"))
grader.probe("timeout-scenes")(lambda run: scenes(run, "flaky", "single-shot", "client-errors"))
grader.probe("paging-scenes")(lambda run: scenes(run, "growing", "happy"))


# -- helpers --------------------------------------------------------------------------
def _record_id(record) -> str | None:
    """The account a record is for (its rendering when it is not a string), or None."""
    found = record.get("account_id", record.get("id")) if isinstance(record, dict) else None
    return found if isinstance(found, (str, type(None))) else show(found, 40)


def _issued(entry) -> str | None:
    try:
        body = json.loads(entry.response.body)
    except ValueError:
        return None
    return body.get("access_token") if isinstance(body, dict) else None


def _ops(sync: Sync):
    """The API operations of a run (token requests left out)."""
    return [op for op in operations(sync.played.mine) if not is_token(op[0])]


def _unstopped(syncs) -> tuple[list, str]:
    """The runs the grader did not have to stop, and a note naming those left out."""
    kept = [s for s in syncs if not s.played.stopped]
    note = "" if len(kept) == len(syncs) else \
        f" ({len(syncs) - len(kept)} run(s) the grader had to stop are judged by {STOPS_JUDGED_BY})"
    return kept, note


# -- 1. token ---------------------------------------------------------------------------
@grader.check("token-reused", title="One client-credentials token, reused for the whole sync", points=7,
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


# -- 2. token refresh ---------------------------------------------------------------------
def _refresh_problems(sync: Sync) -> tuple[int, list[str]]:
    """(how many 401 invalid_token answers, what went wrong after them) in one run."""
    entries = sync.played.mine
    rejected = [i for i, e in enumerate(entries) if not is_token(e) and kind(e) == "unauthorized"]
    problems = []
    for i in rejected:
        expired, later = entries[i], entries[i + 1:]
        retry = next((j for j, e in enumerate(later) if not is_token(e)), None)
        if retry is None:
            problems.append(f"{expired.method} {expired.target} -> 401 was the last API request: get a new token "
                            "and retry")
            continue
        new_tokens = {_issued(e) for e in later[:retry] if e.status == 200} - {None}
        again = later[retry]
        if not new_tokens:
            problems.append(f"{expired.target}: no new token was requested between the 401 and the next request")
        elif bearer(again) not in new_tokens:
            problems.append(f"{expired.target}: the next request did not carry the new token")
        if again.target != expired.target:
            problems.append(f"{expired.target}: the next request was {again.method} {again.target}, not the one "
                            "that got the 401")
    return len(rejected), problems


@grader.check("refresh-on-401", title="An expired token is replaced once and the request retried", points=7,
              skill="oauth2", dimension=Dimension.API_DATA, criterion=2, probe="token-scenes")
def check_refresh(syncs: tuple, data):
    kept, note = _unstopped(syncs)
    seen, problems = 0, []
    for sync in kept:
        n, lines = _refresh_problems(sync)
        seen += n
        problems += lines
    if problems:
        return failed("a request that got 401 invalid_token was not retried once with a new token",
                      "\n".join(problems[:4]))
    if not seen:
        return failed("no run got as far as the expired token (a page request, then an account request)",
                      "; ".join(filter(None, (result(s.played)[2] for s in syncs))) or "no 401 in the journals")
    return passed(f"after each of {seen} 401 invalid_token answers (a page, an account): a new token, then the same "
                  "request again" + note)


@grader.check("no-401-loop", title="A token that keeps being refused is not retried forever", points=6,
              skill="error-handling", dimension=Dimension.INTEGRATION, criterion=2, probe="token-revoked")
def check_no_loop(sync: Sync, data):
    if sync.played.stopped:
        return failed(f"the grader had to stop the run: {sync.played.stopped}",
                      "every token the CRM issues is refused from the second page on; refresh once, then give up")
    ops = _ops(sync)
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
def _paging_problems(sync: Sync, data) -> list[str]:
    """Every list request asks for limit=page_size, and none follows a page that said has_more: false."""
    lines, size = [], str(data.config["page_size"])
    for op in _ops(sync):
        entry = op[0]
        if entry.path != "/v1/accounts":
            continue
        limits = [v for k, v in entry.query if k == "limit"]
        if limits != [size]:
            lines.append(f"{entry.target}: limit should be the config's page_size ({size})")
    listed = [e for e in sync.played.mine if e.path == "/v1/accounts" and kind(e) == "ok"]
    for before, after in zip(listed, listed[1:]):
        page = json.loads(before.response.body)
        if isinstance(page, dict) and page.get("has_more") is False:
            lines.append(f"{after.target} was requested after a page that said has_more: false")
            break
    return lines


@grader.check("cursor-pagination", title="Cursor pagination: every account exactly once while accounts are created",
              points=6, skill="pagination", dimension=Dimension.API_DATA, criterion=3, probe="paging-scenes")
def check_pages(syncs: tuple, data):
    sync = syncs[0]
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
    lines = [line for s in syncs for line in _paging_problems(s, data)]
    if lines:
        return failed("the list requests did not follow the cursor protocol (limit, starting_after, has_more)",
                      "\n".join(lines[:4]))
    return passed(f"all {len(originals)} accounts came back exactly once while accounts were being created; "
                  "every list request asked for page_size and paging stopped at has_more: false")


timing.register(grader)  # criteria 4 and 5: Retry-After, retries, backoff, bounds


# -- 6. client errors ---------------------------------------------------------------------
@grader.check("no-retry-client-errors", title="400, 403, 404, 410 and 422, and a refused client, are never retried",
              points=7, skill="error-handling", dimension=Dimension.INTEGRATION, criterion=6,
              probe="client-error-scenes")
def check_no_retry(syncs: tuple, data):
    kept, note = _unstopped(syncs)
    refused = [op for s in kept for op in operations(s.played.mine) if kind(op[0]) == "refused"
               or (is_token(op[0]) and op[0].status == 401)]
    if not refused:
        return failed("no request that should be refused (400, 403, 404, 410, 422, or a token request with a "
                      "rotated secret) was sent", "; ".join(filter(None, (result(s.played)[2] for s in syncs))))
    retried = [op for op in refused if len(op) > 1]
    if retried:
        return failed(f"{len(retried)} of {len(refused)} requests refused with a 4xx were retried; a 4xx will "
                      "not change by asking again",
                      "\n".join(f"{op[0].method} {op[0].target}: {op[0].status}, sent {len(op)} times"
                                for op in retried[:4]))
    statuses = sorted({op[0].status for op in refused})
    return passed(f"each of the {len(refused)} requests refused with {statuses} was sent once" + note)


# -- 7 and 8. correlation IDs, timeouts ------------------------------------------------------
@grader.check("correlation-ids", title="One X-Correlation-ID per logical operation, kept on its retries", points=6,
              skill="observability", dimension=Dimension.TROUBLESHOOTING, criterion=7, probe="correlation-scenes")
def check_correlation(syncs: tuple, data):
    kept, note = _unstopped(syncs)
    ops = [op for s in kept for op in _ops(s)]
    if not ops:
        return failed("no API request was made", syncs[0].played.call.problem())
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
    return passed(f"each of {len(ops)} operations (pages and accounts) had its own X-Correlation-ID and kept it "
                  "across its retries" + note)


@grader.check("request-timeout", title="Every request has a timeout", points=6, skill="timeouts",
              dimension=Dimension.INTEGRATION, criterion=8, probe="timeout-scenes")
def check_timeout(syncs: tuple, data):
    kept, note = _unstopped(syncs)
    held = [(s, e) for s in kept for e in s.played.mine if e.response.stall > 0]
    if not held:
        return failed("the runs ended before any of the CRM's slow responses (a token, a page, an account)",
                      "; ".join(filter(None, (result(s.played)[2] for s in syncs))))
    # When the client hung up is measured in real time, so it varies with the machine's load: the verdict only asks
    # whether it hung up at all, on a response held 16 times the configured timeout.
    waited = [(s, e) for s, e in held if not e.client_gone]
    if waited:
        _, e = waited[0]
        return failed(f"{len(waited)} of {len(held)} responses held {SLOW_SECONDS} s (virtual) were not abandoned "
                      "after the configured timeout",
                      f"{e.method} {e.target}: held {SLOW_SECONDS} s; the client waited for all of it: no timeout?")
    what = sorted({"the token" if is_token(e) else "an account" if e.path.count("/") > 2 else "a page"
                   for _, e in held})
    return passed(f"each of the {len(held)} responses held {SLOW_SECONDS} s ({', '.join(what)}) was abandoned after "
                  "the configured timeout" + note)


logs.register_secrets(grader)  # criterion 9: no secret in anything the client writes
reports.register(grader)  # criterion 10: the failure list and the records
logs.register_events(grader)  # criterion 11: the log events the ticket asks for
