"""The gradebook: a DuckDB file built from batch journals, with CSV, JSON, JUnit and HTML exports.

Tables (one row per ...; every column in docs/gradebook.md):
    learners       learner: learner, source, status, reason, lab_count, graded_lab_count, score, max_score, percent
    lab_results    lab of a learner: learner, lab, lab_title, status, reason, score, max_score, percent,
                   check_count, passed_check_count, lost_check_count, problems, graded_at (TIMESTAMP, UTC),
                   duration_seconds, tool_version
    check_results  check of a lab of a learner: learner, lab, check_no, check_id, check_title, status, points,
                   max_points, lost_points, skill, dimension, criterion, reason, evidence
    rubric_items   rubric item of a lab (a person scores it): lab, item_no, item_id, item_title, criterion, prompt,
                   answer_in, points, dimension, level_0 ... level_4
    review_results rubric item of a lab of a learner: learner, lab, item_no, item_id, item_title, criterion,
                   dimension, status, level, points, max_points, reviewers, settled_by, comment, reviewed_at,
                   answered, answer, answer_note

Automatic and reviewed points are kept apart and shown together: ``score`` is
always the hidden checks' points; ``review_score`` the rubric items' points
scored so far (NULL when none is: an item nobody scored is pending, never 0);
``total_score`` both, NULL until every rubric item is final. The reviews come
from ``OUT/reviews.jsonl`` and the reviewers' journals merged into ``OUT/reviews/``
(graders/review/scores.py has the rules).

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
from .render.json_result import from_dict, review_from_dict, review_to_dict
from .render.junit import to_junit_submission
from .results import GradingStatus, ReviewedItem, SubmissionResult
from .review.rubric import item_from_dict
from .review.scores import ReviewBook

__all__ = ["GradebookInfo", "build", "query", "junit_file_name", "DB_NAME", "STORAGE_VERSION", "TABLES"]

DB_NAME = "gradebook.duckdb"
STORAGE_VERSION = "v1.1.0"
"""DuckDB storage format written: DuckDB 1.1 and every later release read it (the newest format only the newest)."""

TABLES = ("learners", "lab_results", "check_results", "rubric_items", "review_results")
EXPORTS = ("gradebook.csv", "gradebook-wide.csv", "gradebook.json", "report.html")

_LAB_COLS = {
    "learner": "VARCHAR", "source": "VARCHAR", "lab": "VARCHAR", "lab_title": "VARCHAR", "status": "VARCHAR",
    "reason": "VARCHAR", "score": "DOUBLE", "max_score": "DOUBLE", "percent": "DOUBLE", "check_count": "INTEGER",
    "passed_check_count": "INTEGER", "lost_check_count": "INTEGER", "problems": "VARCHAR", "graded_at": "TIMESTAMP",
    "duration_seconds": "DOUBLE", "tool_version": "VARCHAR", "review_item_count": "INTEGER",
    "reviewed_item_count": "INTEGER", "review_status": "VARCHAR", "review_score": "DOUBLE",
    "review_max_score": "DOUBLE", "total_score": "DOUBLE", "total_max_score": "DOUBLE", "total_percent": "DOUBLE",
    "result_offset": "BIGINT", "result_length": "BIGINT", "review_offset": "BIGINT", "review_length": "BIGINT",
}
_SPAN_COLS = ("result_offset", "result_length", "review_offset", "review_length")  # build-time only
_RUBRIC_COLS = {
    "lab": "VARCHAR", "item_no": "INTEGER", "item_id": "VARCHAR", "item_title": "VARCHAR", "criterion": "INTEGER",
    "prompt": "VARCHAR", "answer_in": "VARCHAR", "points": "DOUBLE", "dimension": "VARCHAR",
    **{f"level_{n}": "VARCHAR" for n in range(5)},
}
_REVIEW_COLS = {
    "learner": "VARCHAR", "lab": "VARCHAR", "item_no": "INTEGER", "item_id": "VARCHAR", "item_title": "VARCHAR",
    "criterion": "INTEGER", "dimension": "VARCHAR", "status": "VARCHAR", "level": "DOUBLE", "points": "DOUBLE",
    "max_points": "DOUBLE", "reviewers": "VARCHAR", "settled_by": "VARCHAR", "comment": "VARCHAR",
    "reviewed_at": "TIMESTAMP", "answered": "BOOLEAN", "answer": "VARCHAR", "answer_note": "VARCHAR",
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


def _rubric(entry: dict, lab: str) -> list[tuple[object, dict]]:
    """The rubric items journaled with a grading, each with the learner's answer; malformed ones left out."""
    out = []
    for doc in entry.get("rubric") or ():
        try:
            answer = doc.get("answer") if isinstance(doc.get("answer"), dict) else {}
            out.append((item_from_dict(doc), answer))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
    return out


def _review_columns(result, items: list[ReviewedItem]) -> list:
    """The lab's review_* and total_* columns, from the one result model (so every output agrees)."""
    one = SubmissionResult(result.submission, (result,), reviews=tuple(items))
    total = one.total_score
    return [len(items), one.reviewed_count, one.review_status, one.review_score, one.review_max_score, total,
            one.total_max_score, None if total is None else _percent_of(total, one.total_max_score)]


def _percent_of(score: float, max_score: float) -> float | None:
    return round(100 * score / max_score, 1) if max_score else None


def _stage(journals: list[Path], tmp: Path, book: ReviewBook | None = None) -> int:
    """Stream journal entries into CSV files, first entry per unit winning; returns the lab results staged."""
    seen: set[str] = set()
    count = 0
    book = book or ReviewBook()
    rubric_labs: set[str] = set()
    # Whole results go to a side file, located by offset: DuckDB keeps only small columns,
    # which is what keeps the build's memory flat as the cohort grows.
    with (tmp / "lab_results.csv").open("w", newline="", encoding="utf-8") as lf, \
         (tmp / "check_results.csv").open("w", newline="", encoding="utf-8") as cf, \
         (tmp / "outcomes.csv").open("w", newline="", encoding="utf-8") as of, \
         (tmp / "rubric_items.csv").open("w", newline="", encoding="utf-8") as rif, \
         (tmp / "review_results.csv").open("w", newline="", encoding="utf-8") as rrf, \
         (tmp / "results.jsonl").open("wb") as rf:
        labs_w, checks_w, outcomes_w = csv.writer(lf), csv.writer(cf), csv.writer(of)
        items_w, reviews_w = csv.writer(rif), csv.writer(rrf)
        labs_w.writerow(_LAB_COLS)
        checks_w.writerow(_CHECK_COLS)
        outcomes_w.writerow(_OUTCOME_COLS)
        items_w.writerow(_RUBRIC_COLS)
        reviews_w.writerow(_REVIEW_COLS)
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
                rubric = _rubric(entry, r.lab)
                if rubric and r.lab not in rubric_labs:  # the lab's items as the first grading of it journaled them
                    rubric_labs.add(r.lab)
                    for no, (item, _) in enumerate(rubric, 1):
                        items_w.writerow([r.lab, no, item.id, item.title, item.criterion, item.prompt, item.where,
                                          item.points, item.dimension.value, *item.levels])
                reviewed = []
                for no, (item, answer) in enumerate(rubric, 1):
                    standing = book.item(learner, r.lab, item, refused=r.status is GradingStatus.REFUSED,
                                         answered=answer.get("answered") is True)
                    reviewed.append(standing)
                    reviews_w.writerow([
                        learner, r.lab, no, item.id, item.title, item.criterion, item.dimension.value,
                        standing.status.value, standing.level, standing.points, standing.max_points,
                        ", ".join(f"{who} {level}" for who, level in standing.levels), standing.settled_by,
                        standing.comment, _timestamp(standing.reviewed_at), standing.answered,
                        str(answer.get("text") or ""), str(answer.get("note") or "")])
                review_blob = json.dumps([review_to_dict(i) for i in reviewed], ensure_ascii=False).encode("utf-8")
                review_offset = rf.tell()
                rf.write(review_blob)
                passed = sum(c.status.value == "passed" for c in r.checks)
                lost = len(r.failed())
                labs_w.writerow([learner, source, r.lab, r.title, r.status.value, r.reason, r.score, r.max_score,
                                 r.percent, len(r.checks), passed, lost, "\n".join(r.problems),
                                 _timestamp(r.graded_at), r.duration, r.tool_version, *_review_columns(r, reviewed),
                                 offset, len(blob), review_offset, len(review_blob)])
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
         round(sum(score), 2) AS score, round(sum(max_score), 2) AS max_score,
         sum(review_item_count) AS items, sum(reviewed_item_count) AS reviewed,
         bool_or(review_status = 'disputed') AS disputed,
         bool_and(review_status = 'refused') AS refused_only,
         round(sum(review_score), 2) AS review_score, round(sum(review_max_score), 2) AS review_max_score,
         -- together only once every rubric item of every lab is final: pending is never 0
         CASE WHEN bool_and(total_score IS NOT NULL) THEN round(sum(total_score), 2) END AS total_score,
         round(sum(total_max_score), 2) AS total_max_score
  FROM lab_results GROUP BY learner)
SELECT learner, source,
       CASE WHEN graded_lab_count > 0 THEN 'graded' ELSE 'refused' END AS status,
       CASE WHEN graded_lab_count > 0 THEN '' ELSE refusal END AS reason,
       CAST(lab_count AS INTEGER) AS lab_count, CAST(graded_lab_count AS INTEGER) AS graded_lab_count,
       score, max_score, round(100 * score / nullif(max_score, 0), 1) AS percent,
       CAST(items AS INTEGER) AS review_item_count, CAST(reviewed AS INTEGER) AS reviewed_item_count,
       CASE WHEN items = 0 THEN '' WHEN refused_only THEN 'refused' WHEN disputed THEN 'disputed'
            WHEN reviewed = items THEN 'reviewed'
            WHEN reviewed = 0 THEN 'unreviewed' ELSE 'partial' END AS review_status,
       review_score, review_max_score, total_score, total_max_score,
       round(100 * total_score / nullif(total_max_score, 0), 1) AS total_percent
FROM per_learner
UNION ALL
SELECT learner, min(source), min(status), min(reason), 0, 0, NULL, NULL, NULL, 0, 0, '', NULL, NULL, NULL, NULL, NULL
FROM outcomes WHERE learner NOT IN (SELECT learner FROM lab_results) GROUP BY learner
ORDER BY learner
"""


def build(out: Path, journals: list[Path], *, title: str = "iclab gradebook",
          reviews: ReviewBook | None = None) -> GradebookInfo:
    """(Re)build ``out/gradebook.duckdb`` and its exports from ``journals``, all or nothing.

    ``reviews``: the rubric scores to show; by default the ones in ``out`` (its reviews.jsonl and reviews/).
    """
    ensure_folder(out)
    try:
        with scratch_folder(BUILD_PREFIX, base=out) as stage:
            count = _stage(journals, stage, ReviewBook.load(out) if reviews is None else reviews)
            con = _connect_for_writing(stage / DB_NAME)
            try:
                for table, cols in (("lab_results", _LAB_COLS), ("check_results", _CHECK_COLS),
                                    ("outcomes", _OUTCOME_COLS), ("rubric_items", _RUBRIC_COLS),
                                    ("review_results", _REVIEW_COLS)):
                    order = {"lab_results": "learner, lab", "check_results": "learner, lab, check_no",
                             "outcomes": "learner", "rubric_items": "lab, item_no",
                             "review_results": "learner, lab, item_no"}[table]
                    con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_csv(?, header = true, "
                                f"columns = {_columns(cols)}) ORDER BY {order}", [str(stage / f"{table}.csv")])
                # An empty CSV field reads as NULL; these columns say '' for "none" (no rubric, no comment).
                con.execute("UPDATE lab_results SET review_status = coalesce(review_status, '')")
                con.execute("UPDATE review_results SET reviewers = coalesce(reviewers, ''), "
                            "settled_by = coalesce(settled_by, ''), comment = coalesce(comment, ''), "
                            "answer = coalesce(answer, ''), answer_note = coalesce(answer_note, '')")
                con.execute(_LEARNERS_SQL)
                con.execute("DROP TABLE outcomes")
                exports = _export(con, stage, title, stage / "results.jsonl")
                for column in _SPAN_COLS:
                    con.execute(f"ALTER TABLE lab_results DROP COLUMN {column}")
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


# Automatic points are score/max_score/percent; these show the reviewed part and both together.
_TOTAL_COLS = ("review_status", "review_score", "review_max_score", "total_score", "total_max_score", "total_percent")
_TOTALS = ", ".join(_TOTAL_COLS)


def _export(con, stage: Path, title: str, results_file: Path) -> tuple[str, ...]:
    con.execute(f"""COPY (
        SELECT learner, lab, status, reason, score, max_score, percent, problems, {_TOTALS} FROM lab_results
        UNION ALL
        SELECT learner, NULL, status, reason, NULL, NULL, NULL, NULL, {_TOTALS} FROM learners WHERE lab_count = 0
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
        wide.writerow(["learner", "status", "reason", *labs, "score", "max_score", "percent", *_TOTAL_COLS])
        jf.write("[\n")
        first = True
        cursor = con.execute("""
            SELECT l.learner, l.source, l.status, l.reason, l.score, l.max_score, l.percent,
                   list([r.result_offset, r.result_length, r.review_offset, r.review_length] ORDER BY r.lab)
                       FILTER (WHERE r.lab IS NOT NULL),
                   list(r.lab ORDER BY r.lab) FILTER (WHERE r.lab IS NOT NULL),
                   list(r.percent ORDER BY r.lab) FILTER (WHERE r.lab IS NOT NULL),
                   l.review_status, l.review_score, l.review_max_score, l.total_score, l.total_max_score,
                   l.total_percent
            FROM learners l LEFT JOIN lab_results r ON r.learner = l.learner
            GROUP BY ALL
            ORDER BY l.learner""")
        while rows := cursor.fetchmany(200):
            for learner, source, status, reason, score, max_score, percent, spans, lab_ids, percents, *totals in rows:
                docs, review_docs = [], []
                for offset, length, review_offset, review_length in spans or []:
                    rf.seek(offset)
                    docs.append(json.loads(rf.read(length).decode("utf-8")))
                    rf.seek(review_offset)
                    review_docs += json.loads(rf.read(review_length).decode("utf-8"))
                results = tuple(from_dict(d) for d in docs)
                sub = SubmissionResult(learner, results, status=GradingStatus(status), reason=reason or "",
                                       source=source or "", reviews=tuple(review_from_dict(d) for d in review_docs))
                junit_name = junit_file_name(learner, taken)
                (junit_dir / junit_name).write_text(to_junit_submission(sub), encoding="utf-8")
                # The report shows reasons, not evidence: dropping it keeps memory small for big cohorts.
                submissions.append(replace(sub, labs=tuple(
                    replace(r, checks=tuple(replace(c, evidence="") for c in r.checks)) for r in results)))
                by_lab = dict(zip(lab_ids or [], percents or []))
                wide.writerow([learner, status, reason or "", *(_cell(by_lab.get(lab)) for lab in labs),
                               _cell(score), _cell(max_score), _cell(percent), *(_cell(t) for t in totals)])
                record = {"learner": learner, "source": source or "", "status": status, "reason": reason or "",
                          "score": _num(score), "max_score": _num(max_score), "percent": percent,
                          **{k: (_num(v) if isinstance(v, float) and k != "total_percent" else v)
                             for k, v in zip(_TOTAL_COLS, totals)},
                          "junit": f"junit/{junit_name}", "labs": docs, "reviews": review_docs}
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
