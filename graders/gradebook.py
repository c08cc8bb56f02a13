"""The gradebook: a DuckDB file built from batch journals, with CSV, JSON, JUnit and HTML exports.

Tables (one row per ...):
    submissions(submission, labs, score, max_score, percent)
    labs(submission, lab, title, score, max_score, percent, graded_at, duration, problems)
    checks(submission, lab, seq, check_id, title, status, points, max_points, skill, dimension,
           criterion, reason, evidence)

Built by streaming the journals into CSV and loading those with DuckDB, so
memory stays flat however many submissions there are.
"""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

from .batch.journal import read_entries
from .errors import UsageError
from .render.json_result import from_dict
from .render.junit import to_junit_many
from .results import SubmissionResult

__all__ = ["GradebookInfo", "build", "query", "DB_NAME"]

DB_NAME = "gradebook.duckdb"
_LAB_COLS = ["submission", "lab", "title", "score", "max_score", "percent", "graded_at", "duration", "problems",
             "result_offset", "result_length"]
_CHECK_COLS = ["submission", "lab", "seq", "check_id", "title", "status", "points", "max_points", "skill",
               "dimension", "criterion", "reason", "evidence"]


@dataclass(frozen=True)
class GradebookInfo:
    path: Path
    submissions: int
    gradings: int
    exports: tuple[Path, ...]


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:100] or "_"


def _stage(journals: list[Path], tmp: Path) -> int:
    """Stream journal entries into CSV files, first entry per unit winning."""
    seen: set[str] = set()
    count = 0
    # Whole results go to a side file, located by offset: DuckDB keeps only small columns,
    # which is what keeps the build's memory flat as the cohort grows.
    with (tmp / "labs.csv").open("w", newline="", encoding="utf-8") as lf, \
         (tmp / "checks.csv").open("w", newline="", encoding="utf-8") as cf, \
         (tmp / "results.jsonl").open("wb") as rf:
        labs_w, checks_w = csv.writer(lf), csv.writer(cf)
        labs_w.writerow(_LAB_COLS)
        checks_w.writerow(_CHECK_COLS)
        for journal in journals:
            for entry in read_entries(journal):
                if entry["unit"] in seen:
                    continue
                seen.add(entry["unit"])
                count += 1
                sub, r = entry["submission"], entry["result"]
                blob = json.dumps(r, ensure_ascii=False, sort_keys=True).encode("utf-8")
                offset = rf.tell()
                rf.write(blob)
                labs_w.writerow([sub, r["lab"], r["title"], r["score"], r["max_score"], r["percent"], r["graded_at"],
                                 r["duration"], "\n".join(r["problems"]), offset, len(blob)])
                for i, c in enumerate(r["checks"]):
                    checks_w.writerow([sub, r["lab"], i, c["id"], c["title"], c["status"], c["points"], c["max_points"],
                                       c["skill"], c["dimension"], c["criterion"], c["reason"], c["evidence"]])
    return count


def build(out: Path, journals: list[Path], *, title: str = "iclab gradebook") -> GradebookInfo:
    """(Re)build ``out/gradebook.duckdb`` and its exports from ``journals``."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="iclab-gradebook-") as tmp_s:
        tmp = Path(tmp_s)
        count = _stage(journals, tmp)
        db_tmp = tmp / DB_NAME
        con = duckdb.connect(str(db_tmp), config={"memory_limit": "128MB", "threads": 1})
        try:
            labs_csv, checks_csv = str(tmp / "labs.csv"), str(tmp / "checks.csv")
            con.execute("""
                CREATE TABLE labs AS SELECT * FROM read_csv(?, header = true, columns = {
                  'submission': 'VARCHAR', 'lab': 'VARCHAR', 'title': 'VARCHAR', 'score': 'DOUBLE',
                  'max_score': 'DOUBLE', 'percent': 'DOUBLE', 'graded_at': 'VARCHAR', 'duration': 'DOUBLE',
                  'problems': 'VARCHAR', 'result_offset': 'BIGINT', 'result_length': 'BIGINT'}) ORDER BY submission, lab
            """, [labs_csv])
            con.execute("""
                CREATE TABLE checks AS SELECT * FROM read_csv(?, header = true, columns = {
                  'submission': 'VARCHAR', 'lab': 'VARCHAR', 'seq': 'INTEGER', 'check_id': 'VARCHAR',
                  'title': 'VARCHAR', 'status': 'VARCHAR', 'points': 'DOUBLE', 'max_points': 'DOUBLE',
                  'skill': 'VARCHAR', 'dimension': 'VARCHAR', 'criterion': 'INTEGER', 'reason': 'VARCHAR',
                  'evidence': 'VARCHAR'}) ORDER BY submission, lab, seq
            """, [checks_csv])
            con.execute("""
                CREATE TABLE submissions AS
                SELECT submission, count(*) AS labs, round(sum(score), 2) AS score, round(sum(max_score), 2) AS max_score,
                       round(100 * sum(score) / nullif(sum(max_score), 0), 1) AS percent
                FROM labs GROUP BY submission ORDER BY submission
            """)
            exports = _export(con, out, title, tmp / "results.jsonl")
            con.execute("ALTER TABLE labs DROP COLUMN result_offset")
            con.execute("ALTER TABLE labs DROP COLUMN result_length")
            submissions = con.execute("SELECT count(*) FROM submissions").fetchone()[0]
        finally:
            con.close()
        target = out / DB_NAME
        shutil.copyfile(db_tmp, out / (DB_NAME + ".tmp"))
        os.replace(out / (DB_NAME + ".tmp"), target)
    return GradebookInfo(target, submissions, count, exports)


def _export(con, out: Path, title: str, results_file: Path) -> tuple[Path, ...]:
    csv_path, json_path = out / "gradebook.csv", out / "gradebook.json"
    con.execute(f"COPY (SELECT submission, lab, score, max_score, percent, problems FROM labs ORDER BY submission, lab) "
                f"TO '{_sql_path(csv_path)}' (HEADER, DELIMITER ',')")
    junit_dir = out / "junit"
    if junit_dir.exists():
        shutil.rmtree(junit_dir)
    junit_dir.mkdir()
    submissions: list[SubmissionResult] = []
    with json_path.open("w", encoding="utf-8") as jf, results_file.open("rb") as rf:
        jf.write("[\n")
        first = True
        cursor = con.execute("SELECT submission, list([result_offset, result_length] ORDER BY lab) "
                             "FROM labs GROUP BY submission ORDER BY submission")
        while rows := cursor.fetchmany(200):
            for submission, spans in rows:
                docs = []
                for offset, length in spans:
                    rf.seek(offset)
                    docs.append(rf.read(length).decode("utf-8"))
                results = tuple(from_dict(json.loads(d)) for d in docs)
                # The report shows reasons, not evidence: dropping it keeps memory small for big cohorts.
                submissions.append(SubmissionResult(submission, tuple(
                    replace(r, checks=tuple(replace(c, evidence="") for c in r.checks)) for r in results)))
                (junit_dir / f"{_safe_name(submission)}.xml").write_text(to_junit_many(results), encoding="utf-8")
                record = {"submission": submission, "labs": [json.loads(d) for d in docs]}
                jf.write(("" if first else ",\n") + json.dumps(record, ensure_ascii=False, sort_keys=True))
                first = False
        jf.write("\n]\n")
    exports = [csv_path, json_path, junit_dir]
    try:
        from .render.html_report import render_html_report
    except ImportError:
        render_html_report = None
    if render_html_report is not None:
        html_path = out / "report.html"
        html_path.write_text(render_html_report(submissions, title=title), encoding="utf-8")
        exports.append(html_path)
    return tuple(exports)


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def query(db: Path, sql: str) -> tuple[list[str], list[tuple]]:
    """Run one read-only SQL statement against a gradebook."""
    if not db.is_file():
        raise UsageError(f"{db}: no gradebook here (run `iclab batch` first, or pass --out)")
    con = duckdb.connect(str(db), read_only=True)
    try:
        try:
            cursor = con.execute(sql)
        except duckdb.Error as exc:
            raise UsageError(f"query failed: {str(exc).splitlines()[0]}") from None
        columns = [d[0] for d in cursor.description or []]
        return columns, cursor.fetchall()
    finally:
        con.close()
