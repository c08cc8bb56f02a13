"""Tests specific to the sql-recon lab: the read-only SQL runner, its refusals, the oracle and the data.

``iclab verify sql-recon`` proves the reference and the flaws; these tests prove what verify
cannot see: hostile SQL changes nothing, a slow query is stopped by its CPU budget and a quadratic
plan is caught without running, verdicts are the same on a busy machine as on an idle one, the
oracle agrees with the visible expectations, the hidden data holds the traps the flaws fall into,
and the summary is not charged for a detail query's mistake.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
from decimal import Decimal

import duckdb
import pytest

from graders import catalog, engine, paths
from graders.labs import sql_recon as lab
from graders.labs.sql_recon import scaling
from graders.sandbox import Sandbox
from graders.sandbox.runtime import _iclab_sql_recon as runner

REFERENCE = paths.SOLUTIONS / "sql-recon" / "reference"
STARTER = paths.LABS / "sql-recon" / "starter"
FIXTURES = paths.FIXTURES / "sql-recon"

HOSTILE = {
    "drop": ("DROP TABLE source_txn", "refused", "DROP statement"),
    "delete": ("DELETE FROM target_txn", "refused", "DELETE statement"),
    "insert": ("INSERT INTO source_txn VALUES ('X', 1, 'EUR', 'POSTED', '2024-01-01T00:00:00Z')", "refused", "INSERT"),
    "update": ("UPDATE target_txn SET amount = 0", "refused", "UPDATE statement"),
    "create": ("CREATE TABLE t AS SELECT * FROM source_txn", "refused", "CREATE statement"),
    "temp-table": ("CREATE TEMP TABLE t AS SELECT 1", "refused", "CREATE statement"),
    "copy-out": ("COPY source_txn TO 'leak.csv'", "refused", "COPY statement"),
    "attach": ("ATTACH 'other.duckdb' AS other", "refused", "ATTACH statement"),
    "install": ("INSTALL httpfs", "refused", "LOAD statement"),
    "load": ("LOAD httpfs", "refused", "LOAD statement"),
    "pragma": ("PRAGMA enable_profiling", "refused", "PRAGMA statement"),
    "pragma-set": ("PRAGMA threads=64", "refused", "SET statement"),
    "set": ("SET enable_external_access = true", "refused", "SET statement"),
    "call": ("CALL pragma_version()", "refused", "CALL statement"),
    "export": ("EXPORT DATABASE 'dump'", "refused", "EXPORT statement"),
    "two-statements": ("SELECT 1 AS a; DROP TABLE source_txn", "refused", "2 statements (SELECT, DROP)"),
    "delete-in-cte": ("WITH d AS (DELETE FROM source_txn RETURNING *) SELECT count(*) AS n FROM d", "refused",
                      "read-only"),
    "read-file": ("SELECT * FROM read_text('/etc/passwd')", "refused", "disabled"),
    "read-csv": ("SELECT * FROM read_csv('/etc/hostname')", "refused", "disabled"),
    "glob": ("SELECT * FROM glob('/*')", "refused", "disabled"),
    "nested-write": ("SELECT * FROM query('DROP TABLE source_txn')", "error", "SELECT"),
    "empty": ("-- nothing here", "refused", "no SQL statement"),
}


def build_worlds(folder) -> dict[str, str]:
    """Every hidden world's DuckDB file, built by the runner from the grader's spec as the child does."""
    for rel, data in lab.grader.files().items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    (folder / "tmp").mkdir(exist_ok=True)
    return {world.name: runner.database(world.name) for world in lab.grader.data().worlds}


@pytest.fixture()
def worlds(tmp_path, monkeypatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    runner.disconnect()
    yield {name: str(tmp_path / path) for name, path in build_worlds(tmp_path).items()}
    runner.disconnect()


@pytest.fixture()
def hidden_db(worlds) -> str:
    """The grader's main hidden database, as the runner builds it in the sandbox."""
    return worlds["main"]


def fingerprint(database: str) -> str:
    """A digest of every row of both tables, read through a separate connection."""
    conn = duckdb.connect(database, read_only=True)
    try:
        rows = [conn.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in ("source_txn", "target_txn")]
    finally:
        conn.close()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def starter_module():
    spec = importlib.util.spec_from_file_location("sql_recon_starter", STARTER / "recon.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_sql_is_refused_with_a_reason_and_changes_nothing(case, hidden_db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text, status, words = HOSTILE[case]
    before = fingerprint(hidden_db)
    folder = sorted(p.name for p in (tmp_path / "tmp").rglob("*"))
    answer = runner.execute(runner.session("main"), text, label="summary.sql", seconds=5, on_session=True)
    assert (answer["status"], answer["rows"]) == (status, [])
    assert answer["message"].startswith("summary.sql") and words in answer["message"]
    runner.disconnect()
    assert fingerprint(hidden_db) == before
    assert sorted(p.name for p in (tmp_path / "tmp").rglob("*")) == folder  # no file written next to it


def test_refusals_and_a_shadowed_duckdb_inside_the_real_sandbox(tmp_path):
    # A submission that tries to write, read files, run two statements and shadow duckdb.
    (tmp_path / "summary.sql").write_text("DROP TABLE source_txn")
    (tmp_path / "missing_in_target.sql").write_text(
        "WITH d AS (DELETE FROM target_txn RETURNING *) SELECT txn_id FROM d")
    (tmp_path / "duplicates.sql").write_text("SELECT * FROM read_text('/etc/passwd')")
    (tmp_path / "orphans_in_target.sql").write_text("SELECT 1 AS txn_id; DROP TABLE target_txn")
    (tmp_path / "mismatches.sql").write_text(
        "SELECT (SELECT count(*) FROM source_txn) AS s, (SELECT count(*) FROM target_txn) AS t")
    (tmp_path / "duckdb.py").write_text("raise SystemExit('the learner controls duckdb')\n")
    # And a file of its own where the runner builds the hidden tables: it must not be used.
    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / "recon.duckdb").write_bytes(b"not the grader's tables")
    data = lab.grader.data()
    grading = catalog.get_lab("sql-recon")
    with Sandbox(tmp_path, grading.limits, extra_files=lab.grader.files()) as sandbox:
        def run(name):
            return lab._answer(sandbox.call(lab.RUN, name, "main", 10.0, timeout=30), name)
        refused = {name: run(name) for name in ("summary", "missing_in_target", "duplicates", "orphans_in_target")}
        counts = run("mismatches")
    assert {name: a.status for name, a in refused.items()} == dict.fromkeys(refused, "refused")
    assert "DROP statement" in refused["summary"].message
    assert "2 statements" in refused["orphans_in_target"].message
    assert counts.status == "ok" and counts.rows == ((len(data.main.source), len(data.main.target)),)


SLOW = ("SELECT count(*) AS n FROM source_txn AS s JOIN target_txn AS t "
        "ON s.txn_id = t.txn_id OR trim(s.txn_id) = trim(t.txn_id)")
# Quadratic without a join the plan can see: every source key is searched for in one string of every
# target key (about 1.7 s of CPU on 20,000 rows a side, the reference's query 0.01 s).
LIST_SCAN = ("SELECT trim(txn_id) AS txn_id FROM source_txn WHERE trim(txn_id) <> '' AND position("
             "'|' || trim(txn_id) || '|' IN (SELECT '|' || string_agg(trim(txn_id), '|') || '|' FROM target_txn)) = 0")


def test_a_slow_query_is_stopped_by_its_cpu_budget_and_the_runner_survives(tmp_path):
    database = str(tmp_path / "volume.duckdb")
    runner.build_volume(database, 20_000)
    try:
        conn = runner.connect(database)
        answer = runner.execute(conn, SLOW, label="missing_in_target.sql", seconds=60, cpu_seconds=0.3)
        guarded = runner.execute(conn, SLOW, label="missing_in_target.sql", seconds=0.3)
        after = runner.execute(conn, "SELECT count(*) AS n FROM source_txn", label="q.sql", seconds=5)
    finally:
        runner.disconnect()
    assert answer["status"] == "cpu_limit" and 0.3 <= answer["cpu_seconds"] < 2
    assert answer["message"] == "missing_in_target.sql was stopped after 0.3 s of CPU time without a result"
    assert guarded["status"] == "timeout"  # the wall clock only guards
    assert after["rows"] == [[20_000]]  # the runner survives an interrupted query
    verdict = lab.check_volume({"missing_in_target": scaling.Scaled("missing_in_target", (), "cpu_limit")},
                               lab.grader.data())
    assert verdict.status.value == "failed"
    assert verdict.reason == "missing_in_target.sql used more than 0.5 s of CPU time on 20,000 rows a side without finishing"
    starved = lab.check_volume({"summary": scaling.Scaled("summary", (), "timeout")}, lab.grader.data())
    assert starved.status.value == "errored" and "overloaded" in starved.reason


def test_the_plan_shows_a_join_of_every_row_with_every_row_without_running_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hidden").mkdir()
    (tmp_path / "hidden" / "tables.json").write_text(json.dumps({"volume_rows": 20_000, "worlds": {}}))
    (tmp_path / "missing_in_target.sql").write_text(SLOW)
    (tmp_path / "orphans_in_target.sql").write_text(LIST_SCAN)
    shutil.copy(paths.SOLUTIONS / "sql-recon" / "reference" / "summary.sql", tmp_path / "summary.sql")
    runner.disconnect()
    try:
        slow = runner.explain_sql("missing_in_target", runner.VOLUME)
        hidden = runner.explain_sql("orphans_in_target", runner.VOLUME)
        fine = runner.explain_sql("summary", runner.VOLUME)
    finally:
        runner.disconnect()
    found = scaling.quadratic_joins(slow["joins"])
    assert found == ('BLOCKWISE_NL_JOIN on ((txn_id = txn_id) OR ("trim"(txn_id) = "trim"(txn_id))) '
                     'between ~20,000 and ~20,000 rows',)
    assert scaling.quadratic_joins(hidden["joins"]) == ()  # a one-row side: the CPU budget judges this one
    assert [j["operator"] for j in fine["joins"]] == ["HASH_JOIN"] and scaling.quadratic_joins(fine["joins"]) == ()
    # Whatever the runner sends, only well-formed joins are read, and a missing estimate never fails a plan.
    assert scaling.quadratic_joins([None, {"operator": "CROSS_PRODUCT", "rows": [5000, None]}, "x", 3]) == ()
    assert scaling.quadratic_joins({"operator": "CROSS_PRODUCT"}) == ()


def _hogs(count: int = 2) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def _verdicts(submission) -> list[tuple]:
    result = engine.grade(catalog.get_lab("sql-recon"), submission)
    return [(c.id, c.status.value, c.points, c.reason) for c in result.checks]


def test_verdicts_are_the_same_with_both_cores_busy(tmp_path):
    # The reference, a flaw caught by its plan, and a slow query only the CPU budget catches.
    listed = tmp_path / "list-scan"
    shutil.copytree(paths.SOLUTIONS / "sql-recon" / "reference", listed)
    (listed / "missing_in_target.sql").write_text(LIST_SCAN)
    submissions = [paths.SOLUTIONS / "sql-recon" / "reference",
                   paths.SOLUTIONS / "sql-recon" / "flawed" / "or-join-timeout", listed]
    idle = [_verdicts(s) for s in submissions]
    hogs = _hogs()
    try:
        busy = [_verdicts(s) for s in submissions]
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert busy == idle
    scale = [dict((c[0], c[1:]) for c in verdicts)["volume-budget"] for verdicts in idle]
    assert [status for status, *_ in scale] == ["passed", "failed", "failed"]
    assert "BLOCKWISE_NL_JOIN" in scale[1][2] and "0.5 s of CPU time" in scale[2][2]


def test_the_volume_dataset_has_the_dirt_and_the_size_promised(tmp_path):
    database = str(tmp_path / "volume.duckdb")
    runner.build_volume(database, 50_000)
    runner.disconnect()
    conn = duckdb.connect(database, read_only=True)
    try:
        one = conn.execute
        assert one("SELECT count(*) FROM source_txn").fetchone()[0] == 50_000
        assert one("SELECT count(*) FROM target_txn").fetchone()[0] == 50_000
        for table in ("source_txn", "target_txn"):
            nulls, padded, dups = one(f"""SELECT count(*) FILTER (WHERE txn_id IS NULL),
                count(*) FILTER (WHERE txn_id <> trim(txn_id)),
                (SELECT count(*) FROM (SELECT trim(txn_id) FROM {table} WHERE trim(txn_id) <> ''
                                       GROUP BY 1 HAVING count(*) > 1)) FROM {table}""").fetchone()
            assert nulls > 0 and padded > 0 and dups > 0, table
    finally:
        conn.close()
    with pytest.raises(ValueError):
        runner.build_volume(str(tmp_path / "bad.duckdb"), 1234)


def test_the_starter_and_the_runner_share_one_schema():
    assert starter_module().SCHEMA == runner.SCHEMA
    assert starter_module().QUERIES == runner.QUERIES == lab.QUERIES


def test_the_oracle_agrees_with_the_visible_tests(tmp_path):
    database = str(tmp_path / "fixtures.duckdb")
    starter_module().load_fixtures(str(FIXTURES), database)
    conn = duckdb.connect(database, read_only=True)
    try:
        source, target = (tuple(lab.Txn(*row) for row in conn.execute(f"SELECT * FROM {t}").fetchall())
                          for t in ("source_txn", "target_txn"))
    finally:
        conn.close()
    expected, _ = lab.reconcile(source, target)
    assert expected.missing == ("INV-1015", "INV-1016", "INV-1017")
    assert expected.orphans == ("INV-1018", "INV-1019")
    assert sorted(expected.mismatches) == [("INV-1009", "amount"), ("INV-1010", "amount"), ("INV-1011", "currency"),
                                           ("INV-1012", "status"), ("INV-1013", "booked_at"), ("INV-1014", "amount"),
                                           ("INV-1014", "status")]
    assert (expected.summary["reconciled_keys"], expected.summary["reconciled_pct"]) == (8, Decimal("42.11"))


def test_the_reference_sql_matches_the_oracle_on_every_hidden_world(worlds):
    for world in lab.grader.data().worlds:
        exp = world.expected
        got = {name: runner.execute(runner.session(world.name), (REFERENCE / f"{name}.sql").read_text(),
                                    label=name, seconds=10, on_session=True) for name in runner.QUERIES}
        assert sorted(map(tuple, got["missing_in_target"]["rows"])) == [(k,) for k in exp.missing]
        assert sorted(map(tuple, got["orphans_in_target"]["rows"])) == [(k,) for k in exp.orphans]
        assert sorted(map(tuple, got["duplicates"]["rows"])) == list(exp.duplicates)
        assert sorted(map(tuple, got["mismatches"]["rows"])) == sorted(exp.mismatches)
        assert dict(zip(got["summary"]["columns"], got["summary"]["rows"][0])) == exp.summary, world.name


def test_the_hidden_data_holds_every_trap_and_none_of_the_visible_keys():
    data = lab.grader.data()
    main = data.main
    visible = (FIXTURES / "source_txn.csv").read_text() + (FIXTURES / "target_txn.csv").read_text()
    assert not any(key in visible for world in data.worlds for key in world.index)
    assert any(r.txn_id is None for r in main.source) and any(r.txn_id is None for r in main.target)  # NOT IN
    for side in (main.source, main.target):                                                       # padding
        assert any(r.txn_id and r.txn_id.strip() and r.txn_id.startswith(" ") for r in side)
        assert any(r.txn_id and r.txn_id.strip() and r.txn_id.endswith(" ") for r in side)
    assert any(r.currency != r.currency.upper() for r in main.source + main.target)               # case
    exp = main.expected
    missing_dup = {k for _, k, _ in exp.duplicates} & set(exp.missing)
    assert missing_dup and {k for _, k, _ in exp.duplicates} & set(exp.orphans)                   # DISTINCT
    pairs = [(main.index[k][0][0].amount, main.index[k][1][0].amount) for k in exp.unique]
    boundary = [(s, t) for s, t in pairs if abs(s - t) == lab.TOLERANCE and abs(float(s) - float(t)) > 0.01]
    assert {s > t for s, t in boundary} == {True, False}                                         # DOUBLE, both ways
    assert {s - t for s, t in pairs} >= {Decimal("0.0099"), Decimal("-0.0099"), Decimal("-0.0101")}
    offsets = {r.booked_at[19:] for r in main.source}
    assert {"-03:30", "+05:45", "+12:45", "-09:30", "+14:00", "-12:00", "Z"} <= offsets             # instants
    for world in data.worlds:
        assert len(lab._pct(world.expected.summary["reconciled_keys"], world.expected.source_keys)) == 1  # no tie
    by_name = {w.name: w for w in data.worlds}
    unkeyed = {name: ([r.txn_id for r in w.source if not (r.txn_id or "").strip()],
                      [r.txn_id for r in w.target if not (r.txn_id or "").strip()]) for name, w in by_name.items()}
    assert unkeyed["source-unkeyed"][1] == [] and len(unkeyed["source-unkeyed"][0]) == 4
    assert unkeyed["target-unkeyed"][0] == [] and len(unkeyed["target-unkeyed"][1]) == 4
    assert [len(side) for side in unkeyed["one-blank-each"]] == [1, 1]


TYPES = ("BIGINT",) * 8 + ("DECIMAL(5,2)",)


def _summary_answer(values: dict, types=TYPES):
    return lab.Answer("ok", columns=lab.SUMMARY_COLUMNS, rows=(tuple(values.values()),), types=types)


def _evidence(data, **changes) -> dict:
    """Every world's answers as the reference gives them; ``changes`` replace some of the main world's."""
    evidence = {}
    for world in data.worlds:
        exp = world.expected
        answers = {
            "missing_in_target": lab.Answer("ok", columns=("txn_id",), rows=tuple((k,) for k in exp.missing)),
            "orphans_in_target": lab.Answer("ok", columns=("txn_id",), rows=tuple((k,) for k in exp.orphans)),
            "duplicates": lab.Answer("ok", columns=lab.COLUMNS["duplicates"], rows=exp.duplicates),
            "mismatches": lab.Answer("ok", columns=lab.COLUMNS["mismatches"], rows=exp.mismatches),
            "summary": _summary_answer(exp.summary),
        }
        evidence[world.name] = {**answers, **(changes if world is data.main else {})}
    return evidence


def _status(check, evidence, data) -> str:
    return check(evidence, data).status.value


def test_a_wrong_missing_in_target_alone_does_not_fail_the_summary():
    # NOT IN against a NULL key: missing_in_target.sql returns nothing, the summary is right.
    data = lab.grader.data()
    evidence = _evidence(data, missing_in_target=lab.Answer("ok", columns=("txn_id",), rows=()))
    assert _status(lab.check_missing, evidence, data) == "failed"
    assert _status(lab.check_summary_counts, evidence, data) == "passed"
    assert _status(lab.check_summary_reconciled, evidence, data) == "passed"
    # Refused (two statements): still nothing to charge the summary for.
    evidence = _evidence(data, missing_in_target=lab.Answer("refused", "missing_in_target.sql holds 2 statements"))
    assert _status(lab.check_summary_counts, evidence, data) == "passed"


def test_summary_is_judged_against_the_right_counts_or_the_learners_own_detail_queries():
    data = lab.grader.data()
    exp = data.main.expected
    one_extra = exp.mismatches + ((sorted(exp.unique - {k for k, _ in exp.mismatches})[0], "amount"),)
    own = {**exp.summary, "missing_in_target": 0, "mismatched_keys": exp.summary["mismatched_keys"] + 1,
           "reconciled_keys": exp.summary["reconciled_keys"] - 1}
    own["reconciled_pct"] = min(lab._pct(own["reconciled_keys"], exp.source_keys))
    # The same mistakes in the detail queries and in the summary: charged once, in the detail checks.
    evidence = _evidence(data, missing_in_target=lab.Answer("ok", columns=("txn_id",), rows=()),
                         mismatches=lab.Answer("ok", columns=lab.COLUMNS["mismatches"], rows=one_extra),
                         summary=_summary_answer(own))
    assert _status(lab.check_summary_counts, evidence, data) == "passed"
    assert _status(lab.check_summary_reconciled, evidence, data) == "passed"
    assert _status(lab.check_amounts, evidence, data) == "failed"
    # A summary mistake of its own: agrees with neither.
    wrong = {**own, "reconciled_keys": exp.summary["reconciled_keys"] + 3, "unkeyed_rows": 0}
    evidence["main"]["summary"] = _summary_answer(wrong)
    assert _status(lab.check_summary_reconciled, evidence, data) == "failed"
    assert _status(lab.check_summary_counts, evidence, data) == "failed"


def test_the_percentage_must_be_typed_as_the_ticket_says():
    data = lab.grader.data()
    evidence = _evidence(data)
    assert _status(lab.check_summary_reconciled, evidence, data) == "passed"
    evidence["main"]["summary"] = _summary_answer(data.main.expected.summary, TYPES[:8] + ("DOUBLE",))
    outcome = lab.check_summary_reconciled(evidence, data)
    assert outcome.status.value == "failed" and "typed DOUBLE" in outcome.reason


def test_a_mistake_seen_only_in_one_world_says_which_tables():
    data = lab.grader.data()
    world = next(w for w in data.worlds if w.name == "source-unkeyed")
    evidence = _evidence(data)
    evidence[world.name]["missing_in_target"] = lab.Answer(
        "ok", columns=("txn_id",), rows=tuple((k,) for k in world.expected.missing) + (("",),))
    outcome = lab.check_missing(evidence, data)
    assert outcome.status.value == "failed"
    assert outcome.reason.startswith("on tables whose only unkeyed rows are in source_txn: missing_in_target.sql")
    assert "an unkeyed row" in outcome.evidence
