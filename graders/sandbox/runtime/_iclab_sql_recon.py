"""Trusted SQL runner for the sql-recon lab: runs one learner query, read-only, inside the sandbox.

The grader calls ``run_sql(name, database, seconds, ...)`` in the child. It reads ``NAME.sql`` from the
submission, refuses anything but a single SELECT, and runs it on a DuckDB file opened read-only,
with file access and extension loading disabled and the configuration locked. The answer is plain
data: column names, their SQL types and rows (DECIMAL stays Decimal, timestamps become ISO text), and
the CPU time the query used. ``explain_sql`` returns the joins of the query's physical plan with DuckDB's estimate of
each input's rows, without running it. Learner SQL never reaches Python, so a submission cannot
escape through it.

Why CPU time and plans rather than a wall clock: a query's verdict must not depend on how busy the
machine is. A query is stopped when its own CPU time passes its budget; the wall clock only guards
against a child that gets no CPU at all.

Why DuckDB files built here rather than CSV: the rows arrive typed, as JSON, so NULL, blank and
padded keys arrive exactly as generated; this module builds a file per world before any query runs
and attaches it read-only, so DuckDB itself refuses writes, including one hidden inside a SELECT
(DuckDB 2 accepts ``WITH d AS (DELETE ... RETURNING *) SELECT ...``). The scale dataset is
generated here, in SQL, instead of being copied into every fresh sandbox.

Also imported outside the sandbox by bench/sql_recon.py, the grader (``SCHEMA``) and the lab's tests.
Standard library and duckdb only.
"""
from __future__ import annotations

import datetime as _dt
import decimal
import json
import os
import sys
import tempfile
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
    """Close every cached connection and the grader's tables (the benchmark starts each run cold)."""
    while _CONNECTIONS:
        _, conn = _CONNECTIONS.popitem()
        conn.close()
    _SESSIONS.clear()
    _FILES.clear()
    while _ROOT:
        _ROOT.pop().close()


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


class _Watch:
    """Interrupts a cursor when the process has used ``cpu`` seconds of CPU, or ``wall`` seconds have passed.

    CPU time is the process's, all DuckDB threads included, counted from the start: on a busy machine
    a query gets less CPU per second but needs as much in total, so the verdict does not change.
    """

    def __init__(self, cursor, cpu: float | None, wall: float):
        self.cursor, self.cpu, self.wall = cursor, cpu, wall
        self.stopped = ""  # "cpu" or "wall" once it interrupted the query
        self._done = threading.Event()
        self._cpu0, self._wall0 = time.process_time(), time.perf_counter()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(0.01):
            if self.cpu is not None and self.used() > self.cpu:
                self.stopped = "cpu"
            elif time.perf_counter() - self._wall0 > self.wall:
                self.stopped = "wall"
            else:
                continue
            self.cursor.interrupt()
            return

    def used(self) -> float:
        return time.process_time() - self._cpu0


def execute(conn, text: str, *, label: str, seconds: float, max_rows: int = 5000,
            cpu_seconds: float | None = None, on_session: bool = False) -> dict:
    """Screen and run ``text``; stop it after ``cpu_seconds`` of CPU or ``seconds`` of wall time.

    ``on_session``: run on ``conn`` itself (a world's session, whose default database is that world)
    instead of a cursor of its own, which would start in another database.
    """
    duckdb = _duckdb()
    answer = {"status": "ok", "message": "", "columns": [], "rows": [], "row_count": 0, "truncated": False,
              "seconds": 0.0, "cpu_seconds": 0.0}
    try:
        query = single_select(conn, text, label)
    except Refused as exc:
        return {**answer, "status": "refused", "message": str(exc)}
    except Unparsable as exc:
        return {**answer, "status": "error", "message": f"{label} does not parse: {exc}"}
    cursor = conn if on_session else conn.cursor()
    started = time.perf_counter()
    watch = _Watch(cursor, cpu_seconds, seconds)
    try:
        with watch:
            cursor.execute(query)
            zoned = [i for i, d in enumerate(cursor.description or []) if "WITH TIME ZONE" in str(d[1])]
            if zoned:
                # Python needs pytz to receive zoned values; send them as text instead.
                names = [_quoted(cursor.description[i][0]) for i in zoned]
                casts = ", ".join(f"CAST({name} AS VARCHAR) AS {name}" for name in names)
                cursor.execute(f"SELECT * REPLACE ({casts}) FROM (\n{query}\n)")
            columns = [d[0] for d in cursor.description or []]
            types = [str(d[1]) for d in cursor.description or []]
            rows = cursor.fetchmany(max_rows + 1)
            # The result streams: finish the query here, under the watch, or its cost would be paid
            # unwatched when the cursor closes, and a slow query would pass on its first rows.
            while len(rows) > max_rows and cursor.fetchmany(8192):
                pass
    except duckdb.InterruptException:
        spent = {"seconds": round(time.perf_counter() - started, 3), "cpu_seconds": round(watch.used(), 3)}
        if watch.stopped == "cpu":
            return {**answer, **spent, "status": "cpu_limit",
                    "message": f"{label} was stopped after {cpu_seconds:g} s of CPU time without a result"}
        return {**answer, **spent, "status": "timeout",
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
        elapsed = time.perf_counter() - started
        if not on_session:
            cursor.close()
    truncated = len(rows) > max_rows
    rows = rows[:max_rows]
    return {**answer, "columns": columns, "types": types, "rows": [[_plain(v) for v in row] for row in rows],
            "row_count": len(rows), "truncated": truncated, "seconds": round(elapsed, 3),
            "cpu_seconds": round(watch.used(), 3)}


def _read_query(name: str) -> tuple[str, dict | None]:
    """The text of the submission's ``NAME.sql``, or a refusal answer saying why there is none."""
    if name not in QUERIES:
        raise ValueError(f"unknown query {name!r}")
    label = f"{name}.sql"
    path = os.path.join(os.getcwd(), label)
    if os.path.islink(path) or not os.path.isfile(path):
        return "", _refusal(f"{label} is missing from the submission")
    if os.path.getsize(path) > MAX_SQL_BYTES:
        return "", _refusal(f"{label} is larger than {MAX_SQL_BYTES // 1000} kB")
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return handle.read(), None
    except UnicodeDecodeError:
        return "", _refusal(f"{label} is not UTF-8 text")


def run_sql(name: str, world: str, seconds: float, max_rows: int = 5000,
            cpu_seconds: float | None = None) -> dict:
    """Child entry point: run the submission's ``NAME.sql`` on the grader's tables ``world``."""
    text, refusal = _read_query(name)
    if refusal is not None:
        return refusal
    return execute(session(world), text, label=f"{name}.sql", seconds=seconds, max_rows=max_rows,
                   cpu_seconds=cpu_seconds, on_session=True)


def explain_sql(name: str, world: str, cpu_seconds: float = 5.0) -> dict:
    """Child entry point: the joins of ``NAME.sql``'s physical plan on the tables ``world``, without running it.

    Each join is ``{"operator", "condition", "rows"}``, where ``rows`` holds DuckDB's estimate of each
    input's rows (None where the plan gives none). Planning folds constant expressions, so it too
    runs under a CPU budget.
    """
    text, refusal = _read_query(name)
    if refusal is not None:
        return refusal
    label = f"{name}.sql"
    conn = session(world)
    try:
        query = single_select(conn, text, label)
    except Refused as exc:
        return {**_refusal(str(exc))}
    except Unparsable as exc:
        return {**_refusal(f"{label} does not parse: {exc}"), "status": "error"}
    duckdb = _duckdb()
    try:
        with _Watch(conn, cpu_seconds, 60.0) as watch:
            rows = conn.execute(f"EXPLAIN (FORMAT JSON) {query}").fetchall()
    except duckdb.InterruptException:
        return {**_refusal(f"{label} could not even be planned within {cpu_seconds:g} s of CPU time"),
                "status": "cpu_limit" if watch.stopped == "cpu" else "timeout"}
    except duckdb.Error as exc:
        return {**_refusal(f"{label} failed: {_first_line(exc)}"), "status": "error"}
    joins: list[dict] = []
    try:
        for kind, plan in rows:
            if kind == "physical_plan":
                for node in json.loads(plan):
                    _joins(node, joins)
    except RecursionError:  # a plan nested deeper than Python's stack: no verdict from it, the CPU budget decides
        return {**_refusal(f"{label}: its plan is nested too deeply to read"), "status": "error"}
    return {"status": "ok", "message": "", "joins": joins[:200]}


_JOIN_WORDS = ("JOIN", "CROSS_PRODUCT")


def _joins(node: dict, out: list) -> None:
    """Every join operator under ``node``, with the estimated rows of its inputs."""
    stack = [node]
    while stack:
        item = stack.pop()
        name, info = str(item.get("name", "")), item.get("extra_info") or {}
        children = item.get("children") or []
        if any(word in name for word in _JOIN_WORDS):
            condition = info.get("Conditions") or info.get("Condition") or ""
            out.append({"operator": name, "condition": str(condition)[:200],
                        "rows": [_estimate(child) for child in children]})
        stack.extend(reversed(children))


def _estimate(node: dict) -> int | None:
    """DuckDB's estimate of the rows ``node`` yields; a cross product's is the product of its inputs'."""
    info = node.get("extra_info") or {}
    text = str(info.get("Estimated Cardinality", "")).lstrip("~").replace(",", "")
    if text.isdigit():
        return int(text)
    children = [_estimate(child) for child in node.get("children") or []]
    if not children or None in children:
        return None
    if node.get("name") == "CROSS_PRODUCT":
        product = 1
        for count in children:
            product *= count
        return product
    return sum(children)


def _refusal(message: str) -> dict:
    return {"status": "refused", "message": message, "columns": [], "rows": [], "row_count": 0,
            "truncated": False, "seconds": 0.0, "cpu_seconds": 0.0, "joins": []}


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


def _fill_volume(conn, rows: int) -> None:
    """Create both tables in ``conn``'s current database and fill ``rows`` a side (a multiple of 50)."""
    if rows <= 0 or rows % 50:
        raise ValueError("rows must be a positive multiple of 50")
    conn.execute(SCHEMA)
    conn.execute(_VOLUME_SOURCE.replace("$rows", str(int(rows))))
    conn.execute(_VOLUME_TARGET.replace("$rows", str(int(rows))))


def build_volume(database: str, rows: int, threads: int = 2) -> None:
    """Write a fresh DuckDB file with ``rows`` source and ``rows`` target rows (rows: a multiple of 50)."""
    if rows <= 0 or rows % 50:
        raise ValueError("rows must be a positive multiple of 50")
    duckdb = _duckdb()
    conn = duckdb.connect(database, config={"threads": threads, "enable_external_access": False})
    try:
        conn.execute("SET enable_progress_bar = false")
        _fill_volume(conn, rows)
        conn.execute("CHECKPOINT")
    finally:
        conn.close()


# -- the grader's tables, built in this process ----------------------------------------
# The grader writes the hidden rows as JSON (SPEC). On first use every world, and the scale tables,
# is built into a folder this process makes (so no file the submission brought can stand in for
# one, and a fresh child after a crash builds its own), then attached read-only to one in-memory
# DuckDB, where each world gets a session whose default database is that world: the learner's
# ``source_txn`` (or ``main.source_txn``) is that world's table. One instance, not one per world:
# each costs a thread pool and a tenth of a second to start.
SPEC = "hidden/tables.json"
VOLUME = "volume"
_ROOT: list = []                 # the one DuckDB instance, once open
_SESSIONS: dict[str, object] = {}
_FILES: dict[str, str] = {}


def _insert(conn, table: str, rows: list) -> None:
    """All rows in one statement: executemany costs a round trip per row."""
    for start in range(0, len(rows), 500):
        chunk = rows[start:start + 500]
        marks = ", ".join(["(?, CAST(? AS DECIMAL(18, 4)), ?, ?, ?)"] * len(chunk))
        conn.execute(f"INSERT INTO {table} VALUES {marks}", [value for row in chunk for value in row])


def _open_worlds() -> None:
    with open(SPEC, encoding="utf-8") as handle:
        spec = json.load(handle)
    folder = tempfile.mkdtemp(prefix="tables-", dir="tmp" if os.path.isdir("tmp") else None)
    duckdb = _duckdb()
    root = duckdb.connect(":memory:", config={
        "autoload_known_extensions": False, "autoinstall_known_extensions": False,
        "allow_community_extensions": False, "threads": 2, "memory_limit": "1GB"})
    _ROOT.append(root)
    root.execute("SET TimeZone = 'UTC'")
    root.execute("SET enable_progress_bar = false")  # sessions inherit it; it would only fill the output pipe
    for n, world in enumerate([*spec["worlds"], VOLUME]):
        alias = f"w{n}"  # mkdtemp's folder and w<n> need no quoting
        path = os.path.join(folder, f"{alias}.duckdb")
        root.execute(f"ATTACH '{path}' AS {alias}")
        root.execute(f"USE {alias}")
        if world == VOLUME:
            _fill_volume(root, int(spec["volume_rows"]))
        else:
            root.execute(SCHEMA)
            _insert(root, "source_txn", spec["worlds"][world]["source"])
            _insert(root, "target_txn", spec["worlds"][world]["target"])
        root.execute("USE memory")
        root.execute(f"DETACH {alias}")
        root.execute(f"ATTACH '{path}' AS {alias} (READ_ONLY)")
        session = root.cursor()
        session.execute(f"USE {alias}")
        _SESSIONS[world], _FILES[world] = session, path
    root.execute("SET enable_external_access = false")
    root.execute("SET lock_configuration = true")


def session(world: str):
    """The session whose default database is ``world``'s tables (every world is built on first use)."""
    if not _ROOT:
        _open_worlds()
    return _SESSIONS[world]


def database(world: str) -> str:
    """The file of ``world``'s tables (for tests; queries go through ``session``)."""
    session(world)
    return _FILES[world]


def table_counts(world: str) -> dict:
    """Child entry point: the rows of ``world``'s two tables, for the grader to compare with its own."""
    counts = session(world).execute(
        "SELECT (SELECT count(*) FROM source_txn), (SELECT count(*) FROM target_txn)").fetchone()
    return {"source_rows": counts[0], "target_rows": counts[1]}
