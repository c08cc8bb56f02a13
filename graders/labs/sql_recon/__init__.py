"""Hidden checks for sql-recon (Exercise C: reconcile ERP and data-platform transactions in SQL).

The learner's five .sql files run in the sandbox through the trusted runner ``_iclab_sql_recon``:
one SELECT per file, on DuckDB files opened read-only with file access off and settings locked.
The hidden tables come from a seeded generator (tables.py: other keys, currencies, offsets and
amounts than the visible fixtures, in four worlds) and an independent Python oracle computes every
expected row. Criterion 10 is judged by the queries' plans and CPU time (scaling.py).

Independence: each mismatch check judges only its own field, the scope check only the rows for
keys that must not be compared, and the summary is judged on its own terms: each count must be the
right one, or agree with the learner's own detail query, so one mistake is charged once.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from ...checks import Grader, failed, passed
from ...evidence import show
from ...results import Dimension
from ...sandbox.runtime import _iclab_sql_recon as runner
from .scaling import judge_volume, probe_volume
from .tables import COVERAGE, FIELDS, TOLERANCE, Expected, Hidden, Txn, World, hidden_files, make_hidden, reconcile

__all__ = ["grader", "Answer", "QUERIES", "COLUMNS", "SUMMARY_COLUMNS", "TOLERANCE", "Txn", "Expected", "World",
           "Hidden", "reconcile", "make_hidden", "hidden_files"]

SECONDS = 60.0          # wall guard per query on the hidden tables (under 200 rows each): only against starvation
CPU_SECONDS = 5.0       # CPU per query on the hidden tables: a runaway query stops here, however busy the machine
RUN = "_iclab_sql_recon:run_sql"
QUERIES = runner.QUERIES
SUMMARY_COLUMNS = ("source_rows", "target_rows", "unkeyed_rows", "missing_in_target", "orphans_in_target",
                   "duplicate_keys", "mismatched_keys", "reconciled_keys", "reconciled_pct")
PCT_TYPE = "DECIMAL(5,2)"  # as DuckDB names the type the ticket asks for reconciled_pct
COLUMNS = {"missing_in_target": ("txn_id",), "orphans_in_target": ("txn_id",),
           "duplicates": ("side", "txn_id", "row_count"), "mismatches": ("txn_id", "field"), "summary": SUMMARY_COLUMNS}

grader = Grader(seed=20261207, data=make_hidden, files=hidden_files, coverage=COVERAGE)


# -- probes -------------------------------------------------------------------------
@dataclass(frozen=True)
class Answer:
    """What one query returned, or why it did not: the only thing checks see."""

    status: str                 # ok | refused | error | timeout | cpu_limit | out_of_memory | crashed
    message: str = ""
    columns: tuple = ()
    rows: tuple = ()
    truncated: bool = False
    types: tuple = ()           # DuckDB's type of each column, e.g. "DECIMAL(5,2)"

    @property
    def ok(self) -> bool:
        return self.status == "ok"


STATUSES = ("ok", "refused", "error", "timeout", "cpu_limit", "out_of_memory")


def _answer(record, name: str) -> Answer:
    label = f"{name}.sql"
    if record.status.value == "timed_out":
        return Answer("timeout", f"{label} timed out: the sandbox gave no answer (stopped)")
    if not record.ok:
        return Answer("crashed" if record.status.value == "crashed" else "error", f"{label}: {record.problem()}")
    value = record.value
    # Only SQL of the learner's ran in that process; still, an answer is untrusted until its shape is checked.
    if not isinstance(value, dict) or not isinstance(value.get("rows"), list) or not isinstance(value.get("columns"), list):
        return Answer("error", f"{label}: the query runner sent an answer of the wrong shape")
    status = value.get("status") if value.get("status") in STATUSES else "error"
    rows = tuple(tuple(r) if isinstance(r, list) else (r,) for r in value["rows"])
    types = value.get("types") if isinstance(value.get("types"), list) else []
    return Answer(status, str(value.get("message") or "")[:400], tuple(str(c) for c in value["columns"]), rows,
                  bool(value.get("truncated")), tuple(str(t) for t in types))


@grader.probe("hidden")
def _probe_hidden(run):
    """Every query on every world: {world name: {query: Answer}}."""
    evidence = {}
    for world in run.data.worlds:
        evidence[world.name] = {name: _answer(run.call(RUN, name, world.name, SECONDS, 5000, CPU_SECONDS,
                                                       timeout=SECONDS + 30), name) for name in QUERIES}
    return evidence


@grader.probe("volume")
def _probe_volume(run):
    return probe_volume(run, QUERIES)


# -- comparing result sets ------------------------------------------------------------
def _rows(answer: Answer, name: str):
    """The answer's rows, or a failed Outcome when there are no rows to compare."""
    label = f"{name}.sql"
    if not answer.ok:
        return failed(answer.message or f"{label} returned no result")
    if answer.truncated:
        return failed(f"{label} returned more than 5000 rows; the hidden tables hold under 200 rows each")
    if answer.columns != COLUMNS[name]:
        return failed(f"{label} must return the columns ({', '.join(COLUMNS[name])}), "
                      f"not ({', '.join(answer.columns)})")
    return [tuple(_number(v) for v in row) for row in answer.rows]


def _number(value):
    """Integers from any numeric type, so a count typed HUGEINT or DECIMAL still compares."""
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    return value


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


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


def _in_worlds(evidence, data: Hidden, judge):
    """``judge(answers, world)`` on every world: the first failure (saying which tables), else the main pass."""
    outcomes = [(world, judge(evidence[world.name], world)) for world in data.worlds]
    for world, outcome in outcomes:
        if outcome.fraction != 1.0:
            if not world.label:
                return outcome
            return failed(f"{world.label}: {outcome.reason}", outcome.evidence)
    return outcomes[0][1]


def _compare(answers, world: World, name: str, want_rows, what: str, hint=""):
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
    return failed(reason, "\n".join(_diff(want, have, world.explain)))


# -- checks: the detail queries -----------------------------------------------------------
NOT_IN_HINT = "no rows at all; NOT IN finds nothing once its subquery holds a NULL, and an inner join never sees a missing row"


@grader.check("missing-in-target", title="Source keys missing in the target", points=12, skill="sql-anti-join",
              dimension=Dimension.API_DATA, criterion=1, probe="hidden")
def check_missing(evidence, data):
    return _in_worlds(evidence, data, lambda answers, w: _compare(
        answers, w, "missing_in_target", [(k,) for k in w.expected.missing], "source keys without a target row",
        NOT_IN_HINT))


@grader.check("orphans-in-target", title="Target keys with no source row", points=10, skill="sql-anti-join",
              dimension=Dimension.API_DATA, criterion=2, probe="hidden")
def check_orphans(evidence, data):
    return _in_worlds(evidence, data, lambda answers, w: _compare(
        answers, w, "orphans_in_target", [(k,) for k in w.expected.orphans], "target keys without a source row",
        NOT_IN_HINT))


@grader.check("duplicate-keys", title="Duplicate keys on each side", points=12, skill="keys-and-constraints",
              dimension=Dimension.API_DATA, criterion=3, probe="hidden")
def check_duplicates(evidence, data):
    return _in_worlds(evidence, data, lambda answers, w: _compare(
        answers, w, "duplicates", w.expected.duplicates, "duplicated keys"))


def _field_check(evidence, data, field: str, what: str):
    def judge(answers, world: World):
        got = _rows(answers["mismatches"], "mismatches")
        if not isinstance(got, list):
            return got
        unique = world.expected.unique
        # Rows for other fields, or for keys not present once on each side, belong to other checks.
        have = Counter(r for r in got if len(r) == 2 and r[1] == field and r[0] in unique)
        want = Counter(r for r in world.expected.mismatches if r[1] == field)
        if have == want:
            return passed(f"all {len(want)} {what} reported, and no false ones, among {len(unique)} matched keys")
        lost, wrong = sum((want - have).values()), sum((have - want).values())
        return failed(f"mismatches.sql: {lost} of {len(want)} {what} not reported, {wrong} reported wrongly",
                      "\n".join(_diff(want, have, world.explain)))
    return _in_worlds(evidence, data, judge)


@grader.check("amount-tolerance", title="Amounts compared as decimals within 0.01", points=10, skill="decimal-money",
              dimension=Dimension.API_DATA, criterion=4, probe="hidden")
def check_amounts(evidence, data):
    return _field_check(evidence, data, "amount", "amount mismatches")


@grader.check("currency-respected", title="Currencies compared, ignoring case and spaces", points=8,
              skill="data-normalisation", dimension=Dimension.API_DATA, criterion=5, probe="hidden")
def check_currency(evidence, data):
    return _field_check(evidence, data, "currency", "currency mismatches")


@grader.check("status-normalised", title="Statuses compared, ignoring case and spaces", points=6,
              skill="data-normalisation", dimension=Dimension.API_DATA, criterion=5, probe="hidden")
def check_status(evidence, data):
    return _field_check(evidence, data, "status", "status mismatches")


@grader.check("booked-at-instant", title="booked_at compared as instants across time zones", points=8,
              skill="timezones", dimension=Dimension.API_DATA, criterion=6, probe="hidden")
def check_booked_at(evidence, data):
    return _field_check(evidence, data, "booked_at", "booked_at mismatches")


@grader.check("mismatch-scope", title="Only keys present once on each side are compared", points=8,
              skill="keys-and-constraints", dimension=Dimension.INTEGRATION, criterion=7, probe="hidden")
def check_scope(evidence, data):
    def judge(answers, world: World):
        got = _rows(answers["mismatches"], "mismatches")
        if not isinstance(got, list):
            return got
        expected = set(world.expected.mismatches)
        if expected and not expected & set(got):
            return failed(f"mismatches.sql found none of the {len(expected)} real mismatches, so its scope "
                          "cannot be judged (see amount-tolerance)")
        stray = Counter(r for r in got if len(r) != 2 or r[0] not in world.expected.unique or r[1] not in FIELDS)
        if stray:
            return failed(f"mismatches.sql returned {sum(stray.values())} rows for keys or fields it must not compare",
                          "\n".join(_diff(Counter(), stray, world.explain)))
        return passed("no rows for duplicated, missing, orphaned or unkeyed transactions")
    return _in_worlds(evidence, data, judge)


# -- checks: the summary, judged on its own terms -----------------------------------------
def _summary(answers):
    got = _rows(answers["summary"], "summary")
    if not isinstance(got, list):
        return got
    if len(got) != 1:
        return failed(f"summary.sql must return exactly one row, not {len(got)}")
    return dict(zip(SUMMARY_COLUMNS, got[0]))


def _accepted_counts(answers, name: str, right: int) -> tuple[set, str]:
    """The right count, and what the learner's own detail query says when it ran (one mistake, charged once)."""
    answer = answers[name]
    if not answer.ok or answer.truncated or answer.columns != COLUMNS[name]:
        return {right}, ""
    own = len({r[0] for r in answer.rows if r}) if name == "mismatches" else len(answer.rows)
    return {right, own}, f", or {own} as your {name}.sql says" if own != right else ""


@grader.check("summary-counts", title="Summary counts agree with the tables and the detail queries", points=8,
              skill="reporting", dimension=Dimension.COMMUNICATION, criterion=8, probe="hidden")
def check_summary_counts(evidence, data):
    def judge(answers, world: World):
        row = _summary(answers)
        if not isinstance(row, dict):
            return row
        want, lines = world.expected.summary, []
        for column in ("source_rows", "target_rows", "unkeyed_rows"):
            if _number(row[column]) != want[column] or type(_number(row[column])) is not int:
                lines.append(f"{column}: expected {want[column]}, got {show(row[column])}")
        for column, name in (("missing_in_target", "missing_in_target"), ("orphans_in_target", "orphans_in_target"),
                             ("duplicate_keys", "duplicates"), ("mismatched_keys", "mismatches")):
            accepted, own = _accepted_counts(answers, name, want[column])
            got = _number(row[column])
            if type(got) is not int or got not in accepted:
                lines.append(f"{column}: expected {want[column]}{own}, got {show(row[column])}")
        if lines:
            return failed(f"{len(lines)} summary counts are wrong", "\n".join(lines))
        return passed("row counts, unkeyed rows and every category agree")
    return _in_worlds(evidence, data, judge)


def _decimal(value) -> Decimal | None:
    """A returned percentage as a Decimal (a float by its shortest repr), or None when it is no number."""
    try:
        if isinstance(value, float):
            return Decimal(repr(value))
        return Decimal(value) if isinstance(value, (int, str, Decimal)) and not isinstance(value, bool) else None
    except (ArithmeticError, TypeError, ValueError):
        return None


def _pct(reconciled: int, keys: int) -> set[Decimal]:
    exact = Decimal(100) * reconciled / keys
    return {exact.quantize(Decimal("0.01"), ROUND_HALF_UP), exact.quantize(Decimal("0.01"), ROUND_HALF_EVEN)}


@grader.check("summary-reconciled", title="Reconciled keys and percentage", points=8, skill="reporting",
              dimension=Dimension.COMMUNICATION, criterion=9, probe="hidden")
def check_summary_reconciled(evidence, data):
    def judge(answers, world: World):
        row = _summary(answers)
        if not isinstance(row, dict):
            return row
        exp = world.expected
        accepted = {exp.summary["reconciled_keys"]}
        mism = answers["mismatches"]
        if mism.ok and mism.columns == COLUMNS["mismatches"] and not mism.truncated:
            # Judged against your own mismatches.sql too: a comparison mistake is charged there, once.
            accepted.add(len(exp.unique - {r[0] for r in mism.rows if r}))
        got, pct = _number(row["reconciled_keys"]), row["reconciled_pct"]
        if type(got) is not int or got not in accepted:
            return failed(f"reconciled_keys is {show(got)}; expected {' or '.join(map(str, sorted(accepted)))}",
                          f"{len(exp.unique)} keys occur exactly once on each side; "
                          f"{len(exp.unique) - exp.summary['reconciled_keys']} of them have a mismatch")
        value = _decimal(pct)
        allowed = _pct(got, exp.source_keys)
        if value is None or not value.is_finite() or value not in allowed:
            return failed(f"reconciled_pct is {show(pct)}; 100 * {got} reconciled / {exp.source_keys} source keys "
                          f"= {min(allowed)}", "the denominator is every distinct source key, missing ones included")
        typed = answers["summary"].types[8] if len(answers["summary"].types) == len(SUMMARY_COLUMNS) else "unknown"
        if typed != PCT_TYPE:
            return failed(f"reconciled_pct is {value}, right, but typed {typed}; the ticket asks for DECIMAL(5, 2)",
                          "CAST(round(100.0 * reconciled / source_keys, 2) AS DECIMAL(5, 2))")
        return passed(f"{got} of {exp.source_keys} source keys reconciled, {value}%")
    return _in_worlds(evidence, data, judge)


# -- check: scale ------------------------------------------------------------------------
@grader.check("volume-budget", title="Every query scales to 1,000,000 rows a side", points=10,
              skill="sql-performance", dimension=Dimension.TROUBLESHOOTING, criterion=10, probe="volume")
def check_volume(evidence, data):
    return judge_volume(evidence)
