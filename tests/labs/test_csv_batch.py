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
import sys
from dataclasses import replace
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
    "plain": None, "canonical": None, "bom": None, "bom-hinted": None, "latin1": None, "latin1-head": "BAD_HEADER",
    "latin1-tail": "MISSING_TRAILER", "hint-bad": "BAD_ENCODING", "hint-latin1": None, "hint-latin1-utf8": None,
    "quoted": None, "quoted-crlf": None, "multiline": None, "rejects": None, "spaces": None, "blank-tail": None,
    "trl-count": "COUNT_MISMATCH", "trl-count-low": "COUNT_MISMATCH", "trl-total": "TOTAL_MISMATCH",
    "trl-total-cent": "TOTAL_MISMATCH", "trl-both": "COUNT_MISMATCH", "trl-missing": "MISSING_TRAILER",
    "trl-cut-clean": "MISSING_TRAILER", "trl-header-only": "MISSING_TRAILER", "trl-bad": "BAD_TRAILER",
    "trl-four": "BAD_TRAILER", "trl-bad-count": "BAD_TRAILER", "trl-bad-total": "BAD_TRAILER", "trl-control": None,
    "trl-padded": None, "trl-short-total": None, "trl-negative": None, "trl-zero": None, "enc-late": "BAD_ENCODING",
    "hdr-swapped": "BAD_HEADER", "hdr-renamed": "BAD_HEADER", "hdr-missing": "BAD_HEADER", "hdr-extra": "BAD_HEADER",
    "hdr-case": "BAD_HEADER", "hdr-none": "BAD_HEADER", "hdr-empty": "BAD_HEADER", "hdr-padded": None,
    "all-rejected": None,
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


def test_hidden_files_cover_the_edges_the_coverage_table_names(hidden):
    raw = {case.key: case.raw for case in hidden.cases}
    # The encoding is decided by the whole file: its only Latin-1 byte is the 2nd, or the very last.
    assert [i for i, b in enumerate(raw["latin1-head"]) if b >= 0x80] == [1]
    assert [i for i, b in enumerate(raw["latin1-tail"]) if b >= 0x80] == [len(raw["latin1-tail"]) - 1]
    # The late bad byte comes after the first 8 KB a text reader decodes, so records were written before it.
    assert min(i for i, b in enumerate(raw["enc-late"]) if b >= 0x80) > 8192
    assert b'second line"' in raw["quoted-crlf"] and b"first line\r\nsecond" in raw["quoted-crlf"]
    rejects = lab.oracle(raw["rejects"]).rejects
    assert rejects[0] == (2, "MISSING_VALUE")  # the first data record, with three problems
    assert {code for _, code in rejects} == {"FIELD_COUNT", "MISSING_VALUE", "INVALID_DATE", "INVALID_AMOUNT"}
    assert lab.oracle(raw["all-rejected"]).accepted == () and lab.oracle(raw["trl-zero"]).accepted == ()
    assert "out/plain/.keep" in lab.hidden_files(hidden)
    assert set(lab.COVERAGE) == {spec.criterion for spec in lab.grader.checks}
    assert all(len(edges) >= 2 for edges in lab.COVERAGE.values())


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


def _canonical_lines(records) -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode() + b"\n"
                    for r in records)


def _faithful(hidden, key: str, **changes):
    """What a correct process_file returns and writes for one hidden file; ``changes`` alter the summary."""
    case = hidden.case(key)
    want = lab.oracle(case.raw, case.hint)
    rejects = [{"code": code, "line": line} for line, code in want.rejects]
    summary = {"rows": len(want.accepted) + len(rejects), "accepted": len(want.accepted), "rejected": len(rejects),
               "refused": want.refused, "reason": want.reason} | changes
    return _pair(summary, None if want.refused else _canonical_lines(want.accepted), _canonical_lines(rejects))


def _evidence(hidden, probe: str, **pairs):
    keys = {"summaries": ("rejects", "blank-tail", "all-rejected", "trl-zero", "trl-total", "hdr-renamed"),
            "trailers": lab.TRAILERS + ("enc-late",),
            "headers": ("hdr-swapped", "hdr-renamed", "hdr-missing", "hdr-extra", "hdr-case", "hdr-none",
                        "hdr-empty", "hdr-padded"),
            "rejects": ("rejects", "spaces")}[probe]
    return {key: pairs.get(key.replace("-", "_")) or _faithful(hidden, key) for key in keys}


def test_each_derived_check_passes_on_faithful_outputs(hidden):
    for check_id, probe in (("summary-consistency", "summaries"), ("no-partial-load", "trailers"),
                            ("trailer-refusal", "trailers"), ("header-validation", "headers"),
                            ("reject-codes", "rejects"), ("reconcile-includes-rejects", "rejects")):
        assert _check(check_id)(_evidence(hidden, probe), hidden).status is Status.PASSED, check_id


def test_a_lost_rejects_file_costs_the_reject_checks_not_the_summary(hidden):
    # The summary counts nine rejects; a bug in writing them left rejects.jsonl empty.
    call, outputs = _faithful(hidden, "rejects")
    emptied = {**outputs.value, "files": {**outputs.value["files"], "rejects.jsonl": b""}}
    lost = (call, replace(outputs, value=emptied))
    assert _check("reject-codes")(_evidence(hidden, "rejects", rejects=lost), hidden).status is Status.FAILED
    assert _check("summary-consistency")(_evidence(hidden, "summaries", rejects=lost), hidden).status is Status.PASSED
    # A summary that miscounts is still caught: it agrees with neither the files written nor the right ones.
    wrong = _faithful(hidden, "rejects", rejected=3, rows=25)
    assert _check("summary-consistency")(_evidence(hidden, "summaries", rejects=wrong), hidden).status is Status.FAILED


def test_a_missed_trailer_refusal_costs_the_trailer_check_not_no_partial_load(hidden):
    # trl-total loaded whole instead of being refused: criterion 7's mistake, not a partial load.
    records = lab.oracle(hidden.case("trl-control").raw).accepted
    loaded = _pair({"rows": 15, "accepted": 15, "rejected": 0, "refused": False, "reason": None},
                   _canonical_lines(records))
    evidence = _evidence(hidden, "trailers", trl_total=loaded)
    assert _check("trailer-refusal")(evidence, hidden).status is Status.FAILED
    assert _check("no-partial-load")(evidence, hidden).status is Status.PASSED
    # Refused, yet its records left behind: that is this check's business.
    leaky = _pair({"rows": 15, "accepted": 0, "rejected": 0, "refused": True, "reason": "TOTAL_MISMATCH"},
                  _canonical_lines(records))
    assert _check("no-partial-load")(_evidence(hidden, "trailers", trl_total=leaky), hidden).status is Status.FAILED


def test_a_padded_header_refused_by_its_trailer_is_not_a_header_mistake(hidden):
    refused = _faithful(hidden, "hdr-padded", refused=True, reason="COUNT_MISMATCH", accepted=0)
    assert _check("header-validation")(_evidence(hidden, "headers", hdr_padded=refused), hidden).status is Status.PASSED
    bad = _faithful(hidden, "hdr-padded", refused=True, reason="BAD_HEADER", accepted=0)
    assert _check("header-validation")(_evidence(hidden, "headers", hdr_padded=bad), hidden).status is Status.FAILED


def test_memory_is_judged_on_a_large_file_refused_by_its_trailer(hidden):
    # Refused by the trailer, the last record: the file was read to the end, so its memory can be judged.
    refused = {"rows": lab.LARGE_ROWS, "accepted": 0, "rejected": 0, "refused": True, "reason": "TOTAL_MISMATCH"}
    assert _check("streams-large-file")(replace(_returned(refused), peak_growth_kb=200), hidden).status is Status.PASSED
    header = refused | {"reason": "BAD_HEADER", "rows": 0}
    assert _check("streams-large-file")(replace(_returned(header), peak_growth_kb=200), hidden).status is Status.FAILED
    grew = replace(_returned(refused | {"refused": False, "reason": None}), peak_growth_kb=lab.GROWTH_LIMIT_KB + 1)
    assert "memory grew" in _check("streams-large-file")(grew, hidden).reason


def test_garbage_answers_are_reported_not_crashed_on(hidden):
    raised = CallRecord("nightly:process_file", (), {}, CallStatus.RAISED, error=CallError("ValueError", "boom"))
    seen = lab._seen((raised, _returned("not a dict")))
    assert seen.problem.startswith("process_file() raised ValueError") and seen.accepted is None
    seen = lab._seen((_returned([1, 2]), _returned({"files": {"accepted.jsonl": b"\xff\xfe"}})))
    assert "expected the summary dict" in seen.problem and "not UTF-8" in seen.unreadable
    outcome = _check("accepted-records")({"plain": (raised, _returned(None))}, hidden)
    assert outcome.status is Status.FAILED and "ValueError" in outcome.reason


# -- what the child wrote, read by the grader ------------------------------------------
WRITER = """
import os
def write(folder, big, link_to):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "accepted.jsonl"), "wb") as fh:
        fh.write(b"x" * big)
    os.symlink(link_to, os.path.join(folder, "rejects.jsonl"))
    return sorted(os.listdir(folder))
"""


def test_outputs_are_read_by_the_grader_capped_and_never_through_a_link(tmp_path, mode):
    from graders.sandbox import Limits, Sandbox

    (tmp_path / "w.py").write_text(WRITER)
    secret = paths.SOLUTIONS / "csv-batch" / "reference" / "nightly.py"
    with Sandbox(tmp_path, Limits()) as sandbox:
        assert sandbox.call("w:write", "out/x", lab.CAP + 100, str(secret)).ok
        seen = sandbox.read_folder("out/x", lab.OUTPUTS, lab.CAP)
        absent = sandbox.read_folder("out/none", lab.OUTPUTS, lab.CAP)
        outside = sandbox.read_folder("../..", lab.OUTPUTS, lab.CAP)
    assert len(seen["files"]["accepted.jsonl"]) == lab.CAP + 1
    assert seen["files"]["rejects.jsonl"] is None  # a link, to the reference: not followed
    assert seen["listing"] == ["accepted.jsonl", "rejects.jsonl"]
    assert absent == {"listing": None, "files": {"accepted.jsonl": None, "rejects.jsonl": None}, "cap": lab.CAP}
    assert outside["listing"] is None


def _large_probe(submission: Path, hidden):
    """The grader's own memory probe on ``submission``: a fresh child, the peak read from the kernel."""
    from graders import catalog
    from graders.checks import Environment, Run
    from graders.sandbox import Sandbox

    with Sandbox(submission, catalog.get_lab("csv-batch").limits, extra_files=lab.grader.files()) as sandbox:
        return lab._probe_large(Run(sandbox, hidden, Environment()))


@pytest.mark.parametrize("solution, streams", [("reference", True), ("flawed/reads-whole-file", False)])
def test_memory_growth_read_by_the_grader_separates_streaming_with_a_wide_margin(solution, streams, hidden, mode):
    record = _large_probe(paths.SOLUTIONS / "csv-batch" / solution, hidden)
    assert record.ok and record.peak_growth_kb is not None
    if streams:  # about 0.1 MB measured: a twentieth of the limit is plenty of room
        assert record.peak_growth_kb < lab.GROWTH_LIMIT_KB / 20
    else:        # about 63 MB measured: ten times the limit
        assert record.peak_growth_kb > lab.GROWTH_LIMIT_KB * 10
    assert (_check("streams-large-file")(record, hidden).status is Status.PASSED) is streams


LIAR = """

_real = process_file


def process_file(path, out_dir, encoding_hint=None):
    blob = open(path, "rb").read() * 3  # 18 MB in one block, returned to the system when freed
    del blob
    summary = _real(path, out_dir, encoding_hint)
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # the high-water mark starts again from here
    return summary
"""


def test_a_child_cannot_hide_its_peak_by_resetting_the_high_water_mark(hidden, tmp_path, mode):
    # The sandbox's Landlock rules keep /proc/self read-only, in both isolation modes.
    source = (paths.SOLUTIONS / "csv-batch" / "flawed" / "reads-whole-file" / "nightly.py").read_text()
    (tmp_path / "nightly.py").write_text(source + LIAR)
    record = _large_probe(tmp_path, hidden)
    assert _check("streams-large-file")(record, hidden).status is Status.FAILED


# -- the benchmark's generator ------------------------------------------------------
def test_bench_generator_writes_a_file_the_reference_loads(reference, tmp_path):
    bench = _module("csv_batch_bench", BENCH)
    bench.generate(tmp_path / "orders.csv", 3000)
    summary = reference.process_file(str(tmp_path / "orders.csv"), str(tmp_path / "out"))
    assert summary == {"rows": 3000, "accepted": 2985, "rejected": 15, "refused": False, "reason": None}
    want = lab.oracle((tmp_path / "orders.csv").read_bytes())
    assert len(want.accepted) == 2985
