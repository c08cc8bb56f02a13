"""map-customer: the oracle agrees with the reference, the hidden data covers what it claims, one mistake is charged once.

``iclab verify map-customer`` proves the lab end to end; these tests pin down the
grader's design: each check judges only its own criterion, and a derived output
(the batch partition, the validation order) is judged on its own terms.
"""
from __future__ import annotations

import importlib.util
import sys
import textwrap

import pytest

from graders import catalog, engine, paths
from graders.labs import map_customer as lab
from graders.labs.map_customer.hidden import DATE_EDGES
from graders.labs.map_customer.oracle import REQUIRED, Rejection, outcome
from graders.results import Status

REFERENCE = paths.SOLUTIONS / "map-customer" / "reference" / "mapper.py"


@pytest.fixture(scope="module")
def hidden() -> lab.Hidden:
    return lab.grader.data()


@pytest.fixture(scope="module")
def reference():
    saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec = importlib.util.spec_from_file_location("map_customer_reference", REFERENCE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = saved
    return module


def _accounts(hidden):
    for group in (hidden.valid, hidden.optional, hidden.missing, hidden.bad, hidden.bad_phones):
        for case in group:
            yield case.account
            if case.twin is not None:
                yield case.twin
    for item in hidden.several:
        yield item.account
        yield from item.singles


def test_the_oracle_written_from_the_ticket_agrees_with_the_reference(hidden, reference):
    for account in _accounts(hidden):
        want = outcome(account, hidden.lookups)
        try:
            got = reference.map_account(account, hidden.lookups)
        except reference.Rejected as exc:
            got = Rejection(exc.code, exc.field)
        assert got == want, account


def test_several_problems_cover_every_pair_of_steps_and_report_the_earliest(hidden):
    order = {name: n for n, name in enumerate(REQUIRED)}
    order.update({"Status#": 6, "BillingCountry#": 7, "TimeZone#": 8, "CreatedDate#": 9, "Phone#": 10})

    def rank(rejection: Rejection) -> int:
        return order[rejection.field + ("" if rejection.code == "MISSING_REQUIRED_FIELD" else "#")]

    pairs = set()
    for item in hidden.several:
        alone = [outcome(s, hidden.lookups) for s in item.singles]
        assert len(alone) >= 1 and all(isinstance(a, Rejection) for a in alone)
        assert outcome(item.account, hidden.lookups) == min(alone, key=rank)
        pairs |= {frozenset((rank(a), rank(b))) for a in alone for b in alone if a != b}
    steps = range(6, 11)
    assert {frozenset((a, b)) for a in steps for b in steps if a < b} <= pairs
    assert {frozenset((a, b)) for a in range(6) for b in range(6) if a < b} <= pairs
    assert sum(len(item.singles) >= 3 for item in hidden.several) >= 4


def test_hidden_dates_cover_both_dst_directions_in_both_hemispheres(hidden):
    notes = " | ".join(note for _, _, note in DATE_EDGES)
    for needed in ("skipped hour", "repeated hour", "southern", "western", "+05:45", "leap day", "previous UTC year"):
        assert needed in notes
    assert all(isinstance(outcome(c.account, hidden.lookups), dict) for c in hidden.valid)
    assert len(lab.grader.coverage) == 10 and all(len(v) >= 2 for v in lab.grader.coverage.values())


def _grade(tmp_path, replace: dict[str, str] | None = None, append: str = ""):
    source = REFERENCE.read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "mapper.py").write_text(source + textwrap.dedent(append), encoding="utf-8")
    result = engine.grade(catalog.get_lab("map-customer"), sub)
    assert not result.problems, result.problems
    return result


def _lost(result) -> set[str]:
    return {c.id for c in result.checks if c.points < c.max_points}


def test_a_wrong_field_in_map_account_does_not_cost_the_batch(tmp_path):
    result = _grade(tmp_path, {'"region": country["region"],': '"region": country["region"].lower(),'})
    assert _lost(result) == {"region-enrichment"}


def test_valid_accounts_wrongly_rejected_cost_their_owner_not_the_batch(tmp_path):
    # Status looked up as typed: valid accounts with " act " are rejected; map_batch still splits as map_account says.
    result = _grade(tmp_path, {'lookups["status"].get(values["Status"].upper())': 'lookups["status"].get(values["Status"])'})
    assert _lost(result) == {"status-lookup"}


def test_a_bug_in_map_batch_alone_costs_only_the_batch(tmp_path):
    result = _grade(tmp_path, {'"index": index,': '"index": index + 1,'})
    assert _lost(result) == {"batch-partition"}
    batch = next(c for c in result.checks if c.id == "batch-partition")
    assert "index" in batch.evidence


def test_a_batch_that_stops_at_the_first_rejection_is_caught(tmp_path):
    result = _grade(tmp_path, {'                    "field": problem.field,\n                }\n            )\n':
                               '                    "field": problem.field,\n                }\n            )\n            break\n'})
    assert _lost(result) == {"batch-partition"}


def test_the_validation_order_is_charged_only_in_its_own_check(tmp_path):
    # Phone validated before the lookups: each problem alone is still reported right.
    result = _grade(tmp_path, {
        '    status = lookups["status"].get(values["Status"].upper())\n':
        '    if _text(account.get("Phone")) and values["BillingCountry"].upper() in lookups["country"]:\n'
        '        _phone(_text(account.get("Phone")), lookups["country"][values["BillingCountry"].upper()])\n'
        '    status = lookups["status"].get(values["Status"].upper())\n'})
    assert _lost(result) == {"rejects-first-problem"}


def test_a_problem_mishandled_alone_is_not_charged_again_for_the_order(tmp_path):
    # An unknown TimeZone blamed on CreatedDate: rejects-unknown-codes loses; the order check skips those accounts.
    result = _grade(tmp_path, {'raise Rejected("INVALID_DATE", "TimeZone") from None':
                               'raise Rejected("INVALID_DATE", "CreatedDate") from None'})
    assert _lost(result) == {"rejects-unknown-codes"}
    order = next(c for c in result.checks if c.id == "rejects-first-problem")
    assert order.status is Status.PASSED and "not judged" in order.reason


def test_rejecting_dates_with_seconds_costs_only_created_at(tmp_path):
    result = _grade(tmp_path, {"    match = _CREATED_DATE.fullmatch(text)\n":
                               '    match = _CREATED_DATE.fullmatch(text) if text.count(":") == 1 else None\n'})
    assert _lost(result) == {"created-at-utc"}


def test_a_str_of_rejected_other_than_code_colon_field_is_charged_once(tmp_path):
    result = _grade(tmp_path, {'super().__init__(f"{code}: {field}")': 'super().__init__(code)'})
    assert _lost(result) == {"rejects-missing-required"}


@pytest.mark.parametrize("value, words", [
    ("1.5", "map_account() returned a float; a dict was expected"),
    ("None", "map_account() returned None; a dict was expected"),
    ("[1, 'two']", "map_account() returned a list; a dict was expected"),
])
def test_a_wrong_type_is_a_reason_for_the_learner(tmp_path, value, words):
    result = _grade(tmp_path, append=f"""
        def map_account(account, lookups):
            return {value}
    """)
    identity = next(c for c in result.checks if c.id == "maps-valid-accounts")
    assert identity.status is Status.FAILED and words in identity.evidence
    assert _lost(result) >= {"maps-valid-accounts", "created-at-utc", "phone-e164", "batch-partition"}
