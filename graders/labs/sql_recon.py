"""Hidden checks for sql-recon (Exercise C: reconcile ERP and data-platform transactions in SQL).

The learner's five .sql files run in the sandbox through the trusted runner ``_iclab_sql_recon``:
one SELECT per file, on a DuckDB file opened read-only with file access off and settings locked.
The hidden tables come from a seeded generator (other keys, currencies, offsets and amounts than
the visible fixtures) and an independent Python oracle computes every expected row.

Why ship a DuckDB file and not CSV: built here with the exact column types, it keeps NULL, blank
and padded keys apart without any CSV convention, and read-only is enforced by DuckDB itself, so a
write smuggled into a SELECT fails and changes nothing. The 1,000,000-row volume tables are
generated inside the sandbox instead (2 s, rather than 40 MB copied into every fresh child).

Independence: each mismatch check judges only its own field, the scope check only the rows for
keys that must not be compared, and the summary is judged against the learner's own detail
results, so one mistake is charged once.
"""
from __future__ import annotations

import datetime as dt
import random
import tempfile
from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path

from ..checks import Grader, failed, passed
from ..evidence import show
from ..results import Dimension
from ..sandbox.runtime import _iclab_sql_recon as runner

HIDDEN_DB = "hidden/recon.duckdb"
VOLUME_DB = "tmp/volume.duckdb"
VOLUME_ROWS = 1_000_000
SECONDS = 10.0          # per query on the hidden tables (under 100 rows each)
VOLUME_SECONDS = 15.0   # per query on the volume tables; the reference needs about 1 s, less on an idle machine
RUN = "_iclab_sql_recon:run_sql"
QUERIES = runner.QUERIES
FIELDS = ("amount", "currency", "status", "booked_at")
SUMMARY_COLUMNS = ("source_rows", "target_rows", "unkeyed_rows", "missing_in_target", "orphans_in_target",
                   "duplicate_keys", "mismatched_keys", "reconciled_keys", "reconciled_pct")
COLUMNS = {"missing_in_target": ("txn_id",), "orphans_in_target": ("txn_id",),
           "duplicates": ("side", "txn_id", "row_count"), "mismatches": ("txn_id", "field"), "summary": SUMMARY_COLUMNS}

# -- hidden data and the oracle ----------------------------------------------------------
TOLERANCE = Decimal("0.01")
CURRENCIES = ("EUR", "USD", "GBP", "CHF", "SEK", "NOK")
STATUSES = ("POSTED", "REVERSED", "PENDING", "CLEARED")
OFFSETS = (330, -240, 540, 600, 60, 0, -180)  # minutes east of UTC: other ERP entities than the fixtures'
GAPS = tuple(Decimal(g) for g in ("0.0101", "0.011", "0.02", "0.5", "12", "100.01", "0.015"))


@dataclass(frozen=True)
class Txn:
    txn_id: str | None
    amount: Decimal
    currency: str
    status: str
    booked_at: str


@dataclass(frozen=True)
class Expected:
    missing: tuple
    orphans: tuple
    duplicates: tuple
    mismatches: tuple
    unique: frozenset   # keys present exactly once on each side: the only ones compared
    source_keys: int
    summary: dict


@dataclass(frozen=True)
class Hidden:
    source: tuple
    target: tuple
    expected: Expected
    index: dict         # trimmed key -> (source rows, target rows)

    def explain(self, row) -> str:
        """A few words of context for one diff row: the key's rows, or the two values compared."""
        key = row[0] if len(row) != 3 else row[1]
        if not isinstance(key, str):
            return ""
        src, tgt = self.index.get(key, ((), ()))
        if len(row) == 2 and len(src) == len(tgt) == 1 and row[1] in FIELDS:
            s, t = getattr(src[0], row[1]), getattr(tgt[0], row[1])
            return f"(source {s!r}, target {t!r})" if isinstance(s, str) else f"(source {s}, target {t})"
        if not src and not tgt:
            return "(no such key after trimming spaces)" if key != key.strip(" ") else "(no such key)"
        return f"(source_txn: {_n(len(src), 'row')}, target_txn: {_n(len(tgt), 'row')})"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _key(value: str | None) -> str | None:
    return value.strip(" ") or None if value is not None else None


def _code(value: str) -> str:
    return value.strip(" ").upper()


def reconcile(source: tuple, target: tuple) -> tuple[Expected, dict]:
    """The contract, in Python: every expected result, computed independently of any SQL."""
    index: dict[str, tuple[list, list]] = {}
    for side, rows in enumerate((source, target)):
        for row in rows:
            if _key(row.txn_id) is not None:
                index.setdefault(_key(row.txn_id), ([], []))[side].append(row)
    src_keys = {k for k, (s, _) in index.items() if s}
    tgt_keys = {k for k, (_, t) in index.items() if t}
    duplicates = tuple(sorted((name, k, len(rows)) for k, pair in index.items()
                              for name, rows in zip(("source", "target"), pair) if len(rows) > 1))
    unique = frozenset(k for k, (s, t) in index.items() if len(s) == len(t) == 1)
    mismatches = []
    for k in sorted(unique):
        s, t = index[k][0][0], index[k][1][0]
        differs = (abs(s.amount - t.amount) > TOLERANCE, _code(s.currency) != _code(t.currency),
                   _code(s.status) != _code(t.status),
                   dt.datetime.fromisoformat(s.booked_at) != dt.datetime.fromisoformat(t.booked_at))
        mismatches += [(k, f) for f, d in zip(FIELDS, differs) if d]
    reconciled = len(unique) - len({k for k, _ in mismatches})
    summary = {
        "source_rows": len(source), "target_rows": len(target),
        "unkeyed_rows": sum(_key(r.txn_id) is None for r in source + target),
        "missing_in_target": len(src_keys - tgt_keys), "orphans_in_target": len(tgt_keys - src_keys),
        "duplicate_keys": len(duplicates), "mismatched_keys": len(unique) - reconciled, "reconciled_keys": reconciled,
        "reconciled_pct": (Decimal(100) * reconciled / len(src_keys)).quantize(Decimal("0.01"), ROUND_HALF_UP),
    }
    expected = Expected(tuple(sorted(src_keys - tgt_keys)), tuple(sorted(tgt_keys - src_keys)), duplicates,
                        tuple(mismatches), unique, len(src_keys), summary)
    return expected, {k: (tuple(s), tuple(t)) for k, (s, t) in index.items()}


def _stamp(instant: dt.datetime, minutes: int) -> str:
    """Local time with its offset, as the ERP exports it."""
    local = (instant + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S")
    return local + ("Z" if minutes == 0 else f"{'+' if minutes > 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}")


def _cents(count: int) -> Decimal:
    return (Decimal(count) / 100).quantize(Decimal("0.01"))


def _utc(instant: dt.datetime) -> str:
    return instant.strftime("%Y-%m-%d %H:%M:%S") + "+00"


class _Tables:
    """Builds source and target rows scenario by scenario, with the dirt real exports have."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.source: list[Txn] = []
        self.target: list[Txn] = []
        self.keys: set[str] = set()

    def key(self) -> str:
        while (key := f"GL25-{self.rng.randrange(10 ** 6):06d}") in self.keys:
            pass
        self.keys.add(key)
        return key

    def messy(self, code: str) -> str:
        return self.rng.choice([code, code, code.lower(), f" {code}", f"{code.title()} ", f"{code}  "])

    def base(self) -> dict:
        rng = self.rng
        instant = dt.datetime(2025, 1, 1) + dt.timedelta(seconds=rng.randrange(365 * 86400))
        return {"amount": _cents(rng.randrange(100, 5_000_000)), "currency": rng.choice(CURRENCIES),
                "status": rng.choice(STATUSES), "instant": instant, "offset": rng.choice(OFFSETS)}

    def add(self, side: str, key: str | None, b: dict, booked_at: str | None = None) -> None:
        rng = self.rng
        if key is not None and key.strip():
            key = rng.choice([key, key, f" {key}", f"{key} "] if side == "source" else [key, key, f"{key}   "])
        stamp = booked_at or (_stamp(b["instant"], b["offset"]) if side == "source" else _utc(b["instant"]))
        amount = b["amount"].quantize(Decimal("0.01" if side == "source" else "0.0001"))  # the columns' scales
        row = Txn(key, amount, self.messy(b["currency"]), self.messy(b["status"]), stamp)
        (self.source if side == "source" else self.target).append(row)

    def pair(self, differ: tuple = (), boundary: bool = False) -> None:
        rng, b = self.rng, self.base()
        drift = rng.choice([Decimal(0), Decimal(0), Decimal(rng.randrange(-99, 100)) / 10000])
        t = {**b, "amount": b["amount"] + drift}
        # Exactly 0.01 apart is inside the tolerance, and in DOUBLE these come out above 0.01.
        while boundary and abs(float(b["amount"]) - float(t["amount"])) <= 0.01:
            b["amount"] = _cents(rng.randrange(100, 5_000_000))
            t["amount"] = b["amount"] + rng.choice([TOLERANCE, -TOLERANCE])
        if "amount" in differ:
            t["amount"] = b["amount"] + rng.choice(GAPS) * rng.choice([1, -1])
        if "currency" in differ:
            t["currency"] = rng.choice([c for c in CURRENCIES if c != b["currency"]])
        if "status" in differ:
            t["status"] = rng.choice([s for s in STATUSES if s != b["status"]])
        stamp = None
        if "booked_at" in differ:
            b["offset"] = b["offset"] or 330
            shift = rng.choice(["offset", "second", "day"])
            stamp = (_stamp(b["instant"], b["offset"]).replace("T", " ")[:19] + "+00" if shift == "offset"
                     else _utc(b["instant"] + dt.timedelta(seconds=1 if shift == "second" else 86400)))
        key = self.key()
        self.add("source", key, b)
        self.add("target", key, t, stamp)

    def copies(self, sources: int, targets: int) -> None:
        """One key on one or both sides, duplicated; later copies disagree with the first."""
        key, b = self.key(), self.base()
        for side, count, gap in (("source", sources, 5), ("target", targets, 7)):
            for i in range(count):
                self.add(side, key, {**b, "amount": b["amount"] + gap * i})

    def unkeyed(self, side: str, keys: tuple) -> None:
        for key in keys:
            self.add(side, key, self.base())


def make_hidden(rng: random.Random) -> Hidden:
    tables = _Tables(rng)
    for _ in range(36):
        tables.pair()
    for _ in range(6):
        tables.pair(boundary=True)
    for differ in [("amount",)] * 7 + [("currency",)] * 4 + [("status",)] * 4 + [("booked_at",)] * 5 + [
            ("amount", "status"), ("currency", "booked_at"), FIELDS]:
        tables.pair(differ)
    for sources, targets in ((1, 0),) * 6 + ((2, 0), (0, 1), (0, 1), (0, 1), (0, 1), (0, 2),
                                             (2, 1), (3, 1), (2, 1), (1, 2), (1, 3), (2, 2)):
        tables.copies(sources, targets)
    tables.unkeyed("source", (None, None, "", "   "))
    tables.unkeyed("target", (None, None, None, " "))
    rng.shuffle(tables.source)
    rng.shuffle(tables.target)
    source, target = tuple(tables.source), tuple(tables.target)
    expected, index = reconcile(source, target)
    return Hidden(source, target, expected, index)


def hidden_files(data: Hidden) -> dict[str, bytes]:
    """The hidden tables as a DuckDB file, built here so NULL, blank and padded keys arrive exactly."""
    import duckdb

    with tempfile.TemporaryDirectory(prefix="iclab-sql-recon-") as tmp:
        path = Path(tmp) / "recon.duckdb"
        conn = duckdb.connect(str(path))
        try:
            conn.execute(runner.SCHEMA)
            for table, rows in (("source_txn", data.source), ("target_txn", data.target)):
                conn.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?)",
                                 [(r.txn_id, r.amount, r.currency, r.status, r.booked_at) for r in rows])
            conn.execute("CHECKPOINT")
        finally:
            conn.close()
        return {HIDDEN_DB: path.read_bytes()}


grader = Grader(seed=20261207, data=make_hidden, files=hidden_files)


# -- probes -------------------------------------------------------------------------
@dataclass(frozen=True)
class Answer:
    """What one query returned, or why it did not: the only thing checks see."""

    status: str                 # ok | refused | error | timeout | out_of_memory | crashed
    message: str = ""
    columns: tuple = ()
    rows: tuple = ()
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _answer(record, name: str, seconds: float = SECONDS) -> Answer:
    label = f"{name}.sql"
    if record.status.value == "timed_out":
        return Answer("timeout", f"{label} timed out: no result within {seconds:g} s (the sandbox was stopped)")
    if not record.ok:
        return Answer("crashed" if record.status.value == "crashed" else "error", f"{label}: {record.problem()}")
    value = record.value
    # Only SQL of the learner's ran in that process; still, an answer is untrusted until its shape is checked.
    if not isinstance(value, dict) or not isinstance(value.get("rows"), list) or not isinstance(value.get("columns"), list):
        return Answer("error", f"{label}: the query runner sent an answer of the wrong shape")
    status = value.get("status") if value.get("status") in ("ok", "refused", "error", "timeout", "out_of_memory") else "error"
    rows = tuple(tuple(r) if isinstance(r, list) else (r,) for r in value["rows"])
    return Answer(status, str(value.get("message") or "")[:400], tuple(str(c) for c in value["columns"]), rows,
                  bool(value.get("truncated")))


@grader.probe("hidden")
def _probe_hidden(run):
    return {name: _answer(run.call(RUN, name, HIDDEN_DB, SECONDS, timeout=SECONDS + 20), name) for name in QUERIES}


@grader.probe("volume")
def _probe_volume(run):
    ready = run.call("_iclab_sql_recon:prepare_volume", VOLUME_DB, VOLUME_ROWS, timeout=180)
    if not ready.ok or ready.value != {"source_rows": VOLUME_ROWS, "target_rows": VOLUME_ROWS}:
        raise RuntimeError(f"the volume dataset could not be built: {ready.problem() or show(ready.value)}")
    answers = {}
    for name in QUERIES:
        record = run.call(RUN, name, VOLUME_DB, VOLUME_SECONDS, 20, timeout=VOLUME_SECONDS + 30)
        answers[name] = _answer(record, name, VOLUME_SECONDS)
        if answers[name].status in ("timeout", "crashed"):
            break  # one stopped query is the verdict; the rest would only add minutes
    return answers


# -- comparing result sets ------------------------------------------------------------
def _rows(answer: Answer, name: str):
    """The answer's rows, or a failed Outcome when there are no rows to compare."""
    label = f"{name}.sql"
    if not answer.ok:
        return failed(answer.message or f"{label} returned no result")
    if answer.truncated:
        return failed(f"{label} returned more than 5000 rows; the hidden tables hold under 100 rows each")
    if answer.columns != COLUMNS[name]:
        return failed(f"{label} must return the columns ({', '.join(COLUMNS[name])}), "
                      f"not ({', '.join(answer.columns)})")
    return [tuple(_number(v) for v in row) for row in answer.rows]


def _number(value):
    """Integers from any numeric type, so a count typed HUGEINT or DECIMAL still compares."""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


def _diff(want: Counter, got: Counter, why=lambda row: "") -> list[str]:
    lines = []
    missing, extra = want - got, got - want
    for row in sorted(missing, key=repr)[:3]:
        lines.append(f"expected but missing: {show(list(row), 60)} {why(row)}".rstrip())
    if len(missing) > 3:
        lines.append(f"  ... and {sum(missing.values()) - 3} more expected rows missing")
    for row in sorted(extra, key=repr)[:3]:
        again = f" returned {got[row]} times, expected once" if row in want else ""
        lines.append(f"returned but wrong:   {show(list(row), 60)}{again} {why(row)}".rstrip())
    if len(extra) > 3:
        lines.append(f"  ... and {sum(extra.values()) - 3} more wrong rows")
    return lines


def _compare(answers, name: str, want_rows, what: str, why=lambda row: "", hint=""):
    got = _rows(answers[name], name)
    if not isinstance(got, list):
        return got
    want, have = Counter(want_rows), Counter(got)
    if want == have:
        return passed(f"all {sum(want.values())} {what} found, nothing else")
    lost, wrong = sum((want - have).values()), sum((have - want).values())
    reason = f"{name}.sql: {lost} of {sum(want.values())} {what} not returned, {_n(wrong, 'row')} returned wrongly"
    if not got and want and hint:
        reason += f" ({hint})"
    return failed(reason, "\n".join(_diff(want, have, why)))


# -- checks: the detail queries -----------------------------------------------------------
NOT_IN_HINT = "no rows at all; NOT IN finds nothing once its subquery holds a NULL, and an inner join never sees a missing row"


@grader.check("missing-in-target", title="Source keys missing in the target", points=12, skill="sql-anti-join",
              dimension=Dimension.API_DATA, criterion=1, probe="hidden")
def check_missing(answers, data):
    return _compare(answers, "missing_in_target", [(k,) for k in data.expected.missing],
                    "source keys without a target row", data.explain, NOT_IN_HINT)


@grader.check("orphans-in-target", title="Target keys with no source row", points=10, skill="sql-anti-join",
              dimension=Dimension.API_DATA, criterion=2, probe="hidden")
def check_orphans(answers, data):
    return _compare(answers, "orphans_in_target", [(k,) for k in data.expected.orphans],
                    "target keys without a source row", data.explain, NOT_IN_HINT)


@grader.check("duplicate-keys", title="Duplicate keys on each side", points=12, skill="keys-and-constraints",
              dimension=Dimension.API_DATA, criterion=3, probe="hidden")
def check_duplicates(answers, data):
    return _compare(answers, "duplicates", data.expected.duplicates, "duplicated keys", data.explain)


def _field_check(answers, data, field: str, what: str):
    got = _rows(answers["mismatches"], "mismatches")
    if not isinstance(got, list):
        return got
    unique = data.expected.unique
    # Rows for other fields, or for keys not present once on each side, belong to other checks.
    have = Counter(r for r in got if r[1] == field and r[0] in unique)
    want = Counter(r for r in data.expected.mismatches if r[1] == field)
    if have == want:
        return passed(f"all {len(want)} {what} reported, and no false ones, among {len(unique)} matched keys")
    lost, wrong = sum((want - have).values()), sum((have - want).values())
    return failed(f"mismatches.sql: {lost} of {len(want)} {what} not reported, {wrong} reported wrongly",
                  "\n".join(_diff(want, have, data.explain)))


@grader.check("amount-tolerance", title="Amounts compared as decimals within 0.01", points=10, skill="decimal-money",
              dimension=Dimension.API_DATA, criterion=4, probe="hidden")
def check_amounts(answers, data):
    return _field_check(answers, data, "amount", "amount mismatches")


@grader.check("currency-respected", title="Currencies compared, ignoring case and spaces", points=8,
              skill="data-normalisation", dimension=Dimension.API_DATA, criterion=5, probe="hidden")
def check_currency(answers, data):
    return _field_check(answers, data, "currency", "currency mismatches")


@grader.check("status-normalised", title="Statuses compared, ignoring case and spaces", points=6,
              skill="data-normalisation", dimension=Dimension.API_DATA, criterion=5, probe="hidden")
def check_status(answers, data):
    return _field_check(answers, data, "status", "status mismatches")


@grader.check("booked-at-instant", title="booked_at compared as instants across time zones", points=8,
              skill="timezones", dimension=Dimension.API_DATA, criterion=6, probe="hidden")
def check_booked_at(answers, data):
    return _field_check(answers, data, "booked_at", "booked_at mismatches")


@grader.check("mismatch-scope", title="Only keys present once on each side are compared", points=8,
              skill="keys-and-constraints", dimension=Dimension.INTEGRATION, criterion=7, probe="hidden")
def check_scope(answers, data):
    got = _rows(answers["mismatches"], "mismatches")
    if not isinstance(got, list):
        return got
    expected = set(data.expected.mismatches)
    if expected and not expected & set(got):
        return failed(f"mismatches.sql found none of the {len(expected)} real mismatches, so its scope cannot be judged")
    stray = Counter(r for r in got if r[0] not in data.expected.unique or r[1] not in FIELDS)
    if stray:
        return failed(f"mismatches.sql returned {sum(stray.values())} rows for keys or fields it must not compare",
                      "\n".join(_diff(Counter(), stray, data.explain)))
    return passed("no rows for duplicated, missing, orphaned or unkeyed transactions")


# -- checks: the summary -----------------------------------------------------------------
def _summary(answers):
    got = _rows(answers["summary"], "summary")
    if not isinstance(got, list):
        return got
    if len(got) != 1:
        return failed(f"summary.sql must return exactly one row, not {len(got)}")
    return dict(zip(SUMMARY_COLUMNS, got[0]))


def _own_count(answers, name: str, expected: int) -> tuple[int, str]:
    """What the learner's own detail query says, when it ran; the oracle's count otherwise."""
    answer = answers[name]
    if not answer.ok or answer.truncated or answer.columns != COLUMNS[name]:
        return expected, "the correct count"
    if name == "mismatches":
        return len({r[0] for r in answer.rows}), "distinct txn_id in your mismatches.sql"
    return len(answer.rows), f"rows of your {name}.sql"


@grader.check("summary-counts", title="Summary counts agree with the tables and the detail queries", points=8,
              skill="reporting", dimension=Dimension.COMMUNICATION, criterion=8, probe="hidden")
def check_summary_counts(answers, data):
    row = _summary(answers)
    if not isinstance(row, dict):
        return row
    want = data.expected.summary
    lines = []
    for column in ("source_rows", "target_rows", "unkeyed_rows"):
        if _number(row[column]) != want[column]:
            lines.append(f"{column}: expected {want[column]}, got {show(row[column])}")
    for column, name in (("missing_in_target", "missing_in_target"), ("orphans_in_target", "orphans_in_target"),
                         ("duplicate_keys", "duplicates"), ("mismatched_keys", "mismatches")):
        count, source = _own_count(answers, name, want[column])
        if _number(row[column]) != count:
            lines.append(f"{column}: expected {count} ({source}), got {show(row[column])}")
    if lines:
        return failed(f"{len(lines)} summary counts are wrong", "\n".join(lines))
    return passed("row counts, unkeyed rows and every category agree")


def _pct(reconciled: int, keys: int) -> set[Decimal]:
    exact = Decimal(100) * reconciled / keys
    return {exact.quantize(Decimal("0.01"), ROUND_HALF_UP), exact.quantize(Decimal("0.01"), ROUND_HALF_EVEN)}


@grader.check("summary-reconciled", title="Reconciled keys and percentage", points=8, skill="reporting",
              dimension=Dimension.COMMUNICATION, criterion=9, probe="hidden")
def check_summary_reconciled(answers, data):
    row = _summary(answers)
    if not isinstance(row, dict):
        return row
    exp = data.expected
    accepted = {exp.summary["reconciled_keys"]}
    mism = answers["mismatches"]
    if mism.ok and mism.columns == COLUMNS["mismatches"] and not mism.truncated:
        # Judged against your own mismatches.sql too: a comparison mistake is charged there, once.
        accepted.add(len(exp.unique - {r[0] for r in mism.rows}))
    got, pct = _number(row["reconciled_keys"]), row["reconciled_pct"]
    if got not in accepted:
        return failed(f"reconciled_keys is {show(got)}; expected {' or '.join(map(str, sorted(accepted)))}",
                      f"{len(exp.unique)} keys occur exactly once on each side; "
                      f"{len(exp.unique) - exp.summary['reconciled_keys']} of them have a mismatch")
    try:
        value = Decimal(repr(pct)) if isinstance(pct, float) else Decimal(pct)
    except (ArithmeticError, TypeError, ValueError):
        value = None
    allowed = _pct(got, exp.source_keys)
    if value is None or value not in allowed:
        return failed(f"reconciled_pct is {pct}; 100 * {got} reconciled / {exp.source_keys} source keys "
                      f"= {min(allowed)}", "the denominator is every distinct source key, missing ones included")
    return passed(f"{got} of {exp.source_keys} source keys reconciled, {value}%")


# -- check: volume ------------------------------------------------------------------------
@grader.check("volume-budget", title="Every query finishes on 1,000,000 rows a side", points=10,
              skill="sql-performance", dimension=Dimension.TROUBLESHOOTING, criterion=10, probe="volume")
def check_volume(answers, data):
    stopped = [(name, a) for name, a in answers.items() if a.status in ("timeout", "crashed", "out_of_memory")]
    if stopped:
        name, answer = stopped[0]
        volume = f"on {VOLUME_ROWS:,} source and {VOLUME_ROWS:,} target rows"
        reason = (f"{name}.sql timed out: no result within {VOLUME_SECONDS:g} s {volume}; it was stopped"
                  if answer.status == "timeout" else f"{answer.message} ({volume})")
        return failed(reason,
                      f"budget: {VOLUME_SECONDS:g} s per query; the reference needs about 1 s for the slowest\n"
                      "look for joins on OR, functions of both sides, or cross joins: they cannot use a hash join")
    ran = [name for name, a in answers.items() if a.ok]
    if not ran:
        return failed("no query produced a result on the volume data; see the other checks for why")
    return passed(f"{len(ran)} queries finished within {VOLUME_SECONDS:g} s each on {VOLUME_ROWS:,} rows a side")
