"""pii-logging's grader: hidden data that can fail, evidence that never repeats a secret, and independence."""
from __future__ import annotations

import importlib.util
import json

import pytest

from graders import catalog, engine
from graders.labs import pii_logging as pl
from graders.results import Status
from graders.sandbox import CallRecord, CallStatus

ROOT = catalog.paths.ROOT
REFERENCE = ROOT / "solutions/pii-logging/reference/masking_filter.py"


@pytest.fixture(scope="module")
def ref():
    spec = importlib.util.spec_from_file_location("masking_filter_reference_for_test", REFERENCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def data():
    return pl.grader.data()


def _raw_text(case) -> str:
    """The record as an unmasked log would show it."""
    msg = case.msg % case.args if case.args else case.msg
    return msg + json.dumps(case.extra or {}, default=str, ensure_ascii=False)


def test_every_planted_secret_would_be_caught_leaking(data):
    for case in data.cases:
        for secret in case.secrets:
            assert secret.fragments, (case.label, secret)
            assert any(f in _raw_text(case) for f in secret.fragments), (case.label, secret.kind)


def test_every_category_has_its_own_plain_message_records(data):
    kinds = {s.kind for c in data.cases if c.group == "message" for s in c.secrets}
    assert kinds == {kind for kind, _ in pl.CATEGORIES.values()}
    for case in data.cases:
        if case.group == "message":
            assert case.args is None and case.extra is None and len({s.kind for s in case.secrets}) == 1


def test_reference_masks_every_message_secret_and_keeps_its_context(ref, data):
    for case in data.cases:
        if case.group == "message":
            masked = ref.mask_text(case.msg)
            assert not any(f in masked for s in case.secrets for f in s.fragments), case.label
            assert all(w in masked for w in case.context), case.label
            assert all(s.marker in masked for s in case.secrets if s.marker), case.label


def test_safe_values_are_tempting_for_the_usual_mistakes(ref, data):
    orders = [v for c in data.cases for k, v in c.safe if k == "order"]
    long_runs = [v for v in orders if v.replace(" ", "").isdigit() and 13 <= len(v.replace(" ", "")) <= 19]
    assert len(long_runs) >= 4 and not any(ref.luhn_ok(v.replace(" ", "")) for v in long_runs)
    ids = [v for c in data.cases for k, v in c.safe if k == "correlation"]
    assert ids and all(len(max(v.split("="), key=len)) >= 20 for v in ids)


def test_hidden_data_shares_nothing_with_the_visible_samples(data):
    visible = (ROOT / "fixtures/pii-logging/samples.json").read_text(encoding="utf-8")
    for case in data.cases:
        for secret in case.secrets:
            assert secret.value not in visible, case.label


def test_an_unreadable_harness_answer_fails_with_a_reason(data):
    bad = CallRecord(pl.HARNESS, (), {}, CallStatus.RETURNED, value=[{"kept": True}])
    outcome = pl.grader.checks[0].func(bad, data)
    assert outcome.status is Status.FAILED and "unreadable" in outcome.reason


def _grade(tmp_path, source: str):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "masking_filter.py").write_text(source)
    return engine.grade(catalog.get_lab("pii-logging"), sub)


def test_evidence_never_repeats_a_planted_secret(tmp_path, data):
    source = REFERENCE.read_text().replace('def mask_text(text: str) -> str:\n', 'def mask_text(text: str) -> str:\n    return text\n', 1)
    result = _grade(tmp_path, source)
    assert result.score < 30
    shown = "\n".join(c.reason + "\n" + c.evidence for c in result.checks)
    assert "<LEAKED" in shown
    for case in data.cases:
        for secret in case.secrets:
            assert not any(len(f) >= 6 and f in shown for f in secret.fragments), (case.label, secret.kind)


def test_a_filter_that_drops_records_scores_nothing_for_masking(tmp_path):
    source = REFERENCE.read_text().replace("        return True\n", "        return False\n", 1)
    result = _grade(tmp_path, source)
    masking = [c for c in result.checks if c.id.startswith("masks-") or c.id.startswith("keeps-")]
    assert all(c.status is Status.FAILED for c in masking)
    assert "dropped" in next(c for c in result.checks if c.id == "masks-emails").evidence


def test_a_broken_formatter_costs_only_the_formatter_check(tmp_path):
    source = REFERENCE.read_text().replace("class JsonFormatter(logging.Formatter):", "class JsonFormatterV2(logging.Formatter):")
    result = _grade(tmp_path, source)
    lost = {c.id for c in result.checks if c.status is not Status.PASSED}
    assert lost == {"json-formatter"}
