"""pii-logging's grader: hidden data that can fail, evidence that never repeats a secret, and independence."""
from __future__ import annotations

import importlib.util
import json

import pytest

from graders import catalog, engine, paths
from graders.labs import pii_logging as pl
from graders.labs.pii_logging.judging import expected_line
from graders.results import Status
from graders.sandbox import CallRecord, CallStatus

ROOT = paths.ROOT
REFERENCE = ROOT / "solutions/pii-logging/reference/masking_filter.py"
MASK_TEXT_CHECKS = set(pl.CATEGORIES) | set(pl.SAFE_CHECKS) | {"mask-format"}


@pytest.fixture(scope="module")
def ref():
    spec = importlib.util.spec_from_file_location("masking_filter_reference_for_test", REFERENCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def data():
    return pl.grader.data()


def _grade(tmp_path, source: str):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "masking_filter.py").write_text(source)
    return engine.grade(catalog.get_lab("pii-logging"), sub)


def _lost(result) -> set[str]:
    return {c.id for c in result.checks if c.status is not Status.PASSED}


# -- the hidden data ----------------------------------------------------------------
def test_every_planted_secret_would_be_caught_leaking(data):
    for text in data.texts:
        for secret in text.secrets:
            assert any(f in text.text for f in secret.fragments), (text.label, secret.kind)


def test_every_kind_has_lines_of_its_own_in_each_position(data):
    for kind, *_ in pl.CATEGORIES.values():
        own = [t for t in data.texts if t.owner == kind]
        assert len(own) >= 8, kind
        first = [t for t in own if t.parts[0] is t.secrets[0] or (t.parts[1] is t.secrets[0] and len(t.parts[0]) <= 20)]
        assert first or kind == "urlenc", f"{kind}: none first in its line (or right after its key)"
        last = any(t.parts[-1] is t.secrets[-1] or (t.parts[-2] is t.secrets[-1] and len(t.parts[-1]) <= 2) for t in own)
        assert last, f"{kind}: none last in its line (or right before its closing quote)"
        assert any(len([s for s in t.secrets if s.kind == kind]) >= 2 for t in own), f"{kind}: never two in a line"


def test_the_reference_gives_the_exact_contract_output_for_every_line(ref, data):
    for text in data.texts:
        assert ref.mask_text(text.text) == text.exact, text.label


def test_safe_look_alikes_sit_on_both_sides_of_every_limit(ref, data):
    safe = {v for t in data.texts for _, v in t.safe}
    digits = lambda v: "".join(ch for ch in v if ch.isdigit())  # noqa: E731
    assert any(len(digits(v)) == 12 and ref.luhn_ok(digits(v)) for v in safe)  # one digit too few for a card
    assert any(len(digits(v)) == 20 and ref.luhn_ok(digits(v)) for v in safe)  # one too many
    assert {"ORD-", "ref_"} <= {v[:4] for v in safe}  # a hyphen or underscore right before a Luhn-valid run
    assert {"+1 250 000", "+1 000 000 000 000 000"} <= safe  # 7 and 16 digits after a +
    phones = [s.value for t in data.texts for s in t.secrets if s.kind == "phone"]
    assert {8, 15} <= {len(digits(p)) for p in phones}


def test_hidden_data_shares_nothing_with_the_visible_samples(data):
    visible = (ROOT / "fixtures/pii-logging/samples.json").read_text(encoding="utf-8")
    for text in data.texts:
        for secret in text.secrets:
            assert secret.value not in visible, text.label
    for value in data.planted:
        assert value not in visible


def test_formatter_records_expect_utc_milliseconds_cut_and_base_keys_winning(data):
    clash = next(r for r in data.formats if r.label == "format-base-keys-win")
    doc = expected_line(clash)
    assert doc["level"] == clash.level and doc["logger"] == clash.logger and doc["tier"] == "gold"
    late = next(r for r in data.formats if r.label == "format-late-evening")
    assert expected_line(late)["ts"].endswith("T23:59:59.875Z")


# -- reading untrusted answers ----------------------------------------------------------
def test_an_unreadable_harness_answer_fails_with_a_reason(data):
    bad = CallRecord(f"{pl.HARNESS}:mask_all", (), {}, CallStatus.RETURNED, value=[{"value": "x"}])
    outcome = next(c for c in pl.grader.checks if c.id == "masks-emails").func(bad, data)
    assert outcome.status is Status.FAILED and "unreadable" in outcome.reason


def test_the_harness_reports_observations_not_verdicts():
    source = (ROOT / "graders/sandbox/runtime/_iclab_pii_logging.py").read_text(encoding="utf-8")
    assert "mutated" not in source and "deepcopy" not in source and " != " not in source


# -- grading realistic submissions -----------------------------------------------------------
def test_evidence_never_repeats_a_planted_secret(tmp_path, data):
    source = REFERENCE.read_text().replace('def mask_text(text: str) -> str:\n',
                                           'def mask_text(text: str) -> str:\n    return text\n', 1)
    result = _grade(tmp_path, source)
    assert result.score < 30
    shown = "\n".join(c.reason + "\n" + c.evidence for c in result.checks)
    assert "<LEAKED" in shown
    for text in data.texts:
        for secret in text.secrets:
            assert not any(len(f) >= 6 and f in shown for f in secret.fragments), (text.label, secret.kind)
    for value in data.planted:
        assert value not in shown


def test_a_filter_that_drops_records_costs_the_filter_not_mask_text(tmp_path):
    source = REFERENCE.read_text().replace("        return True\n", "        return False\n", 1)
    result = _grade(tmp_path, source)
    assert "masks-args" in _lost(result) and not _lost(result) & MASK_TEXT_CHECKS
    assert "dropped" in next(c for c in result.checks if c.id == "masks-args").evidence


def test_a_broken_formatter_costs_only_the_formatter_check(tmp_path):
    source = REFERENCE.read_text().replace("class JsonFormatter(logging.Formatter):",
                                           "class JsonFormatterV2(logging.Formatter):")
    assert _lost(_grade(tmp_path, source)) == {"json-formatter"}


def test_a_formatter_writing_local_time_is_caught(tmp_path):
    source = REFERENCE.read_text().replace("dt.datetime.fromtimestamp(record.created, dt.timezone.utc)",
                                           "dt.datetime.fromtimestamp(record.created)")
    assert _lost(_grade(tmp_path, source)) == {"json-formatter"}


def test_derived_outputs_are_not_charged_for_an_upstream_mistake(tmp_path):
    """A mask_text without the phone rule costs masks-phones only: the filter and the formatter are judged
    against the learner's own mask_text and on records fed straight from the grader."""
    source = REFERENCE.read_text().replace("    text = _PHONE.sub(_phone, text)\n", "")
    assert _lost(_grade(tmp_path, source)) == {"masks-phones"}


def test_a_filter_leaving_args_behind_costs_masks_args_only(tmp_path):
    source = REFERENCE.read_text().replace("        record.args = ()\n", "        record.args = None\n")
    result = _grade(tmp_path, source)
    assert _lost(result) == {"masks-args"}
    assert "record.args is null" in next(c for c in result.checks if c.id == "masks-args").evidence


def test_mutating_the_callers_objects_is_seen_even_when_the_child_fakes_its_copies(tmp_path):
    """Issue 11: a flaw that forged the harness's own before/after comparison kept full marks. The
    grader now compares the objects as found after the filter with what it sent itself."""
    flawed = (ROOT / "solutions/pii-logging/flawed/mutates-extras/masking_filter.py").read_text()
    forged = flawed + "\n\nimport copy\ncopy.deepcopy = lambda value, memo=None: value\n"
    assert _lost(_grade(tmp_path, forged)) == {"no-caller-mutation"}


def test_a_filter_changing_a_mapping_arg_in_place_is_caught(tmp_path):
    source = REFERENCE.read_text().replace(
        "        record.msg = mask_text(record.getMessage())\n",
        "        if isinstance(record.args, dict):\n"
        "            for k in list(record.args):\n"
        "                record.args[k] = mask_text(str(record.args[k]))\n"
        "        record.msg = mask_text(record.getMessage())\n")
    assert _lost(_grade(tmp_path, source)) == {"no-caller-mutation"}


def test_the_formatter_line_is_compared_whole(tmp_path, data):
    source = REFERENCE.read_text().replace('            "message": record.getMessage(),\n',
                                           '            "message": record.getMessage(),\n'
                                           '            "lineno": record.lineno,\n')
    result = _grade(tmp_path, source)
    assert _lost(result) == {"json-formatter"}
    assert "lineno" in next(c for c in result.checks if c.id == "json-formatter").evidence
    assert json.loads(json.dumps(expected_line(data.formats[0])))  # plain data
