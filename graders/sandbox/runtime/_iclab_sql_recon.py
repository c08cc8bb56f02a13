"""Trusted SQL runner for the sql-recon lab: runs one learner query, read-only, inside the sandbox.

The grader calls ``run_sql(name, database, seconds)`` in the child. It reads ``NAME.sql`` from the
submission, refuses anything but a single SELECT, and runs it on a DuckDB file opened read-only,
with file access and extension loading disabled and the configuration locked. The answer is plain
data: column names and rows (DECIMAL stays Decimal, timestamps become ISO text). Learner SQL never
reaches Python, so a submission cannot escape through it.

Why a DuckDB file rather than CSV for the hidden data: the grader builds the file in the parent, so
types, NULL keys and blank keys arrive exactly as generated, and opening it read-only lets DuckDB
itself refuse writes, including one hidden inside a SELECT (DuckDB 2 accepts
``WITH d AS (DELETE ... RETURNING *) SELECT ...``). The volume dataset is generated here, in SQL
(``prepare_volume``): about 2 s, instead of copying 40 MB into every fresh sandbox.

Also imported outside the sandbox by bench/sql_recon.py, the grader (``SCHEMA``) and the lab's tests.
Standard library and duckdb only.
"""
from __future__ import annotations

import datetime as _dt
import decimal
import os
import sys
import threading
import time

QUERIES = ("missing_in_target", "orphans_in_target", "duplicates", "mismatches", "summary")
MAX_SQL_BYTES = 200_000

SCHEMA = """
CREATE TABLE source_txn (      -- ERP export, one row per posted transaction
    txn_id    VARCHAR,         -- business key; may be NULL, blank or padded with spaces
    amount    DECIMAL(18, 2),
    currency  VARCHAR,         -- ISO 4217 code, any case, may be padded
    status    VARCHAR,         -- POSTED, REVERSED, ... any case, may be padded
    booked_at VARCHAR          -- ISO 8601 local time with its UTC offset
);
CREATE TABLE target_txn (      -- data platform copy
    txn_id    VARCHAR,
    amount    DECIMAL(18, 4),
    currency  VARCHAR,
    status    VARCHAR,
    booked_at VARCHAR          -- ISO 8601 in UTC
);
"""

_CONNECTIONS: dict[str, object] = {}


class Refused(Exception):
    """The SQL text is not one read-only SELECT; the message says why, for the learner."""


class Unparsable(Exception):
    """The SQL text is not valid DuckDB SQL; the message is DuckDB's first line."""


def _duckdb():
    """Import duckdb itself, never a ``duckdb.py`` the submission put in its folder."""
    if "duckdb" in sys.modules:
        return sys.modules["duckdb"]
    here = os.path.realpath(os.getcwd())
    saved = sys.path[:]
    sys.path[:] = [p for p in sys.path if p and os.path.realpath(p) != here]
    try:
        import duckdb
    finally:
        sys.path[:] = saved
    return duckdb


def connect(database: str, *, threads: int = 2, memory: str = "1GB"):
    """A read-only connection to ``database`` with file access off and settings locked (cached)."""
    key = os.path.realpath(database)
    conn = _CONNECTIONS.get(key)
    if conn is None:
        duckdb = _duckdb()
        conn = duckdb.connect(key, read_only=True, config={
            "enable_external_access": False, "autoload_known_extensions": False,
            "autoinstall_known_extensions": False, "allow_community_extensions": False,
            "threads": threads, "memory_limit": memory,
        })
        conn.execute("SET TimeZone = 'UTC'")
        conn.execute("SET enable_progress_bar = false")  # cursors inherit it; it would only fill the output pipe
        conn.execute("SET lock_configuration = true")
        _CONNECTIONS[key] = conn
    return conn


def disconnect() -> None:
    """Close every cached connection (the benchmark starts each run cold)."""
    while _CONNECTIONS:
        _, conn = _CONNECTIONS.popitem()
        conn.close()


def single_select(conn, text: str, label: str) -> str:
    """The one SELECT statement in ``text``, or Refused saying what else was found."""
    duckdb = _duckdb()
    try:
        statements = conn.extract_statements(text)
    except duckdb.Error as exc:
        raise Unparsable(_first_line(exc)) from None
    if not statements:
        raise Refused(f"{label} holds no SQL statement; write one SELECT")
    kinds = [s.type.name for s in statements]
    if len(statements) > 1:
        raise Refused(f"{label} holds {len(statements)} statements ({', '.join(kinds)}); write exactly one "
                      "SELECT (use WITH ... AS (...) instead of temporary tables)")
    if kinds[0] != "SELECT":
        raise Refused(f"{label} is a {kinds[0]} statement; only one read-only SELECT is allowed "
                      "(nothing may be created, written, attached, loaded or set)")
    return statements[0].query.strip().rstrip(";").rstrip()


def execute(conn, text: str, *, label: str, seconds: float, max_rows: int = 5000) -> dict:
    """Screen and run ``text``; stop it after ``seconds``. Returns the answer as plain data."""
    duckdb = _duckdb()
    answer = {"status": "ok", "message": "", "columns": [], "rows": [], "row_count": 0, "truncated": False,
              "seconds": 0.0}
    try:
        query = single_select(conn, text, label)
    except Refused as exc:
        return {**answer, "status": "refused", "message": str(exc)}
    except Unparsable as exc:
        return {**answer, "status": "error", "message": f"{label} does not parse: {exc}"}
    cursor = conn.cursor()
    timer = threading.Timer(seconds, cursor.interrupt)
    started = time.perf_counter()
    timer.start()
    try:
        cursor.execute(query)
        zoned = [i for i, d in enumerate(cursor.description or []) if "WITH TIME ZONE" in str(d[1])]
        if zoned:
            # Python needs pytz to receive zoned values; send them as text instead.
            names = [_quoted(cursor.description[i][0]) for i in zoned]
            casts = ", ".join(f"CAST({name} AS VARCHAR) AS {name}" for name in names)
            cursor.execute(f"SELECT * REPLACE ({casts}) FROM (\n{query}\n)")
        columns = [d[0] for d in cursor.description or []]
        rows = cursor.fetchmany(max_rows + 1)
    except duckdb.InterruptException:
        return {**answer, "status": "timeout", "seconds": round(time.perf_counter() - started, 3),
                "message": f"{label} timed out: no result within {seconds:g} s (stopped)"}
    except duckdb.OutOfMemoryException as exc:
        return {**answer, "status": "out_of_memory", "message": f"{label} ran out of memory: {_first_line(exc)}"}
    except duckdb.PermissionException as exc:
        return {**answer, "status": "refused",
                "message": f"{label} tried to reach files or extensions, which is disabled: {_first_line(exc)}"}
    except duckdb.Error as exc:
        message = _first_line(exc)
        if "read-only" in message or "configuration has been locked" in message:
            return {**answer, "status": "refused",
                    "message": f"{label} tried to change the database or its settings, which is refused: {message}"}
        return {**answer, "status": "error", "message": f"{label} failed: {message}"}
    finally:
        timer.cancel()
        elapsed = time.perf_counter() - started
        cursor.close()
    truncated = len(rows) > max_rows
    rows = rows[:max_rows]
    return {**answer, "columns": columns, "rows": [[_plain(v) for v in row] for row in rows],
            "row_count": len(rows), "truncated": truncated, "seconds": round(elapsed, 3)}


def run_sql(name: str, database: str, seconds: float, max_rows: int = 5000) -> dict:
    """Child entry point: run the submission's ``NAME.sql`` on ``database`` (a path in the work folder)."""
    if name not in QUERIES:
        raise ValueError(f"unknown query {name!r}")
    label = f"{name}.sql"
    path = os.path.join(os.getcwd(), label)
    if os.path.islink(path) or not os.path.isfile(path):
        return _refusal(f"{label} is missing from the submission")
    if os.path.getsize(path) > MAX_SQL_BYTES:
        return _refusal(f"{label} is larger than {MAX_SQL_BYTES // 1000} kB")
    try:
        with open(path, encoding="utf-8-sig") as handle:
            text = handle.read()
    except UnicodeDecodeError:
        return _refusal(f"{label} is not UTF-8 text")
    return execute(connect(database), text, label=label, seconds=seconds, max_rows=max_rows)


def _refusal(message: str) -> dict:
    return {"status": "refused", "message": message, "columns": [], "rows": [], "row_count": 0,
            "truncated": False, "seconds": 0.0}


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def _plain(value):
    """One result value as wire-safe plain data."""
    if value is None or isinstance(value, (bool, int, float, str, bytes, decimal.Decimal)):
        return value
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    return str(value)


# -- the volume dataset ------------------------------------------------------------
# Every rate below is a modulus, so the data is the same on every machine and every run:
# ~0.2% unkeyed rows, padded keys, duplicates on both sides, 2% missing, 2% orphans,
# codes in mixed case, amounts off by less than, exactly, and more than the tolerance.
_VOLUME_SOURCE = """
INSERT INTO source_txn
SELECT CASE WHEN i % 1000 = 1 THEN NULL WHEN i % 1000 = 2 THEN '  '
            WHEN i % 13 = 0 THEN ' ' || k WHEN i % 17 = 0 THEN k || '  ' ELSE k END,
       ((i * 7919) % 10000000) / 100,
       CASE WHEN i % 11 = 0 THEN lower(c) ELSE c END,
       CASE WHEN i % 9 = 0 THEN lower(s) WHEN i % 10 = 0 THEN s || ' ' ELSE s END,
       strftime(ts + to_minutes(off), '%Y-%m-%dT%H:%M:%S')
         || CASE WHEN off = 0 THEN 'Z'
                 ELSE printf('%s%02d:%02d', CASE WHEN off < 0 THEN '-' ELSE '+' END, abs(off) // 60, abs(off) % 60) END
FROM (SELECT i, 'TX' || lpad(CAST(CASE WHEN i % 500 = 7 THEN i - 1 ELSE i END AS VARCHAR), 8, '0') AS k,
             ['EUR', 'USD', 'GBP', 'SEK'][i % 4 + 1] AS c, ['POSTED', 'REVERSED', 'PENDING'][i % 3 + 1] AS s,
             TIMESTAMP '2024-01-01' + to_seconds((i * 37) % 31536000) AS ts, [60, 120, -300, 330, 0][i % 5 + 1] AS off
      FROM range($rows) AS r(i))
"""
_VOLUME_TARGET = """
INSERT INTO target_txn
SELECT CASE WHEN i % 1000 = 501 THEN NULL WHEN i % 19 = 0 THEN k || '   ' ELSE k END,
       ((i * 7919) % 10000000) / 100
         + CASE WHEN i % 97 = 0 THEN 1 WHEN i % 89 = 0 THEN 0.01 WHEN i % 7 = 1 THEN 0.004 ELSE 0 END,
       CASE WHEN i % 211 = 0 THEN 'CHF' WHEN i % 29 = 0 THEN lower(c) WHEN i % 23 = 0 THEN c || ' ' ELSE c END,
       CASE WHEN i % 157 = 0 THEN 'VOID' WHEN i % 31 = 0 THEN lower(s) ELSE s END,
       strftime(ts + CASE WHEN i % 173 = 0 THEN INTERVAL 1 HOUR ELSE INTERVAL 0 HOUR END, '%Y-%m-%d %H:%M:%S') || '+00'
FROM (SELECT i, 'TX' || lpad(CAST(CASE WHEN i % 700 = 5 THEN i - 1 ELSE i END AS VARCHAR), 8, '0') AS k,
             ['EUR', 'USD', 'GBP', 'SEK'][i % 4 + 1] AS c, ['POSTED', 'REVERSED', 'PENDING'][i % 3 + 1] AS s,
             TIMESTAMP '2024-01-01' + to_seconds((i * 37) % 31536000) AS ts
      FROM range($rows + $rows // 50) AS r(i)
      WHERE i >= $rows OR i % 50 <> 3)
"""


def build_volume(database: str, rows: int, threads: int = 2) -> None:
    """Write a fresh DuckDB file with ``rows`` source and ``rows`` target rows (rows: a multiple of 50)."""
    if rows <= 0 or rows % 50:
        raise ValueError("rows must be a positive multiple of 50")
    duckdb = _duckdb()
    conn = duckdb.connect(database, config={"threads": threads, "enable_external_access": False})
    try:
        conn.execute("SET enable_progress_bar = false")
        conn.execute(SCHEMA)
        conn.execute(_VOLUME_SOURCE.replace("$rows", str(int(rows))))
        conn.execute(_VOLUME_TARGET.replace("$rows", str(int(rows))))
        conn.execute("CHECKPOINT")
    finally:
        conn.close()


def prepare_volume(database: str, rows: int) -> dict:
    """Child entry point: build the volume file once per sandbox; returns its row counts."""
    if not os.path.isfile(database):
        build_volume(database, rows)
    conn = connect(database)
    cursor = conn.cursor()
    try:
        counts = cursor.execute("SELECT (SELECT count(*) FROM source_txn), (SELECT count(*) FROM target_txn)").fetchone()
    finally:
        cursor.close()
    return {"source_rows": counts[0], "target_rows": counts[1]}
