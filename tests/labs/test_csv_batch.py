"""Tests for the csv-batch lab: the grader's oracle and hidden data, its checks, the trusted helper and the benchmark.

``iclab verify csv-batch`` proves the lab end to end (reference at 100, each
flaw loses exactly its checks); these tests pin down the pieces it relies on,
quickly and without a sandbox.
"""
from __future__ import annotations

import codecs
import csv
import importlib.util
import io
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

import graders.sandbox

from graders import paths
from graders.labs import csv_batch as lab
from graders.sandbox.records import CallError, CallRecord, CallStatus
from graders.results import Status

FIXTURES = paths.FIXTURES / "csv-batch"
REFERENCE = paths.SOLUTIONS / "csv-batch" / "reference" / "nightly.py"
RUNTIME = Path(graders.sandbox.__file__).resolve().parent / "runtime"
BENCH = paths.ROOT / "bench" / "csv_batch.py"
README_EXAMPLE = (b"order_id,order_date,customer_name,amount,note\n"
                  b'B1,2025-11-23,Acme,10.00,"call first\nthen deliver"\n'
                  b"\n"
                  b"B2,2025-11-31,Acme,5.00,\n"
                  b"TRL,2,15.00\n")


def _module(name: str, path: Path):
    """Import a file that is not on sys.path, without leaving bytecode next to it."""
    saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = saved
    return module


@pytest.fixture(scope="module")
def hidden() -> lab.Hidden:
    return lab.grader.data()


@pytest.fixture(scope="module")
def reference():
    return _module("csv_batch_reference", REFERENCE)


def _jsonl(path: Path) -> list:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def _returned(value) -> CallRecord:
    return CallRecord("m:f", (), {}, CallStatus.RETURNED, value=value)


def _pair(summary, accepted: bytes | None, rejects: bytes | None = b""):
    files = {"accepted.jsonl": accepted, "rejects.jsonl": rejects}
    return _returned(summary), _returned({"listing": [], "files": files, "cap": 1})


# -- the oracle ---------------------------------------------------------------------
def test_oracle_numbers_a_record_by_the_line_it_starts_on():
    want = lab.oracle(README_EXAMPLE)
    assert (want.refused, want.rejects) == (False, ((5, "INVALID_DATE"),))
    assert want.accepted[0]["note"] == "call first\nthen deliver"


def test_oracle_counts_rejected_records_in_the_control_totals():
    # B2 is rejected, yet the trailer must count it and include its 5.00.
    assert lab.oracle(README_EXAMPLE.replace(b"TRL,2,15.00", b"TRL,1,10.00")).reason == "COUNT_MISMATCH"
    assert lab.oracle(README_EXAMPLE.replace(b"TRL,2,15.00", b"TRL,2,10.00")).reason == "TOTAL_MISMATCH"


def test_oracle_agrees_with_the_visible_fixtures():
    want = lab.oracle((FIXTURES / "orders_20251123.csv").read_bytes())
    lines = [json.dumps(r, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n" for r in want.accepted]
    assert "".join(lines).encode() == (FIXTURES / "accepted_20251123.jsonl").read_bytes()
    rejects = lab.oracle((FIXTURES / "orders_rejects.csv").read_bytes()).rejects
    assert [{"code": c, "line": n} for n, c in rejects] == _jsonl(FIXTURES / "rejects_expected.jsonl")
    assert lab.oracle((FIXTURES / "orders_short_count.csv").read_bytes()).reason == "COUNT_MISMATCH"
    assert lab.oracle((FIXTURES / "orders_latin1.csv").read_bytes()).accepted[-1]["customer_name"] == "Müller & Söhne GmbH"


def test_oracle_follows_the_encoding_rule():
    latin = "order_id,order_date,customer_name,amount,note\nA,2025-01-02,Café,1.00,\nTRL,1,1.00\n".encode("latin-1")
    assert lab.oracle(latin).accepted[0]["customer_name"] == "Café"
    assert lab.oracle(latin, "utf-8").reason == "BAD_ENCODING"
    assert lab.oracle(codecs.BOM_UTF8 + latin.decode("latin-1").encode()).accepted[0]["customer_name"] == "Café"


# -- the hidden data ----------------------------------------------------------------
def test_hidden_data_is_generated_the_same_way_every_time(hidden):
    assert lab.make_hidden(random.Random(lab.grader.seed)) == hidden


def test_hidden_files_share_nothing_with_the_visible_fixtures(hidden):
    visible = {p.read_bytes() for p in FIXTURES.iterdir()}
    for case in hidden.cases:
        assert case.raw not in visible
        assert b"SO-1002" not in case.raw, case.key  # the visible order ids


EXPECTED_OUTCOME = {
    "plain": None, "canonical": None, "bom": None, "latin1": None, "hint-bad": "BAD_ENCODING", "hint-latin1": None,
    "quoted": None, "multiline": None, "rejects": None, "spaces": None, "blank-tail": None,
    "trl-count": "COUNT_MISMATCH", "trl-total": "TOTAL_MISMATCH", "trl-missing": "MISSING_TRAILER",
    "trl-bad": "BAD_TRAILER", "trl-control": None, "hdr-swapped": "BAD_HEADER", "hdr-renamed": "BAD_HEADER",
    "hdr-missing": "BAD_HEADER", "hdr-none": "BAD_HEADER", "hdr-padded": None,
}


def test_every_hidden_file_has_its_intended_outcome(hidden):
    assert {case.key for case in hidden.cases} == set(EXPECTED_OUTCOME)
    assert len({case.path for case in hidden.cases}) == len(hidden.cases)
    for case in hidden.cases:
        assert lab.oracle(case.raw, case.hint).reason == EXPECTED_OUTCOME[case.key], case.key


def test_hidden_files_carry_the_trap_they_are_named_for(hidden):
    raw = {case.key: case.raw for case in hidden.cases}
    assert raw["bom"].startswith(codecs.BOM_UTF8) and b"\r\n" in raw["bom"]
    first_8bit = next(i for i, byte in enumerate(raw["latin1"]) if byte >= 0x80)
    assert first_8bit > 4096  # a 4 KB sample looks like ASCII
    with pytest.raises(UnicodeDecodeError):
        raw["latin1"].decode("utf-8")
    tail = raw["blank-tail"].split(b"\nTRL,", 1)[1].split(b"\n", 1)[1]
    assert tail.count(b"\n") >= 3 and not tail.replace(b",", b"").strip()
    codes = {code for _, code in lab.oracle(raw["rejects"]).rejects}
    assert codes == {"FIELD_COUNT", "MISSING_VALUE", "INVALID_DATE", "INVALID_AMOUNT"}
    assert b'""' in raw["quoted"] and b'"Hall, Sons' in raw["quoted"]
    # Each multi-line reject comes after a record that spans lines, so counting records gives another number.
    reader = csv.reader(io.StringIO(raw["multiline"].decode(), newline=""))
    starts, start = [], 1
    for _ in reader:
        starts.append(start)
        start = reader.line_num + 1
    for line, _ in lab.oracle(raw["multiline"]).rejects:
        assert line > starts.index(line) + 1


def test_large_file_loads_and_reconciles(hidden):
    want = lab.oracle(hidden.large)
    assert (want.refused, len(want.accepted)) == (False, lab.LARGE_ROWS)
    assert 5e6 < len(hidden.large) < 8e6


@pytest.mark.parametrize("key", sorted(EXPECTED_OUTCOME))
def test_reference_agrees_with_the_oracle(key, hidden, reference, tmp_path):
    case = hidden.case(key)
    source = tmp_path / "in.csv"
    source.write_bytes(case.raw)
    args = (str(source), str(tmp_path / "out")) + ((case.hint,) if case.hint else ())
    summary = reference.process_file(*args)
    want = lab.oracle(case.raw, case.hint)
    assert (summary["refused"], summary["reason"]) == (want.refused, want.reason)
    assert _jsonl(tmp_path / "out" / "accepted.jsonl") == list(want.accepted)
    if not want.refused:
        assert [(r["line"], r["code"]) for r in _jsonl(tmp_path / "out" / "rejects.jsonl")] == list(want.rejects)


# -- the checks judge untrusted outputs ---------------------------------------------
def _check(check_id: str):
    return next(spec.func for spec in lab.grader.checks if spec.id == check_id)


def test_canonical_check_spots_escaped_non_ascii(hidden):
    loaded = {"rows": 1, "accepted": 1, "rejected": 0, "refused": False, "reason": None}
    record = {"amount": "1.00", "customer_name": "Café", "note": None, "order_date": "2025-01-02", "order_id": "A"}
    good = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
    escaped = json.dumps(record, sort_keys=True) + "\n"
    assert _check("canonical-jsonl")({"canonical": _pair(loaded, good.encode())}, hidden).status is Status.PASSED
    outcome = _check("canonical-jsonl")({"canonical": _pair(loaded, escaped.encode())}, hidden)
    assert outcome.status is Status.FAILED and "\\u00e9" in outcome.evidence


def test_no_partial_load_needs_a_working_control_and_empty_refusals(hidden):
    refused = {"rows": 2, "accepted": 0, "rejected": 0, "refused": True, "reason": "COUNT_MISMATCH"}
    loaded = {"rows": 1, "accepted": 1, "rejected": 0, "refused": False, "reason": None}
    keys = ("trl-count", "trl-total", "trl-missing", "trl-bad")
    clean = {key: _pair(refused, None) for key in keys} | {"trl-control": _pair(loaded, b'{"order_id":"A"}\n')}
    assert _check("no-partial-load")(clean, hidden).status is Status.PASSED
    leaky = clean | {"trl-total": _pair(refused, b'{"order_id":"A"}\n')}
    assert "1 of 4" in _check("no-partial-load")(leaky, hidden).reason
    # Refusing everything, the control file included, must not earn the points.
    idle = clean | {"trl-control": _pair(refused, None)}
    assert _check("no-partial-load")(idle, hidden).status is Status.FAILED


def test_summary_check_rejects_counts_that_disagree_with_the_files(hidden):
    keys = ("rejects", "blank-tail", "trl-total", "hdr-renamed")
    honest = {"rows": 1, "accepted": 1, "rejected": 0, "refused": False, "reason": None}
    evidence = {key: _pair(honest, b'{"order_id":"A"}\n') for key in keys}
    assert _check("summary-consistency")(evidence, hidden).status is Status.PASSED
    evidence["rejects"] = _pair(honest | {"accepted": 3, "rows": 3}, b'{"order_id":"A"}\n')
    assert _check("summary-consistency")(evidence, hidden).status is Status.FAILED


def test_garbage_answers_are_reported_not_crashed_on(hidden):
    raised = CallRecord("nightly:process_file", (), {}, CallStatus.RAISED, error=CallError("ValueError", "boom"))
    seen = lab._seen((raised, _returned("not a dict")))
    assert seen.problem.startswith("process_file() raised ValueError") and seen.accepted is None
    seen = lab._seen((_returned([1, 2]), _returned({"files": {"accepted.jsonl": b"\xff\xfe"}})))
    assert "expected the summary dict" in seen.problem and "not UTF-8" in seen.unreadable
    outcome = _check("accepted-records")({"plain": (raised, _returned(None))}, hidden)
    assert outcome.status is Status.FAILED and "ValueError" in outcome.reason


# -- the trusted helper inside the sandbox ------------------------------------------
def test_read_outputs_caps_each_file_and_marks_absent_ones(tmp_path):
    helper = _module("_iclab_csv_batch_under_test", RUNTIME / "_iclab_csv_batch.py")
    (tmp_path / "accepted.jsonl").write_bytes(b"x" * (helper.CAP + 100))
    answer = helper.read_outputs(str(tmp_path))
    assert len(answer["files"]["accepted.jsonl"]) == helper.CAP + 1
    assert answer["files"]["rejects.jsonl"] is None and answer["listing"] == ["accepted.jsonl"]
    assert helper.read_outputs(str(tmp_path / "missing")) == {
        "listing": None, "files": {"accepted.jsonl": None, "rejects.jsonl": None}, "cap": helper.CAP}


@pytest.mark.parametrize("body, grows", [("data = b'x' * 40_000_000", True), ("data = b''", False)])
def test_measure_sees_memory_growth(body, grows, tmp_path):
    (tmp_path / "nightly.py").write_text(f"def process_file(path, out_dir):\n    {body}\n    return {{'rows': 1}}\n")
    code = ("import json, sys; sys.path[:0] = sys.argv[1:3]; import _iclab_csv_batch as h; "
            "print(json.dumps(h.measure('in.csv', 'out')))")
    proc = subprocess.run([sys.executable, "-I", "-B", "-c", code, str(tmp_path), str(RUNTIME)],
                          capture_output=True, text=True, timeout=60, check=True)
    answer = json.loads(proc.stdout)
    assert answer["summary"] == {"rows": 1}
    assert (answer["growth_kb"] > lab.GROWTH_LIMIT_KB) is grows


# -- the benchmark's generator ------------------------------------------------------
def test_bench_generator_writes_a_file_the_reference_loads(reference, tmp_path):
    bench = _module("csv_batch_bench", BENCH)
    bench.generate(tmp_path / "orders.csv", 3000)
    summary = reference.process_file(str(tmp_path / "orders.csv"), str(tmp_path / "out"))
    assert summary == {"rows": 3000, "accepted": 2985, "rejected": 15, "refused": False, "reason": None}
    want = lab.oracle((tmp_path / "orders.csv").read_bytes())
    assert len(want.accepted) == 2985
