"""Criterion 10, judged the same on an idle machine and a busy one: the plan's joins, then CPU time.

A query that scales to 1,000,000 rows a side joins large inputs on equality, which DuckDB runs as a
hash join. One that compares every row with every row (a nested-loop, blockwise or cross join of
two large inputs) needs about 10^12 comparisons there and never finishes. So each query is planned
on 20,000 generated rows a side (EXPLAIN: nothing runs), and a plan with such a join fails without
running. Every other query runs there under a CPU budget: CPU time, not the wall clock, so a busy
machine stretches the query but not its verdict. A query that scales needs a few hundredths of a
second; the budget is 0.5 s, about what a query that grows linearly would need for 15 s on
1,000,000 rows (2 threads), and a third of what a query that scans all 20,000 target keys for each
source key needs. The wall clock only guards against a child that gets no CPU at all: stopping at it
is "cannot judge" (errored), never a failure.

Plans and CPU times come from the trusted runner in the child, where nothing of the learner's runs
but SQL; the grader checks their shape and decides here.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...checks import errored, failed, passed
from ...evidence import show
from ...sandbox.runtime import _iclab_sql_recon as runner
from .tables import VOLUME_ROWS

__all__ = ["QUADRATIC", "PLAN_ROWS", "CPU_BUDGET", "WALL_GUARD", "Scaled", "quadratic_joins", "probe_volume",
           "judge_volume"]

QUADRATIC = frozenset({"NESTED_LOOP_JOIN", "BLOCKWISE_NL_JOIN", "CROSS_PRODUCT"})
PLAN_ROWS = 100         # a quadratic join is fine when an input is this small (a one-row aggregate, a few codes)
CPU_BUDGET = 0.5        # CPU seconds per query on VOLUME_ROWS a side
WALL_GUARD = 60.0       # wall seconds per query, only against a starved child
EXPLAIN, RUN = "_iclab_sql_recon:explain_sql", "_iclab_sql_recon:run_sql"


@dataclass(frozen=True)
class Scaled:
    """What one query showed on the scale tables: its quadratic joins, or how its run ended."""

    name: str
    quadratic: tuple = ()   # descriptions of joins that compare every row with every row
    status: str = "ok"      # the run's status, or the plan's when it could not be planned
    message: str = ""


def quadratic_joins(joins) -> tuple[str, ...]:
    """The joins that compare every row of one large input with every row of another, described."""
    found = []
    for join in joins if isinstance(joins, list) else []:
        if not isinstance(join, dict) or join.get("operator") not in QUADRATIC:
            continue
        rows = join.get("rows")
        if not (isinstance(rows, list) and len(rows) == 2 and all(type(r) is int for r in rows)):
            continue  # no estimate: the CPU budget decides
        if min(rows) > PLAN_ROWS:
            condition = str(join.get("condition") or "")[:120] or "no condition at all"
            found.append(f"{join['operator']} on {condition} between ~{rows[0]:,} and ~{rows[1]:,} rows")
    return tuple(found)


def probe_volume(run, queries) -> dict:
    """Plan each query on the scale tables; run those whose plan scales, under the CPU budget."""
    ready = run.call("_iclab_sql_recon:table_counts", runner.VOLUME, timeout=180)
    if not ready.ok or ready.value != {"source_rows": VOLUME_ROWS, "target_rows": VOLUME_ROWS}:
        return {"": Scaled("", status="unbuilt", message=ready.problem() or show(ready.value))}
    evidence = {}
    for name in queries:
        plan = run.call(EXPLAIN, name, runner.VOLUME, timeout=WALL_GUARD + 30)
        answer = plan.value if plan.ok and isinstance(plan.value, dict) else {}
        found = quadratic_joins(answer.get("joins"))
        if found:
            evidence[name] = Scaled(name, found)
            continue
        record = run.call(RUN, name, runner.VOLUME, WALL_GUARD, 20, CPU_BUDGET, timeout=WALL_GUARD + 30)
        value = record.value if record.ok and isinstance(record.value, dict) else {}
        status = value.get("status") if value.get("status") in ("ok", "refused", "error", "timeout", "out_of_memory",
                                                                  "cpu_limit") else "error"
        if not record.ok:  # the sandbox's own deadline is past the runner's wall guard: starved, like it
            status = {"crashed": "crashed", "timed_out": "timeout"}.get(record.status.value, "error")
        evidence[name] = Scaled(name, (), status, str(value.get("message") or record.problem() or "")[:300])
    return evidence


def judge_volume(evidence: dict):
    """The verdict for criterion 10 from ``probe_volume``'s evidence."""
    scale = f"{VOLUME_ROWS:,} rows a side"
    if "" in evidence:
        return errored(f"the {scale} could not be built in the sandbox, so criterion 10 cannot be judged: "
                       f"{evidence[''].message}")
    planned = [s for s in evidence.values() if s.quadratic]
    if planned:
        first = planned[0]
        return failed(f"{first.name}.sql compares every row with every row: {first.quadratic[0]} (DuckDB's plan on "
                      f"{scale}); on 1,000,000 rows a side that is about 10^12 comparisons",
                      "\n".join([f"{s.name}.sql: {q}" for s in planned for q in s.quadratic][:4]
                                + ["join on equality of one expression per side (a hash join): no OR, LIKE or "
                                   "cross join plus filter"]))
    slow = [s for s in evidence.values() if s.status in ("cpu_limit", "crashed", "out_of_memory")]
    if slow:
        first = slow[0]
        reason = (f"{first.name}.sql used more than {CPU_BUDGET:g} s of CPU time on {scale} without finishing"
                  if first.status == "cpu_limit" else f"{first.message} (on {scale})")
        return failed(reason, f"budget: {CPU_BUDGET:g} s of CPU per query on {scale}; a query that scales needs a "
                              "few hundredths of a second there\nlook for joins on OR, functions of both sides, "
                              "or work repeated for every row")
    starved = [s for s in evidence.values() if s.status == "timeout"]
    if starved:
        return errored(f"{starved[0].name}.sql got too little CPU in {WALL_GUARD:g} s to be judged: the machine "
                       "is overloaded; grade again")
    ran = [s for s in evidence.values() if s.status == "ok"]
    if not ran:
        return failed("no query produced a result on the scale tables; see the other checks for why")
    return passed(f"{len(ran)} queries planned without comparing every row with every row, and each finished "
                  f"within {CPU_BUDGET:g} s of CPU on {scale}")
