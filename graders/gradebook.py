"""The gradebook: a DuckDB file built from batch journals, with CSV, JSON, JUnit and HTML exports.

Tables (one row per ...; every column in docs/gradebook.md):
    learners       learner: learner, source, status, reason, lab_count, graded_lab_count, score, max_score, percent
    lab_results    lab of a learner: learner, lab, lab_title, status, reason, score, max_score, percent,
                   check_count, passed_check_count, lost_check_count, problems, graded_at (TIMESTAMP, UTC),
                   duration_seconds, tool_version
    check_results  check of a lab of a learner: learner, lab, check_no, check_id, check_title, status, points,
                   max_points, lost_points, skill, dimension, criterion, reason, evidence

Every learner the batch discovered has a row in ``learners`` with a status
(``graded``, ``refused``, ``ungradable``) and the reason, and so a row in every
export. A learner's status is decided here, once: ``graded`` when any of its
labs was graded, ``refused`` when all were refused (or the file itself was),
``ungradable`` when no lab could be found in it; the renderers only show it.

Built by streaming the journals into CSV and loading those with DuckDB, so
memory stays flat however many submissions there are. Everything is built in
a scratch folder inside the output folder and renamed into place only once
all of it is complete: a full disk or a kill never leaves a truncated file
that looks complete. The DuckDB file is written in the storage format of
DuckDB 1.1 (``STORAGE_VERSION``), which every DuckDB release since opens.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

from .atomic import ensure_folder, output_error
from .batch.journal import read_entries
from .scratch import BUILD_PREFIX, scratch_folder
from .errors import OutputError, UsageError
from .render.json_result import from_dict
from .render.junit import to_junit_submission
from .results import GradingStatus, SubmissionResult

__all__ = ["GradebookInfo", "build", "query", "junit_file_name", "DB_NAME", "STORAGE_VERSION", "TABLES"]

DB_NAME = "gradebook.duckdb"
STORAGE_VERSION = "v1.1.0"
"""DuckDB storage format written: DuckDB 1.1 and every later release read it (the newest format only the newest)."""

TABLES = ("learners", "lab_results", "check_results")
EXPORTS = ("gradebook.csv", "gradebook-wide.csv", "gradebook.json", "report.html")

_LAB_COLS = {
    "learner": "VARCHAR", "source": "VARCHAR", "lab": "VARCHAR", "lab_title": "VARCHAR", "status": "VARCHAR",
    "reason": "VARCHAR", "score": "DOUBLE", "max_score": "DOUBLE", "percent": "DOUBLE", "check_count": "INTEGER",
    "passed_check_count": "INTEGER", "lost_check_count": "INTEGER", "problems": "VARCHAR", "graded_at": "TIMESTAMP",
    "duration_seconds": "DOUBLE", "tool_version": "VARCHAR", "result_offset": "BIGINT", "result_length": "BIGINT",
}
_CHECK_COLS = {
    "learner": "VARCHAR", "lab": "VARCHAR", "check_no": "INTEGER", "check_id": "VARCHAR", "check_title": "VARCHAR",
    "status": "VARCHAR", "points": "DOUBLE", "max_points": "DOUBLE", "lost_points": "DOUBLE", "skill": "VARCHAR",
    "dimension": "VARCHAR", "criterion": "INTEGER", "reason": "VARCHAR", "evidence": "VARCHAR",
}
_OUTCOME_COLS = {"learner": "VARCHAR", "source": "VARCHAR", "status": "VARCHAR", "reason": "VARCHAR"}


@dataclass(frozen=True)
class GradebookInfo:
    path: Path
    submissions: int  # learners, every status
    gradings: int     # lab results
    exports: tuple[Path, ...]
    ungradable: int = 0  # learners with no lab graded (refused or ungradable)


# --------------------------------------------------------------------------- staging the journals


def _timestamp(text: str) -> str:
    """An ISO 8601 instant as naive UTC ``YYYY-MM-DD HH:MM:SS`` (the TIMESTAMP column); empty if unreadable."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment.isoformat(sep=" ", timespec="seconds")


def _stage(journals: list[Path], tmp: Path) -> int:
    """Stream journal entries into CSV files, first entry per unit winning; returns the lab results staged."""
    seen: set[str] = set()
    count = 0
    # Whole results go to a side file, located by offset: DuckDB keeps only small columns,
    # which is what keeps the build's memory flat as the cohort grows.
    with (tmp / "lab_results.csv").open("w", newline="", encoding="utf-8") as lf, \
         (tmp / "check_results.csv").open("w", newline="", encoding="utf-8") as cf, \
         (tmp / "outcomes.csv").open("w", newline="", encoding="utf-8") as of, \
         (tmp / "results.jsonl").open("wb") as rf:
        labs_w, checks_w, outcomes_w = csv.writer(lf), csv.writer(cf), csv.writer(of)
        labs_w.writerow(_LAB_COLS)
        checks_w.writerow(_CHECK_COLS)
        outcomes_w.writerow(_OUTCOME_COLS)
        for journal in journals:
            for entry in read_entries(journal):
                if entry["unit"] in seen:
                    continue
                seen.add(entry["unit"])
                learner, source = entry["submission"], entry.get("source", "")
                if "result" not in entry:
                    outcomes_w.writerow([learner, source, entry["status"], entry["reason"]])
                    continue
                count += 1
                r = from_dict(entry["result"])
                blob = json.dumps(entry["result"], ensure_ascii=False, sort_keys=True).encode("utf-8")
                offset = rf.tell()
                rf.write(blob)
                passed = sum(c.status.value == "passed" for c in r.checks)
                lost = len(r.failed())
                labs_w.writerow([learner, source, r.lab, r.title, r.status.value, r.reason, r.score, r.max_score,
                                 r.percent, len(r.checks), passed, lost, "\n".join(r.problems),
                                 _timestamp(r.graded_at), r.duration, r.tool_version, offset, len(blob)])
                for i, c in enumerate(r.checks, 1):
                    lost_points = 0.0 if c.status.value == "skipped" else round(c.max_points - c.points, 2)
                    checks_w.writerow([learner, r.lab, i, c.id, c.title, c.status.value, c.points, c.max_points,
                                       lost_points, c.skill, c.dimension.value, c.criterion, c.reason, c.evidence])
    return count


def _columns(cols: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in cols.items()) + "}"


def _connect_for_writing(path: Path):
    config = {"memory_limit": "128MB", "threads": 1}
    try:
        con = duckdb.connect(str(path), config={**config, "storage_compatibility_version": STORAGE_VERSION})
    except duckdb.Error as exc:
        # DuckDB before 1.2 has no such setting, and writes the 1.1 format anyway.
        if "storage_compatibility_version" not in str(exc):
            raise
        con = duckdb.connect(str(path), config=config)
    # No progress bar: DuckDB would draw it on the instructor's terminal in the middle of iclab's own lines.
    con.execute("SET enable_progress_bar = false")
    return con


_LEARNERS_SQL = """
CREATE TABLE learners AS
WITH per_learner AS (
  SELECT learner, min(source) AS source, count(*) AS lab_count,
         count(*) FILTER (WHERE status = 'graded') AS graded_lab_count,
         arg_min(reason, lab) FILTER (WHERE status <> 'graded') AS refusal,
         round(sum(score), 2) AS score, round(sum(max_score), 2) AS max_score
  FROM lab_results GROUP BY learner)
SELECT learner, source,
       CASE WHEN graded_lab_count > 0 THEN 'graded' ELSE 'refused' END AS status,
       CASE WHEN graded_lab_count > 0 THEN '' ELSE refusal END AS reason,
       CAST(lab_count AS INTEGER) AS lab_count, CAST(graded_lab_count AS INTEGER) AS graded_lab_count,
       score, max_score, round(100 * score / nullif(max_score, 0), 1) AS percent
FROM per_learner
UNION ALL
SELECT learner, min(source), min(status), min(reason), 0, 0, NULL, NULL, NULL
FROM outcomes WHERE learner NOT IN (SELECT learner FROM lab_results) GROUP BY learner
ORDER BY learner
"""


def build(out: Path, journals: list[Path], *, title: str = "iclab gradebook") -> GradebookInfo:
    """(Re)build ``out/gradebook.duckdb`` and its exports from ``journals``, all or nothing."""
    ensure_folder(out)
    try:
        with scratch_folder(BUILD_PREFIX, base=out) as stage:
            count = _stage(journals, stage)
            con = _connect_for_writing(stage / DB_NAME)
            try:
                for table, cols in (("lab_results", _LAB_COLS), ("check_results", _CHECK_COLS),
                                    ("outcomes", _OUTCOME_COLS)):
                    order = {"lab_results": "learner, lab", "check_results": "learner, lab, check_no",
                             "outcomes": "learner"}[table]
                    con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_csv(?, header = true, "
                                f"columns = {_columns(cols)}) ORDER BY {order}", [str(stage / f"{table}.csv")])
                con.execute(_LEARNERS_SQL)
                con.execute("DROP TABLE outcomes")
                exports = _export(con, stage, title, stage / "results.jsonl")
                con.execute("ALTER TABLE lab_results DROP COLUMN result_offset")
                con.execute("ALTER TABLE lab_results DROP COLUMN result_length")
                learners, ungradable = con.execute(
                    "SELECT count(*), count(*) FILTER (WHERE status <> 'graded') FROM learners").fetchone()
                con.execute("CHECKPOINT")
            finally:
                con.close()
            published = _publish(stage, out, (DB_NAME, *exports))
    except duckdb.IOException as exc:
        raise _duckdb_output_error(out, exc) from None
    except OSError as exc:
        raise output_error(Path(exc.filename) if exc.filename else out, exc) from None
    return GradebookInfo(out / DB_NAME, learners, count, tuple(p for p in published if p.name != DB_NAME), ungradable)


_DUCKDB_WHY = (("No space left", "the disk is full"), ("Disk quota", "the disk quota is used up"),
               ("Read-only file system", "the file system is read-only"), ("Permission denied", "permission denied"))


def _duckdb_output_error(out: Path, exc: Exception) -> OutputError:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    why = next((said for found, said in _DUCKDB_WHY if found in text), text)
    return OutputError(f"cannot write the gradebook in {out}: {why} (the journal keeps every grading: "
                       "rerun the same command once it can be written)")


def _publish(stage: Path, out: Path, names) -> list[Path]:
    """Rename every finished output into ``out`` (a rename on one file system: no half-written file)."""
    published = []
    for name in names:
        target = out / name
        if (stage / name).is_dir():
            old = stage / f"{name}.previous"
            if target.is_dir() and not target.is_symlink():
                os.replace(target, old)  # stays in the scratch folder, removed with it
            elif target.exists() or target.is_symlink():
                target.unlink()
        os.replace(stage / name, target)
        published.append(target)
    return published


# --------------------------------------------------------------------------- exports


_JUNIT_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def junit_file_name(learner: str, taken: set[str]) -> str:
    """A JUnit file name for ``learner``: its name (Unicode kept) and a short stable hash, unique in ``taken``.

    The hash tells apart names that differ only in what a file system folds
    (case, Unicode normalisation, characters a name cannot hold); ``taken``
    holds the case-folded names already given, and grows.
    """
    readable = _JUNIT_UNSAFE.sub("_", unicodedata.normalize("NFC", learner)).strip(" .")[:60] or "_"
    digest = hashlib.sha256(learner.encode("utf-8", "surrogatepass")).hexdigest()
    for size in (8, 16, 64):
        name = f"{readable}-{digest[:size]}.xml"
        if name.casefold() not in taken:
            taken.add(name.casefold())
            return name
    raise AssertionError(f"two learners share the sha256 of {learner!r}")


def _num(x):
    return None if x is None else (int(x) if float(x).is_integer() else x)


def _export(con, stage: Path, title: str, results_file: Path) -> tuple[str, ...]:
    con.execute(f"""COPY (
        SELECT learner, lab, status, reason, score, max_score, percent, problems FROM lab_results
        UNION ALL
        SELECT learner, NULL, status, reason, NULL, NULL, NULL, NULL FROM learners WHERE lab_count = 0
        ORDER BY learner, lab NULLS FIRST) TO '{_sql_path(stage / "gradebook.csv")}' (HEADER, DELIMITER ',')""")
    labs = [row[0] for row in con.execute("SELECT DISTINCT lab FROM lab_results ORDER BY lab").fetchall()]
    junit_dir = stage / "junit"
    junit_dir.mkdir()
    taken: set[str] = set()
    submissions: list[SubmissionResult] = []
    with (stage / "gradebook.json").open("w", encoding="utf-8") as jf, \
         (stage / "gradebook-wide.csv").open("w", newline="", encoding="utf-8") as wf, \
         results_file.open("rb") as rf:
        wide = csv.writer(wf)
        wide.writerow(["learner", "status", "reason", *labs, "score", "max_score", "percent"])
        jf.write("[\n")
        first = True
        cursor = con.execute("""
            SELECT l.learner, l.source, l.status, l.reason, l.score, l.max_score, l.percent,
                   list([r.result_offset, r.result_length] ORDER BY r.lab) FILTER (WHERE r.lab IS NOT NULL),
                   list(r.lab ORDER BY r.lab) FILTER (WHERE r.lab IS NOT NULL),
                   list(r.percent ORDER BY r.lab) FILTER (WHERE r.lab IS NOT NULL)
            FROM learners l LEFT JOIN lab_results r ON r.learner = l.learner
            GROUP BY l.learner, l.source, l.status, l.reason, l.score, l.max_score, l.percent
            ORDER BY l.learner""")
        while rows := cursor.fetchmany(200):
            for learner, source, status, reason, score, max_score, percent, spans, lab_ids, percents in rows:
                docs = []
                for offset, length in spans or []:
                    rf.seek(offset)
                    docs.append(json.loads(rf.read(length).decode("utf-8")))
                results = tuple(from_dict(d) for d in docs)
                sub = SubmissionResult(learner, results, status=GradingStatus(status), reason=reason or "",
                                       source=source or "")
                junit_name = junit_file_name(learner, taken)
                (junit_dir / junit_name).write_text(to_junit_submission(sub), encoding="utf-8")
                # The report shows reasons, not evidence: dropping it keeps memory small for big cohorts.
                submissions.append(replace(sub, labs=tuple(
                    replace(r, checks=tuple(replace(c, evidence="") for c in r.checks)) for r in results)))
                by_lab = dict(zip(lab_ids or [], percents or []))
                wide.writerow([learner, status, reason or "", *(_cell(by_lab.get(lab)) for lab in labs),
                               _cell(score), _cell(max_score), _cell(percent)])
                record = {"learner": learner, "source": source or "", "status": status, "reason": reason or "",
                          "score": _num(score), "max_score": _num(max_score), "percent": percent,
                          "junit": f"junit/{junit_name}", "labs": docs}
                jf.write(("" if first else ",\n") + json.dumps(record, ensure_ascii=False, sort_keys=True))
                first = False
        jf.write("\n]\n")
    from .render.html_report import render_html_report

    (stage / "report.html").write_text(render_html_report(submissions, title=title), encoding="utf-8")
    return ("gradebook.csv", "gradebook-wide.csv", "gradebook.json", "junit", "report.html")


def _cell(value) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


# --------------------------------------------------------------------------- querying

_QUERY_TYPES = {"SELECT", "EXPLAIN"}


def query(db: Path, sql: str) -> tuple[list[str], list[tuple]]:
    """Run one read-only SQL query against a gradebook: no writes, no files, one statement."""
    if not sql.strip():
        raise UsageError('gradebook query: give one SQL query, e.g. "SELECT * FROM learners"')
    if not db.is_file():
        raise UsageError(f"{db}: no gradebook here (run `iclab batch` first, or pass --out)")
    try:
        con = duckdb.connect(str(db), read_only=True, config={
            "enable_external_access": False, "autoinstall_known_extensions": False,
            "autoload_known_extensions": False, "lock_configuration": True})
    except duckdb.Error as exc:
        raise UsageError(f"{db}: cannot be opened as a gradebook ({str(exc).splitlines()[0]})") from None
    try:
        try:
            statements = con.extract_statements(sql)
        except duckdb.Error as exc:
            raise UsageError(f"query failed: {str(exc).splitlines()[0]}") from None
        if len(statements) != 1:
            raise UsageError(f"gradebook query runs exactly one SQL statement; this holds {len(statements)}")
        kind = getattr(statements[0].type, "name", str(statements[0].type))
        if kind not in _QUERY_TYPES:
            raise UsageError(f"gradebook query only reads (SELECT ...); a {kind} statement is not run "
                             "(to save rows, use --csv and redirect the output)")
        try:
            cursor = con.execute(sql)
            columns = [d[0] for d in cursor.description or []]
            return columns, cursor.fetchall()
        except duckdb.Error as exc:
            raise UsageError(f"query failed: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
