"""The text a trainee reads: a scorecard that cannot be read as a count, every evidence line the JSON has."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from graders import catalog, engine
from graders.render import to_json, to_text
from graders.render.text import EVIDENCE_LINES, side_by_side, to_screen
from graders.results import CheckResult, Dimension, LabResult, Status

ROOT = Path(__file__).resolve().parents[2]


def _check(id: str, status: Status, points: float, max_points: float, dimension: Dimension, evidence: str = "",
           criterion: int | None = 1) -> CheckResult:
    return CheckResult(id=id, title=f"title of {id}", status=status, points=points, max_points=max_points,
                       skill="s", dimension=dimension, reason=f"reason of {id}", evidence=evidence, criterion=criterion)


def _result(*checks: CheckResult) -> LabResult:
    return LabResult(lab="lab", title="A lab", submission="sub", checks=checks,
                     score=sum(c.points for c in checks), max_score=sum(c.max_points for c in checks),
                     tool_version="0")


def _scorecard_line(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("scorecard"))


def test_the_scorecard_reads_as_a_level_per_dimension_not_a_count():
    full = _result(_check("a", Status.PASSED, 10, 10, Dimension.INTEGRATION),
                   _check("b", Status.PASSED, 10, 10, Dimension.API_DATA))
    line = _scorecard_line(to_text(full))
    # before: "scorecard (1 gap, 3 meets, 5 standout): Integration fundamentals 5, ..." read as "1 gap" at 100 %
    assert not re.search(r"scorecard \(1 gap", line)
    assert "Integration fundamentals 5/5 (standout)" in line and "API & data skills 5/5 (standout)" in line
    assert "1-5 scale" in line


@pytest.mark.parametrize("earned, level", [(0, "1/5 (gap)"), (4, "2/5"), (6.5, "3/5 (meets)"), (8, "4/5"),
                                           (10, "5/5 (standout)")])
def test_each_level_is_shown_on_the_five_point_scale(earned, level):
    status = Status.PASSED if earned == 10 else Status.FAILED
    line = _scorecard_line(to_text(_result(_check("a", status, earned, 10, Dimension.SECURITY))))
    assert line.endswith(f"Security awareness {level}")


def test_text_shows_every_evidence_line_up_to_a_limit_then_says_how_many_more():
    lines = [f"line {i}" for i in range(EVIDENCE_LINES + 7)]
    result = _result(_check("long", Status.FAILED, 0, 10, Dimension.SDLC, "\n".join(lines)),
                     _check("passed-with-evidence", Status.PASSED, 5, 5, Dimension.SDLC, "exposed m1 (by test_a)"))
    text = to_text(result)
    assert f"line {EVIDENCE_LINES - 1}" in text and f"line {EVIDENCE_LINES}" not in text
    assert "... 7 more evidence lines" in text
    assert "exposed m1 (by test_a)" in text  # a passed check's evidence, as the JSON has it


@pytest.fixture(scope="module")
def mapping_results(tmp_path_factory):
    """mapping-tests graded on a weak suite, with ICLAB_FEEDBACK=count and =names."""
    lab = catalog.get_lab("mapping-tests")
    folder = ROOT / "solutions/mapping-tests/flawed/happy-path-only"
    out = {}
    mp = pytest.MonkeyPatch()
    try:
        for level in ("count", "names"):
            mp.setenv("ICLAB_FEEDBACK", level)
            out[level] = engine.grade(lab, folder, label="happy-path-only")
    finally:
        mp.undo()
    return out


@pytest.mark.parametrize("level", ["count", "names"])
def test_text_shows_what_the_json_shows(mapping_results, level):
    result = mapping_results[level]
    text = to_text(result)
    doc = json.loads(to_json(result))
    for check in doc["checks"]:
        for line in check["evidence"].splitlines():
            assert line in text, (check["id"], line)


def test_names_mode_names_every_undetected_mutant_in_the_text(mapping_results):
    from graders.labs.mapping_tests import MUTANTS

    names, count = to_text(mapping_results["names"]), to_text(mapping_results["count"])
    assert names != count
    survivors = re.findall(r"survived (\S+):", names)
    assert len(survivors) > 20  # a happy-path suite leaves most mutants alive
    assert set(survivors) <= {m.name for m in MUTANTS}
    for name in survivors:
        assert f"survived {name}:" not in count
    # every family's survivors are listed, not only the first twelve lines of each
    for check in mapping_results["names"].checks:
        listed = [ln for ln in check.evidence.splitlines() if ln.startswith("survived ")]
        assert sum(f"        {ln}" in names.splitlines() for ln in listed) == len(listed)


def test_the_watch_screen_fits_and_always_shows_the_score():
    checks = [_check(f"c{i}", Status.FAILED, 0, 5, Dimension.API_DATA, "\n".join(f"ev {i}.{j}" for j in range(9)))
              for i in range(12)] + [_check("ok", Status.PASSED, 5, 5, Dimension.API_DATA)]
    result = _result(*checks)
    for rows, columns in [(10, 40), (24, 80), (60, 120)]:
        lines = to_screen(result, rows=rows, columns=columns)
        assert len(lines) <= rows and all(len(ln) <= columns for ln in lines)
        assert lines[-1].startswith("score: 5/65")
    roomy = to_screen(result, rows=80, columns=120)
    assert any(ln.startswith("PASS ") and "ok" in ln for ln in roomy)
    assert roomy.index(next(ln for ln in roomy if ln.startswith("FAIL  AC1 c0"))) == 0


def test_side_by_side_aligns_the_two_files_and_marks_differences():
    out = side_by_side("yours", "a = 1\nb = 2\nc = 3\n", "reference", "a = 1\nb = 20\nc = 3\nd = 4\n", 100).splitlines()
    assert out[0].startswith("yours") and "reference" in out[0]
    row = {ln.split()[0]: ln for ln in out[2:]}
    assert " | " in row["b"] and row["b"].endswith("b = 20")
    assert out[-1].strip().startswith("> d = 4")
    assert "  a = 1" in row["a"] and "|" not in row["a"]
    narrow = side_by_side("yours", "x\n", "reference", "y\n", 60)
    assert narrow.index("== yours") < narrow.index("== reference")
