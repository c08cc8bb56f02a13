"""api-sync's grader: the grading CRM, the timing rules, hostile submissions, speed and determinism."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from graders import catalog, engine, paths
from graders.labs import api_sync as sync_lab
from graders.labs._http_support import Stage
from graders.labs.api_sync import logs, timing
from graders.labs.api_sync.world import BLOCKED, DELETED, MALFORMED, MERGED, UNKNOWN, Sync, grading_crm
from graders.results import Status
from graders.sandbox import Limits, Sandbox
from graders.verify import comparable
from mock_services import (
    Delivery,
    JournalEntry,
    Nth,
    RateLimited,
    RecordedResponse,
    Request,
    Scenario,
    build,
    on,
)

ROOT = paths.ROOT
REFERENCE = ROOT / "solutions/api-sync/reference"
LAB = catalog.get_lab("api-sync")
DATA = sync_lab.grader.data()
SCENARIOS = DATA.scenarios


def _crm(scenario="happy"):
    return grading_crm(DATA)(SCENARIOS[scenario] if isinstance(scenario, str) else scenario, seed=DATA.seed)


def _token(crm) -> dict:
    import base64

    basic = base64.b64encode(f"{DATA.client_id}:{DATA.client_secret}".encode()).decode()
    reply = crm.handle(Request.build("POST", "/oauth/token", {"Authorization": f"Basic {basic}",
                                                                "Content-Type": "application/x-www-form-urlencoded"},
                                     "grant_type=client_credentials"))
    assert reply.status == 200
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


def _page_ids(crm, headers, target) -> tuple[list[str], bool]:
    page = crm.handle(Request.build("GET", target, headers)).json()
    return [a["id"] for a in page["data"]], page["has_more"]


def _submission(tmp_path: Path, source: str) -> Path:
    folder = tmp_path / "submission"
    folder.mkdir(parents=True)
    (folder / "sync.py").write_text(source)
    return folder


# -- the grading CRM ----------------------------------------------------------------------
def test_hidden_world_shares_nothing_with_the_visible_one():
    visible = json.loads((ROOT / "fixtures/api-sync/config.json").read_text())
    assert DATA.client_secret != visible["client_secret"] and DATA.client_id != visible["client_id"]
    assert {k: DATA.config[k] for k in ("page_size", "max_attempts", "backoff_base")} != \
        {k: visible[k] for k in ("page_size", "max_attempts", "backoff_base")}
    stock = {a["id"] for a in build("crm").accounts()}
    hidden = [a["id"] for a in _crm().accounts()]
    assert len(set(hidden) & stock) < len(hidden) / 2, "hidden ids have gaps, the stock ones are dense"


def test_accounts_created_mid_sync_duplicate_rows_for_page_numbers_but_not_for_the_cursor():
    limit = DATA.config["page_size"]
    by_page, crm = [], _crm("growing")
    headers = _token(crm)
    for page in range(1, 20):
        ids, more = _page_ids(crm, headers, f"/v1/accounts?limit={limit}&page={page}")
        by_page += ids
        if not more:
            break
    assert len(by_page) != len(set(by_page)), "page numbers must see rows shift"
    crm = _crm("growing")
    headers, by_cursor, target = _token(crm), [], f"/v1/accounts?limit={limit}"
    originals = [a["id"] for a in crm.accounts()]
    while True:
        ids, more = _page_ids(crm, headers, target)
        by_cursor += ids
        if not more:
            break
        target = f"/v1/accounts?limit={limit}&starting_after={ids[-1]}"
    assert len(by_cursor) == len(set(by_cursor)) and set(originals) <= set(by_cursor)
    assert len(crm.accounts()) == len(originals) + 4, "two inserts of two rows each"


def test_single_account_route_refuses_each_bad_id_with_its_status():
    from urllib.parse import quote

    crm = _crm("happy")
    headers = _token(crm)
    got = {i: crm.handle(Request.build("GET", f"/v1/accounts/{quote(i, safe='')}", headers)) for i in DATA.fetch_ids}
    want = {UNKNOWN: 404, MALFORMED: 400, MERGED: 422, DELETED: 410, BLOCKED: 403, "joined": 400}
    assert {i: got[i].status for i, role in DATA.roles if role in want} == \
        {i: want[role] for i, role in DATA.roles if role in want}
    assert all(got[i].status == 200 for i, role in DATA.roles if role not in want)
    deleted = json.loads(got[DATA.ids(DELETED)[0]].body)
    assert deleted["title"] and "detail" not in deleted, "a 410 whose problem has a title and no detail"
    assert got[DATA.ids(BLOCKED)[0]].body == b"", "the firewall's 403 has no body"


# -- the timing rules, on hand-made journals -------------------------------------------------
def _entry(seq: int, at: float, target: str, status: int) -> JournalEntry:
    request = Request.build("GET", target)
    return JournalEntry(seq, at, "GET", request.path, request.query, (), b"", "GET /v1/accounts",
                        RecordedResponse(status, (), b"", delivery=Delivery.WRITTEN))


def _sync(waits_per_target: dict[str, list[float]]) -> Sync:
    """A journal where each target fails with 500 and then succeeds, waiting ``waits`` between attempts."""
    from graders.labs._http_support import Played
    from graders.sandbox import CallRecord, CallStatus

    entries, at = [], 1_736_154_000.0
    for target, waits in waits_per_target.items():
        for wait in waits:
            entries.append(_entry(len(entries) + 1, at, target, 500))
            at += wait
        entries.append(_entry(len(entries) + 1, at, target, 200))
    call = CallRecord("sync:sync_accounts", (), {}, CallStatus.RETURNED, value={"records": [], "failures": []})
    return Sync(Played(call, (), None, tuple(entries), 0, (), (), DATA.config), (), ())


def test_backoff_rule_accepts_50_to_100_percent_of_the_capped_nominal_wait():
    good = _sync({"/v1/accounts?a": [0.7, 1.3, 3.1, 6.0, 5.2], "/v1/accounts?b": [0.9]})
    assert timing.check_capped((good,), DATA).status is Status.PASSED
    assert timing.check_jitter(good, DATA).status is Status.PASSED


@pytest.mark.parametrize("waits, capped, jittered", [
    ({"/v1/accounts?a": [1, 2, 4, 8, 8], "/v1/accounts?b": [1]}, True, False),           # exact nominal: no jitter
    ({"/v1/accounts?a": [0.1, 0.3], "/v1/accounts?b": [0.05]}, False, True),            # full jitter: below half
    ({"/v1/accounts?a": [0.8, 1.5, 3.0, 6.0, 12.0], "/v1/accounts?b": [0.6]}, False, True),  # no cap
    ({"/v1/accounts?a": [0.75, 1.5], "/v1/accounts?b": [0.75]}, True, False),            # same n, same wait
])
def test_backoff_rule_catches_each_mistake_on_its_own(waits, capped, jittered):
    sync = _sync(waits)
    assert (timing.check_capped((sync,), DATA).status is Status.PASSED) is capped
    assert (timing.check_jitter(sync, DATA).status is Status.PASSED) is jittered


# -- hostile submissions -----------------------------------------------------------------
LOOP_ON_401 = '''
import requests

def _token(config):
    reply = requests.post(config["base_url"] + "/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(config["client_id"], config["client_secret"]), timeout=config["timeout"])
    return reply.json()["access_token"]

def sync_accounts(config):
    records, params = [], {"limit": config["page_size"]}
    token = _token(config)
    while True:
        try:
            reply = requests.get(config["base_url"] + "/v1/accounts", params=params, timeout=config["timeout"],
                                 headers={"Authorization": "Bearer " + token})
        except Exception:
            continue
        if reply.status_code == 401:
            token = _token(config)   # and again, and again
            continue
        page = reply.json()
        records += [dict(a, account_id=a["id"]) for a in page["data"]]
        if not page["has_more"]:
            return {"records": records, "failures": []}
        params["starting_after"] = page["data"][-1]["id"]

def fetch_accounts(config, account_ids):
    return {"records": [], "failures": []}
'''

SLEEPS_FOREVER = '''
import time

def sync_accounts(config):
    while True:
        time.sleep(60)   # "the CRM will come back"

def fetch_accounts(config, account_ids):
    while True:
        time.sleep(60)
'''


def test_a_submission_that_loops_on_401_gets_a_clear_verdict_quickly(tmp_path):
    result = engine.grade(LAB, _submission(tmp_path, LOOP_ON_401))
    check = {c.id: c for c in result.checks}["no-401-loop"]
    assert check.status is Status.FAILED and "had to stop" in check.reason and "100 requests" in check.reason
    assert result.duration < LAB.limits.grading_budget / 4


def test_a_submission_that_sleeps_forever_is_stopped_in_virtual_time(tmp_path):
    started = time.monotonic()
    result = engine.grade(LAB, _submission(tmp_path, SLEEPS_FOREVER))
    assert time.monotonic() - started < 30, "virtual sleeps must cost no real time"
    assert result.score == 0
    assert any("was stopped" in c.reason and "minutes (virtual)" in c.reason for c in result.checks)


def test_a_submission_that_never_returns_times_out_with_its_own_name(tmp_path):
    folder = _submission(tmp_path, "def sync_accounts(config):\n    while True:\n        pass\n")
    stage = Stage(call_timeout=1.0)
    scene = stage.open("happy", lambda clock: grading_crm(DATA)(SCENARIOS["happy"], seed=DATA.seed, clock=clock))
    try:
        with Sandbox(folder, Limits(network=True, libraries=("requests",)), rpc=stage.rpc) as sandbox:
            played = stage.play(sandbox.call, scene, "sync:sync_accounts", DATA.config_for(scene.url))
    finally:
        stage.finish(scene)
        stage.close()
    assert not played.call.ok and played.call.problem() == "sync_accounts() did not return within 1 s (stopped)"


# -- speed and determinism ----------------------------------------------------------------------
def test_retry_after_of_an_hour_costs_no_real_time():
    scenario = Scenario("slow-throttle", (on("GET /v1/accounts", RateLimited(3000), when=Nth(2)),
                                          on("GET /v1/accounts", RateLimited(1800, "http-date"), when=Nth(4))))
    stage = Stage()
    scene = stage.open("throttled", lambda clock: grading_crm(DATA)(scenario, seed=DATA.seed, clock=clock))
    started = time.monotonic()
    try:
        with Sandbox(REFERENCE, Limits(network=True, libraries=("requests",)), rpc=stage.rpc) as sandbox:
            played = stage.play(sandbox.call, scene, "sync:sync_accounts", DATA.config_for(scene.url))
    finally:
        stage.finish(scene)
        stage.close()
    assert time.monotonic() - started < 10
    assert played.value["failures"] == [] and scene.clock.elapsed() >= 4800


def test_the_reference_logs_and_each_record_reaches_the_grader_while_the_run_goes_on():
    played = _played_reference("flaky")
    retrying = [line for line in played.logs if line.message and "retrying in" in line.message]
    assert retrying and all("correlation_id=" in line.message and line.logger == "crm_sync" for line in retrying)
    assert any(e.client_gone for e in played.mine), "the dilated timeout fired on the 190 s response"
    # Stamped on arrival: each retry's record arrived after its failed attempt and before the retry itself.
    mine = list(played.mine)
    for line in retrying:
        failed_attempt, retry = mine[line.after - 1], mine[line.after]
        assert (failed_attempt.method, failed_attempt.target) == (retry.method, retry.target)
        assert retry.at - line.at == pytest.approx(float(line.message.split("retrying in ")[1].split()[0]), abs=0.01)


def _played_reference(name, folder=REFERENCE):
    stage = Stage()
    scene = stage.open(name, lambda clock: grading_crm(DATA)(SCENARIOS[name], seed=DATA.seed, clock=clock))
    try:
        with Sandbox(folder, Limits(network=True, libraries=("requests",)), rpc=stage.rpc) as sandbox:
            return stage.play(sandbox.call, scene, "sync:sync_accounts", DATA.config_for(scene.url, name))
    finally:
        stage.finish(scene)
        stage.close()


def test_grading_the_reference_is_deterministic_and_fast():
    first, second = engine.grade(LAB, REFERENCE), engine.grade(LAB, REFERENCE)
    assert first.score == first.max_score == 100
    assert comparable(first) == comparable(second)
    assert max(first.duration, second.duration) < 4.0  # budget 2 s on an idle machine; headroom for a busy one


def test_the_untouched_starter_earns_nothing():
    result = engine.grade(LAB, LAB.starter)
    assert result.score == 0 and all(c.status is Status.FAILED for c in result.checks)


# -- nothing judged from inside the child: log records travel out as data ---------------------------
LOGS_TOKEN = (ROOT / "solutions/api-sync/flawed/logs-bearer-token/sync.py").read_text()
SILENCERS = {
    "handlers-removed": "    for _h in list(logging.getLogger().handlers):\n"
                        "        logging.getLogger().removeHandler(_h)\n",
    "logging-disabled": "    logging.disable(logging.CRITICAL)\n",
    "harness-patched": "    import _iclab_http\n    _iclab_http._send = lambda *a, **k: True\n",
}


@pytest.mark.parametrize("how", sorted(SILENCERS))
def test_switching_the_log_capture_off_never_raises_a_score(tmp_path, how):
    """A submission that logs the bearer token and stops its records from reaching the grader scores no more."""
    leaky = engine.grade(LAB, _submission(tmp_path / "leaky", LOGS_TOKEN))
    assert {c.id for c in leaky.checks if c.status is not Status.PASSED} == {"no-secrets-in-logs"}
    head = "def sync_accounts(config: dict) -> dict:\n"
    silenced = LOGS_TOKEN.replace(head, head + SILENCERS[how]).replace(
        "def fetch_accounts(config: dict, account_ids: list[str]) -> dict:\n",
        "def fetch_accounts(config: dict, account_ids: list[str]) -> dict:\n" + SILENCERS[how])
    assert silenced.count(SILENCERS[how]) == 2
    quiet = engine.grade(LAB, _submission(tmp_path / "quiet", silenced))
    checks = {c.id: c for c in quiet.checks}
    assert quiet.score <= leaky.score
    assert checks["logs-operations"].status is Status.FAILED
    secrets = checks["no-secrets-in-logs"]
    assert secrets.status is Status.FAILED and "cannot be judged" in secrets.reason


def test_a_record_whose_format_fails_is_not_a_log_event_but_is_still_searched_for_secrets():
    assert logs.mentions_wait("retrying in 0.73 s", 0.734) and logs.mentions_wait("sleep 730 ms", 0.734)
    assert not logs.mentions_wait("attempt 1 of 6 failed (503)", 1.0), "whole numbers need a unit"
    assert logs.mentions_wait("retrying in 30 s", 30.0) and not logs.mentions_wait("retrying in 0.50 s", 0.734)


NO_CORRELATION = (REFERENCE / "sync.py").read_text().replace(
    'headers = {"X-Correlation-ID": correlation_id, "Accept": "application/json"}',
    'headers = {"Accept": "application/json"}')


def test_derived_outputs_are_judged_on_their_own_terms(tmp_path):
    """No X-Correlation-ID on the requests costs the correlation check only: the failure list and the logs
    report the ID the request carried (none), so they are not charged for it again."""
    assert NO_CORRELATION != (REFERENCE / "sync.py").read_text()
    result = engine.grade(LAB, _submission(tmp_path, NO_CORRELATION))
    assert {c.id for c in result.checks if c.status is not Status.PASSED} == {"correlation-ids"}


def test_a_stopped_run_is_judged_by_the_bounds_check_only(tmp_path):
    forever = (ROOT / "solutions/api-sync/flawed/retries-forever/sync.py").read_text()
    result = engine.grade(LAB, _submission(tmp_path, forever))
    checks = {c.id: c for c in result.checks}
    assert {i for i, c in checks.items() if c.status is not Status.PASSED} == {"bounded-attempts"}
    assert "had to stop" in checks["failure-report"].reason
