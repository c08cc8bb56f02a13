"""Mutation operators and analysis: each kind of mistake the issue names is generated, ids are stable."""
from __future__ import annotations

import textwrap
import tomllib

import duckdb
import pytest

from graders.errors import ManifestError
from graders.mutation.analysis import MutantResult, MutationReport
from graders.mutation.equivalents import Equivalent, load_equivalents
from graders.mutation.findings_ops import findings_mutants
from graders.mutation.model import Mutant
from graders.mutation.python_ops import python_mutants
from graders.mutation.sql_ops import sql_mutants
from graders.mutation.suite_ops import suite_mutants
from graders.render.mutation import report_text

PY = textwrap.dedent('''\
    """Module docstring is never mutated."""
    import re

    LIMIT = 3


    def clean(value: str, items: list) -> dict:
        """Docstring."""
        if value is None or len(items) < LIMIT:
            raise ValueError("bad")
        out = []
        for item in items[1:]:
            if not item:
                continue
            out.append(item.strip())
        try:
            number = int(value)
        except ValueError:
            number = None
        return {"accepted": out, "rejected": number}
''')


def _ops(mutants):
    return {m.operator for m in mutants}


def _changed_lines(m: Mutant) -> list[str]:
    return [ln[1:].strip() for ln in m.diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]


def test_python_operators_cover_the_mistakes_the_issue_names():
    mutants = python_mutants("clean.py", PY)
    ops = _ops(mutants)
    assert {"comparison", "and-or", "constant", "removed-statement", "exception-handling", "string-method",
            "slice", "swapped-dict-values", "returned-early", "returned-none", "argument"} <= ops
    lines = {ln for m in mutants for ln in _changed_lines(m)}
    assert "if value is None and len(items) < LIMIT:" in lines          # and/or
    assert "if value is None or len(items) <= LIMIT:" in lines          # boundary
    assert "LIMIT = 4" in lines                                         # constant off by one
    assert "out.append(item.rstrip())" in lines                         # strip -> rstrip
    assert "out.append(item)" in lines                                  # normaliser dropped
    assert "for item in items[:]:" in lines                             # slice bound dropped
    assert 'return {"accepted": number, "rejected": out}' in lines      # values swapped between keys
    assert "return" in lines                                            # continue -> return (left early)
    assert any(m.operator == "removed-statement" and "raise" in m.diff and "pass" in _changed_lines(m) for m in mutants)
    assert any(m.operator == "exception-handling" and "except Exception:" in _changed_lines(m) for m in mutants)
    for m in mutants:
        compile(m.source, "clean.py", "exec")
        assert "Module docstring" in m.source and "import re" in m.source
        assert "def clean(value: str, items: list) -> dict:" in m.source  # annotations untouched


def test_mutant_ids_do_not_depend_on_line_numbers():
    first = {m.id: m for m in python_mutants("clean.py", PY)}
    moved = {m.id: m for m in python_mutants("clean.py", "# a comment\n\n" + PY)}
    assert first.keys() == moved.keys()
    some = next(iter(first))
    assert moved[some].line == first[some].line + 2
    assert len(first) == len({m.source for m in first.values()})  # no two mutants are the same program


SQL = textwrap.dedent('''\
    -- WHERE a = b in a comment is never touched
    SELECT DISTINCT trim(s.id) AS id
    FROM src AS s
    LEFT JOIN tgt AS t ON t.id = s.id
    WHERE s.id NOT IN (SELECT id FROM excluded) AND s.amount > 0.01 AND t.id IS NULL
    UNION ALL
    SELECT upper(coalesce(id, '')) FROM other
''')


def test_sql_operators_cover_joins_comparisons_functions_sets_and_conditions():
    mutants = sql_mutants("q.sql", SQL)
    changed = {ln for m in mutants for ln in _changed_lines(m)}
    assert "INNER JOIN tgt AS t ON t.id = s.id" in changed
    assert "FULL JOIN tgt AS t ON t.id = s.id" in changed
    assert "SELECT trim(s.id) AS id" in changed                         # DISTINCT removed
    assert "SELECT DISTINCT s.id AS id" in changed                      # trim removed
    assert "SELECT DISTINCT rtrim(s.id) AS id" in changed
    assert "WHERE s.id IN (SELECT id FROM excluded) AND s.amount > 0.01 AND t.id IS NULL" in changed
    assert "WHERE s.id NOT IN (SELECT id FROM excluded) AND s.amount > 0.01" in changed  # a term dropped
    assert "WHERE s.id NOT IN (SELECT id FROM excluded) AND s.amount > 0.01 AND t.id IS NOT NULL" in changed
    assert "WHERE s.id NOT IN (SELECT id FROM excluded) OR s.amount > 0.01 AND t.id IS NULL" in changed
    assert "WHERE s.id NOT IN (SELECT id FROM excluded) AND s.amount >= 0.01 AND t.id IS NULL" in changed
    assert "UNION" in changed                                           # UNION ALL -> UNION
    assert "SELECT coalesce(id, '') FROM other" in changed
    assert "SELECT upper(id) FROM other" in changed
    assert {"sql-join", "sql-comparison", "sql-distinct", "sql-function", "sql-set", "sql-not", "sql-null",
            "sql-and-or", "sql-dropped-condition", "sql-constant", "sql-string"} <= _ops(mutants)
    for m in mutants:
        duckdb.extract_statements(m.source)
        assert m.source.startswith("-- WHERE a = b in a comment is never touched")


FINDINGS = textwrap.dedent('''\
    # Triage: category = "a comment"
    [INC-1]
    category = "timeout"
    evidence = [
      { correlation_id = "c-1a", ts = "2024-01-01T00:00:00Z" },
      { correlation_id = "c-1b", ts = "2024-01-01T00:00:01Z" },
    ]
    replay_safe = false
    note = "free prose is for a person"

    [INC-2]
    category = "data_quality"
    evidence = [{ correlation_id = "c-2a", ts = "2024-01-01T00:01:00Z" }]
    replay_safe = true
''')


def test_findings_operators_change_causes_citations_and_flags_but_not_prose():
    mutants = findings_mutants("findings.toml", FINDINGS)
    ops = _ops(mutants)
    assert {"findings-flag", "findings-value", "findings-dropped-item", "findings-dropped-entry"} <= ops
    changed = {ln for m in mutants for ln in _changed_lines(m)}
    assert 'category = "data_quality"' in changed and 'category = "timeout"' in changed  # causes swapped
    assert "replay_safe = true" in changed
    assert any("c-1b" in ln and "c-1a" not in ln and ln.startswith("{ correlation_id = \"c-1") for ln in changed) or \
        any('correlation_id = "c-1c"' in ln for ln in changed)                        # a citation one off
    for m in mutants:
        tomllib.loads(m.source)
        assert 'note = "free prose is for a person"' in m.source or m.operator == "findings-dropped-entry"
        assert m.source.startswith('# Triage: category = "a comment"')


SUITE = textwrap.dedent('''\
    import pytest
    from mapper import Rejected, map_account


    def helper():
        return 1


    def test_one():
        assert map_account({}) == {"a": 1}


    @pytest.mark.parametrize("value", ["x", "y", "z"])
    def test_rejects(value):
        with pytest.raises(Rejected, match="CODE"):
            map_account({"v": value})
''')


def test_suite_operators_weaken_a_test_suite():
    mutants = suite_mutants("test_mapper.py", SUITE)
    ops = _ops(mutants)
    assert ops == {"suite-deleted-test", "suite-removed-assert", "suite-dropped-case", "suite-loosened-raises"}
    assert sum(m.operator == "suite-deleted-test" for m in mutants) == 2   # helper() is not a test
    assert sum(m.operator == "suite-dropped-case" for m in mutants) == 3
    changed = {ln for m in mutants for ln in _changed_lines(m)}
    assert "with pytest.raises(Exception, match=\"CODE\"):" in changed
    assert "with pytest.raises(Rejected):" in changed
    for m in mutants:
        compile(m.source, "test_mapper.py", "exec")


def test_equivalents_need_a_reason_and_an_id(tmp_path):
    path = tmp_path / "equivalent-mutants.toml"
    assert load_equivalents(path) == {}
    path.write_text('[[equivalent]]\nid = "string-1"\nwhere = "a.py:3"\nreason = "the label is never read"\n')
    assert load_equivalents(path)["string-1"].reason == "the label is never read"
    for body, words in [('[[equivalent]]\nid = "x"\nreason = "TODO"\n', "has no reason"),
                        ('[[equivalent]]\nreason = "r"\n', "has no id"),
                        ('[[equivalent]]\nid = "x"\nreason = "r"\n[[equivalent]]\nid = "x"\nreason = "r"\n', "twice"),
                        ("[[equivalent]\n", "invalid TOML")]:
        path.write_text(body)
        with pytest.raises(ManifestError, match=words):
            load_equivalents(path)


def _result(mid: str, lost=(), equivalent=None) -> MutantResult:
    mutant = Mutant(mid, "a.py", 3, "comparison", "x", "--- a\n+++ b\n@@ -3 +3 @@\n-if a < b:\n+if a <= b:\n")
    return MutantResult(mutant, tuple(lost), 0.0, (), equivalent)


def test_score_counts_reviewed_equivalents_out_and_flags_wrong_judgements():
    eq = Equivalent("m3", "a.py:3", "same on every allowed input")
    report = MutationReport("demo", (_result("m1", ["c1"]), _result("m2"), _result("m3", equivalent=eq),
                                     _result("m4", ["c1", "c2"], equivalent=Equivalent("m4", "", "wrong"))),
                            (), (Equivalent("gone", "a.py:9", "old"),), 1.0)
    assert (report.generated, report.killed, report.equivalent, len(report.survivors)) == (4, 2, 1, 1)
    assert report.score == round(100 * 2 / 3, 1)
    assert report.checks_per_kill == 1.5
    assert not report.ok(50)  # a stale entry and a killed "equivalent" fail the proof whatever the score
    text = report_text(report, min_score=50)
    assert "survived m2 at a.py:3" in text and "+if a <= b:" in text
    assert "listed as equivalent" in text and "m4" in text
    assert "gone" in text and "no mutant of the reference matches" in text
