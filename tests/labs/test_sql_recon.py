"""Tests specific to the sql-recon lab: the read-only SQL runner, its refusals, the oracle and the data.

``iclab verify sql-recon`` proves the reference and the flaws; these tests prove what verify
cannot see: hostile SQL changes nothing, a slow query gets a timeout verdict, the oracle agrees
with the visible expectations, and the hidden data holds the traps the flaws fall into.
"""
from __future__ import annotations

import hashlib
import importlib.util
from decimal import Decimal

import duckdb
import pytest

from graders import catalog, paths
from graders.labs import sql_recon as lab
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


@pytest.fixture()
def hidden_db(tmp_path) -> str:
    """The grader's hidden database, written exactly as the sandbox receives it."""
    path = tmp_path / "recon.duckdb"
    path.write_bytes(lab.hidden_files(lab.grader.data())[lab.HIDDEN_DB])
    yield str(path)
    runner.disconnect()


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
    answer = runner.execute(runner.connect(hidden_db), text, label="summary.sql", seconds=5)
    assert (answer["status"], answer["rows"]) == (status, [])
    assert answer["message"].startswith("summary.sql") and words in answer["message"]
    runner.disconnect()
    assert fingerprint(hidden_db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recon.duckdb"]  # no file written next to it


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
    data = lab.grader.data()
    grading = catalog.get_lab("sql-recon")
    with Sandbox(tmp_path, grading.limits, extra_files=lab.grader.files()) as sandbox:
        def run(name):
            return lab._answer(sandbox.call(lab.RUN, name, lab.HIDDEN_DB, 10.0, timeout=30), name)
        refused = {name: run(name) for name in ("summary", "missing_in_target", "duplicates", "orphans_in_target")}
        counts = run("mismatches")
    assert {name: a.status for name, a in refused.items()} == dict.fromkeys(refused, "refused")
    assert "DROP statement" in refused["summary"].message
    assert "2 statements" in refused["orphans_in_target"].message
    assert counts.status == "ok" and counts.rows == ((len(data.source), len(data.target)),)


def test_a_slow_query_gets_a_timeout_verdict(tmp_path):
    database = str(tmp_path / "volume.duckdb")
    runner.build_volume(database, 100_000)
    slow = ("SELECT count(*) AS n FROM source_txn AS s JOIN target_txn AS t "
            "ON s.txn_id = t.txn_id OR trim(s.txn_id) = trim(t.txn_id)")
    try:
        conn = runner.connect(database)
        answer = runner.execute(conn, slow, label="missing_in_target.sql", seconds=0.5)
        after = runner.execute(conn, "SELECT count(*) AS n FROM source_txn", label="q.sql", seconds=5)
    finally:
        runner.disconnect()
    assert answer["status"] == "timeout"
    assert answer["message"] == "missing_in_target.sql timed out: no result within 0.5 s (stopped)"
    assert after["rows"] == [[100_000]]  # the runner survives an interrupted query
    verdict = lab.check_volume({"missing_in_target": lab.Answer("timeout", answer["message"])}, lab.grader.data())
    assert verdict.status.value == "failed"
    assert verdict.reason.startswith("missing_in_target.sql timed out: no result within 15 s on 1,000,000 source")


def test_the_volume_dataset_has_the_dirt_and_the_size_promised(tmp_path):
    database = str(tmp_path / "volume.duckdb")
    runner.build_volume(database, 50_000)
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


def test_the_reference_sql_matches_the_oracle_on_the_hidden_data(hidden_db):
    exp = lab.grader.data().expected
    conn = runner.connect(hidden_db)
    got = {name: runner.execute(conn, (REFERENCE / f"{name}.sql").read_text(), label=name, seconds=10)
           for name in runner.QUERIES}
    assert sorted(map(tuple, got["missing_in_target"]["rows"])) == [(k,) for k in exp.missing]
    assert sorted(map(tuple, got["orphans_in_target"]["rows"])) == [(k,) for k in exp.orphans]
    assert sorted(map(tuple, got["duplicates"]["rows"])) == list(exp.duplicates)
    assert sorted(map(tuple, got["mismatches"]["rows"])) == sorted(exp.mismatches)
    assert dict(zip(got["summary"]["columns"], got["summary"]["rows"][0])) == exp.summary


def test_the_hidden_data_holds_every_trap_and_none_of_the_visible_keys():
    data = lab.grader.data()
    visible = (FIXTURES / "source_txn.csv").read_text() + (FIXTURES / "target_txn.csv").read_text()
    assert not any(key in visible for key in data.index)
    assert any(r.txn_id is None for r in data.source) and any(r.txn_id is None for r in data.target)  # NOT IN
    assert any(r.txn_id and r.txn_id != r.txn_id.strip() for r in data.target)                         # padding
    assert any(r.currency != r.currency.upper() for r in data.source + data.target)                    # case
    exp = data.expected
    missing_dup = {k for _, k, _ in exp.duplicates} & set(exp.missing)
    assert missing_dup and {k for _, k, _ in exp.duplicates} & set(exp.orphans)                         # DISTINCT
    boundary = [k for k in exp.unique if abs(data.index[k][0][0].amount - data.index[k][1][0].amount) == lab.TOLERANCE
                and abs(float(data.index[k][0][0].amount) - float(data.index[k][1][0].amount)) > 0.01]
    assert len(boundary) >= 3                                                                           # DOUBLE
    assert len(lab._pct(exp.summary["reconciled_keys"], exp.source_keys)) == 1                         # no tie


def test_summary_is_judged_against_the_learners_own_detail_queries():
    data = lab.grader.data()
    exp = data.expected
    one_extra = exp.mismatches + ((sorted(exp.unique - {k for k, _ in exp.mismatches})[0], "amount"),)
    answers = {name: lab.Answer("ok", columns=lab.COLUMNS[name]) for name in lab.QUERIES}
    answers["missing_in_target"] = lab.Answer("ok", columns=("txn_id",), rows=())
    answers["orphans_in_target"] = lab.Answer("ok", columns=("txn_id",), rows=tuple((k,) for k in exp.orphans))
    answers["duplicates"] = lab.Answer("ok", columns=lab.COLUMNS["duplicates"], rows=exp.duplicates)
    answers["mismatches"] = lab.Answer("ok", columns=lab.COLUMNS["mismatches"], rows=one_extra)
    own = {**exp.summary, "missing_in_target": 0, "mismatched_keys": exp.summary["mismatched_keys"] + 1,
           "reconciled_keys": exp.summary["reconciled_keys"] - 1}
    own["reconciled_pct"] = min(lab._pct(own["reconciled_keys"], exp.source_keys))
    answers["summary"] = lab.Answer("ok", columns=lab.SUMMARY_COLUMNS, rows=(tuple(own.values()),))
    assert lab.check_summary_counts(answers, data).status.value == "passed"
    assert lab.check_summary_reconciled(answers, data).status.value == "passed"
    wrong = {**own, "reconciled_keys": exp.summary["reconciled_keys"] + 3}
    answers["summary"] = lab.Answer("ok", columns=lab.SUMMARY_COLUMNS, rows=(tuple(wrong.values()),))
    assert lab.check_summary_reconciled(answers, data).status.value == "failed"
