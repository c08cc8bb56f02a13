"""idempotent-orders' grader: hidden data that separates the mistakes, hostile submissions, determinism."""
from __future__ import annotations

import copy
import importlib.util
import json
import time
from pathlib import Path

import pytest

from graders import catalog, engine, paths
from graders.labs import idempotent_orders as orders_lab
from graders.results import Status
from graders.verify import comparable
from mock_services.services.erp import ORDER_REQUEST_SCHEMA

ROOT = paths.ROOT
REFERENCE = ROOT / "solutions/idempotent-orders/reference"
LAB = catalog.get_lab("idempotent-orders")
DATA = orders_lab.grader.data()


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def consumer():
    return _load(REFERENCE / "consumer.py", "consumer_reference_for_test")


def _submission(tmp_path: Path, orders: str | None = None, consumer: str | None = None) -> Path:
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "orders.py").write_text(orders or (REFERENCE / "orders.py").read_text())
    (folder / "consumer.py").write_text(consumer or (REFERENCE / "consumer.py").read_text())
    return folder


def _checks(result) -> dict:
    return {c.id: c for c in result.checks}


# -- hidden data -----------------------------------------------------------------------
def test_hidden_orders_and_messages_share_nothing_with_the_fixtures():
    visible = (ROOT / "fixtures/idempotent-orders/orders.json").read_text() + \
        (ROOT / "fixtures/idempotent-orders/messages.json").read_text()
    refs = [o["order_ref"] for o in DATA.create_batch + DATA.rerun_batch]
    assert len(set(refs)) == len(refs) and not any(r in visible for r in refs)
    assert not any(m["message_id"] in visible for m in DATA.messages)
    assert not any(m.get("entity_id") in visible for m in DATA.messages if isinstance(m.get("entity_id"), str)
                   and m.get("entity_id"))


def test_only_the_invalid_order_breaks_the_erp_schema():
    from jsonschema import Draft4Validator

    validator = Draft4Validator(ORDER_REQUEST_SCHEMA)
    for order in DATA.create_batch + DATA.rerun_batch:
        body = {"customer_id": order["customer_id"], "currency": order["currency"],
                "external_ref": order["order_ref"], "lines": order["lines"]}
        assert validator.is_valid(body) is (order["order_ref"] != DATA.invalid_ref), order["order_ref"]


def test_every_look_alike_message_is_superseded_so_payload_dedupe_costs_one_check():
    batch = DATA.replay_batch
    ids = {m["message_id"] for m in batch}
    look_alikes = [m for m in batch if any(o["payload"] == m["payload"] and o["message_id"] != m["message_id"]
                                           for o in batch)]
    look_alikes += [m for m in batch if any(o["message_id"] != m["message_id"]
                                            and o["message_id"].lower() == m["message_id"].lower() for o in batch)]
    assert len({m["message_id"] for m in look_alikes}) >= 5
    final_version = {e: v for e, v, _ in DATA.replay_finals}
    for message in look_alikes:
        assert message["version"] < final_version[message["entity_id"]], message
    assert len(ids) < len(batch), "some messages are delivered twice"


def test_the_reference_consumer_agrees_with_the_hidden_expectations(consumer):
    dedupe = consumer.consume_messages(copy.deepcopy(list(DATA.dedupe_batch)), {})
    assert dedupe["applied"] == list(DATA.dedupe_ids)
    ordering = consumer.consume_messages(copy.deepcopy(list(DATA.ordering_batch)), {})
    assert not set(ordering["applied"]) & set(DATA.stale_ids)
    assert {e: (s["version"], s["payload"]) for e, s in ordering["state"]["entities"].items()} == \
        {e: (v, p) for e, v, p in DATA.finals}
    poison = consumer.consume_messages(copy.deepcopy(list(DATA.poison_batch)), {})
    assert sorted(d["message_id"] for d in poison["dead_letters"]) == sorted(DATA.poison_ids)
    assert poison["applied"] == list(DATA.valid_between)
    first = consumer.consume_messages(copy.deepcopy(list(DATA.replay_batch)), {})
    assert {e: (s["version"], s["payload"]) for e, s in first["state"]["entities"].items()} == \
        {e: (v, p) for e, v, p in DATA.replay_finals}
    json.dumps(first["state"])  # the state must survive being stored


def test_arrival_order_alone_gives_wrong_finals(consumer):
    """Last-arrival-wins must be caught: some entity's last arrival is not its highest version."""
    last = {}
    for m in DATA.ordering_batch:
        last[m["entity_id"]] = m["version"]
    assert any(last[e] != v for e, v, _ in DATA.finals)


def test_a_consumer_that_crashes_on_a_string_version_loses_the_poison_criterion_only(tmp_path):
    """Each consumer criterion has its own batch: a crash on one kind of message costs that criterion."""
    source = (REFERENCE / "consumer.py").read_text()
    check = "    if isinstance(version, bool) or not isinstance(version, int) or version < 1:"
    assert check in source
    source = source.replace(check, "    if version is None or isinstance(version, bool) or version < 1:")
    checks = _checks(engine.grade(LAB, _submission(tmp_path, consumer=source)))
    assert {i for i, c in checks.items() if c.status is not Status.PASSED} == {"dead-letters-poison"}


# -- behaviour the flaws do not cover -------------------------------------------------------
GIVES_UP_ON_409 = '''
                if status in WAIT_AS_TOLD and (wait := _retry_after(response)) is not None:'''


def test_giving_up_on_409_fails_the_409_check_only(tmp_path):
    source = (REFERENCE / "orders.py").read_text()
    assert GIVES_UP_ON_409 in source
    source = source.replace(GIVES_UP_ON_409, '''
                if status == 409:
                    raise CreateFailed(status, "the order already exists")''' + GIVES_UP_ON_409)
    checks = _checks(engine.grade(LAB, _submission(tmp_path, orders=source)))
    lost = {i for i, c in checks.items() if c.status is not Status.PASSED}
    assert lost == {"waits-out-409"}, "the missing order is the 409 check's to charge, not one-order-each's"
    assert "then given up" in checks["waits-out-409"].evidence


def test_a_retried_422_is_caught(tmp_path):
    source = (REFERENCE / "orders.py").read_text().replace("BACKOFF = {500, 502, 503, 504}",
                                                           "BACKOFF = {422, 500, 502, 503, 504}")
    checks = _checks(engine.grade(LAB, _submission(tmp_path, orders=source)))
    assert checks["reports-failures"].status is Status.FAILED and "more times" in checks["reports-failures"].evidence
    assert checks["one-order-each"].status is Status.PASSED


# -- hostile submissions -------------------------------------------------------------------
HAMMERS_409 = '''
import requests

def create_orders(config, orders):
    token = requests.post(config["base_url"] + "/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(config["client_id"], config["client_secret"]), timeout=5).json()["access_token"]
    created = []
    for order in orders:
        body = {"customer_id": order["customer_id"], "currency": order["currency"],
                "external_ref": order["order_ref"], "lines": order["lines"]}
        while True:  # until it works
            try:
                reply = requests.post(config["base_url"] + "/v1/orders", json=body, timeout=config["timeout"],
                                      headers={"Authorization": "Bearer " + token, "Idempotency-Key": order["order_ref"]})
            except Exception:
                continue
            if reply.status_code == 201:
                created.append({"order_ref": order["order_ref"], "order_id": reply.json()["id"]})
                break
    return {"created": created, "failed": []}
'''


def test_a_submission_that_hammers_a_409_gets_a_clear_verdict_quickly(tmp_path):
    result = engine.grade(LAB, _submission(tmp_path, orders=HAMMERS_409))
    checks = _checks(result)
    assert checks["waits-out-409"].status is Status.FAILED
    assert checks["waits-out-409"].reason.startswith(("a 409 means", "the run ended before"))
    assert any("sent more than 100 requests" in c.reason + c.evidence for c in result.checks)
    assert checks["dedupe-by-message-id"].status is Status.PASSED, "part 2 is graded on its own"
    assert result.duration < LAB.limits.grading_budget / 4


def test_a_consumer_that_never_returns_times_out_and_part_1_is_still_graded(tmp_path):
    started = time.monotonic()
    result = engine.grade(LAB, _submission(tmp_path, consumer="def consume_messages(messages, state):\n"
                                                            "    while True:\n        pass\n"))
    checks = _checks(result)
    assert time.monotonic() - started < LAB.limits.grading_budget
    assert checks["replay-is-noop"].status is Status.ERRORED
    assert "consume_messages() did not return within 6 s" in checks["replay-is-noop"].reason
    assert checks["one-order-each"].status is Status.PASSED


# -- determinism and the starter --------------------------------------------------------------
def test_grading_the_reference_is_deterministic_and_fast():
    first, second = engine.grade(LAB, REFERENCE), engine.grade(LAB, REFERENCE)
    assert first.score == first.max_score == 100
    assert comparable(first) == comparable(second)
    assert max(first.duration, second.duration) < 4.0  # budget 2 s on an idle machine; headroom for a busy one


def test_the_untouched_starter_earns_nothing():
    result = engine.grade(LAB, LAB.starter)
    assert result.score == 0 and all(c.status is Status.FAILED for c in result.checks)


# -- the edges of each criterion ---------------------------------------------------------------
def test_message_ids_that_differ_only_in_case_and_equal_versions_are_in_the_batch():
    ids = [m["message_id"] for m in DATA.dedupe_batch]
    assert any(i != j and i.lower() == j.lower() for i in ids for j in ids), "ids that differ only in case"
    seen = {}
    for m in DATA.ordering_batch:
        if m["message_id"] in DATA.stale_ids and isinstance(m.get("version"), int):
            seen.setdefault(m["entity_id"], []).append(m["version"])
    finals = {e: v for e, v, _ in DATA.finals}
    assert any(finals[e] in versions for e, versions in seen.items()), "a second message with the final version"


def test_every_fault_the_ticket_names_meets_some_order():
    from mock_services import DropAfterCommit, ExpireToken, ServerError, Slow
    from graders.labs._http_support import Answer, DropBeforeAnswer, Throttle
    from graders.labs.idempotent_orders.data import PLAN

    faults = [f for plan in PLAN.values() for _, fs in plan for f in fs]
    kinds = {type(f) for f in faults}
    assert {DropAfterCommit, DropBeforeAnswer, Slow, ServerError, Answer, Throttle, ExpireToken} <= kinds
    assert {f.status for f in faults if isinstance(f, ServerError)} == {500, 502, 503}
    assert {(f.status, f.form) for f in faults if isinstance(f, Throttle)} >= {(429, "seconds"), (429, "http-date"),
                                                                            (503, "seconds"), (503, "http-date")}


# -- fresh means fresh: a rerun is a new process --------------------------------------------------
def test_a_key_from_builtin_hash_is_caught_because_the_rerun_runs_in_a_new_interpreter():
    flaw = ROOT / "solutions/idempotent-orders/flawed/hash-key"
    result = engine.grade(LAB, flaw)
    checks = _checks(result)
    assert {i for i, c in checks.items() if c.status is not Status.PASSED} == {"rerun-no-duplicates"}
    assert "duplicate" in checks["rerun-no-duplicates"].reason


def test_forked_children_share_the_hash_seed_and_new_interpreters_do_not(tmp_path):
    """Why the rerun asks for a new interpreter: a fork of the warm server keeps its str hash seed."""
    from graders.sandbox import Limits, Sandbox

    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "probe.py").write_text("def seed_sample():\n    return hash('PO-2026-00001')\n")
    values = []
    for new_interpreter in (False, False, True):
        with Sandbox(folder, Limits(), new_interpreter=new_interpreter) as sandbox:
            values.append(sandbox.call("probe:seed_sample").value)
    forked_a, forked_b, launched = values
    assert launched != forked_a
    if forked_a == forked_b:  # namespace mode: both forks of one warm server
        assert launched != forked_b


# -- one mistake, charged once ---------------------------------------------------------------------
GIVES_UP_EARLY = ("            if attempt >= self.max_attempts:", "            if attempt >= 2:")


def test_giving_up_early_costs_the_retry_check_not_the_result_or_the_failed_list(tmp_path):
    """The failed list and the ERP's orders are judged on their own terms: an order abandoned early is the
    retry check's to charge."""
    source = (REFERENCE / "orders.py").read_text()
    assert GIVES_UP_EARLY[0] in source
    checks = _checks(engine.grade(LAB, _submission(tmp_path, orders=source.replace(*GIVES_UP_EARLY))))
    assert checks["retries-unknown-outcome"].status is Status.FAILED
    assert checks["one-order-each"].status is Status.PASSED and checks["reports-failures"].status is Status.PASSED


MUTATES_STATE = ("    seen = list(state.get(\"seen\", []))", "    seen = state.setdefault(\"seen\", [])")


def test_a_consumer_that_modifies_the_state_it_was_given_loses_the_state_contract_only(tmp_path):
    source = (REFERENCE / "consumer.py").read_text()
    assert MUTATES_STATE[0] in source
    checks = _checks(engine.grade(LAB, _submission(tmp_path, consumer=source.replace(*MUTATES_STATE))))
    assert {i for i, c in checks.items() if c.status is not Status.PASSED} == {"state-contract"}
    assert "modified the state" in checks["state-contract"].evidence
