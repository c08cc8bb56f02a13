"""Mutation reports as text (for people) and JSON (for programs). Renderers never compute."""
from __future__ import annotations

import json

from ..mutation.analysis import MIN_SCORE, MutationReport
from ..mutation.equivalents import FILE_NAME, stanza
from .table import table

__all__ = ["summary_table", "report_text", "report_json"]

HEADERS = ["lab", "mutants", "killed", "survived", "equivalent", "score", "checks/kill", "time"]


def summary_row(r: MutationReport) -> list[str]:
    sampled = f" (1 in {r.sample})" if r.sample > 1 else ""
    return [r.lab, f"{r.generated}{sampled}", str(r.killed), str(len(r.survivors)), str(r.equivalent),
            f"{r.score:.1f}%", f"{r.checks_per_kill:.2f}", f"{r.elapsed:.0f}s"]


def summary_table(reports: list[MutationReport]) -> str:
    return table(HEADERS, [summary_row(r) for r in reports])


def _first_changed_line(diff: str) -> str:
    return next((ln[1:] for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")), "")


def report_text(r: MutationReport, *, min_score: float = MIN_SCORE, stanzas: bool = False) -> str:
    """One lab: the counts, then every survivor with its diff, then what is wrong with the list."""
    verdict = "ok" if r.ok(min_score) else "FAILED"
    lines = [f"{r.lab}: {verdict}: {r.generated} mutants, {r.killed} killed, {len(r.survivors)} survived, "
             f"{r.equivalent} reviewed equivalent: mutation score {r.score:.1f}% (needs {min_score:g}%)"]
    for rel in r.unsupported:
        lines.append(f"  note: no mutation operators for {rel}")
    for res in r.survivors:
        lines.append(f"  survived {res.mutant.id} at {res.mutant.where} ({res.mutant.operator}):")
        lines += ["    " + ln for ln in res.mutant.diff.splitlines()[2:]]
        if stanzas:
            lines += ["    " + ln for ln in stanza(res.mutant.id, res.mutant.where,
                                                  _first_changed_line(res.mutant.diff)).splitlines()]
    for res in r.killed_but_listed:
        lines.append(f"  listed as equivalent in {FILE_NAME} but killed by {', '.join(res.lost)}: "
                     f"{res.mutant.id} ({res.mutant.where}); remove the entry")
    for eq in r.stale:
        lines.append(f"  {FILE_NAME} lists {eq.id} ({eq.where or 'no place'}), which no mutant of the reference "
                     "matches any more; remove or re-review it")
    for res in r.errors:
        lines.append(f"  internal grader error on {res.mutant.id} ({res.mutant.where}): {res.problems[0]}")
    return "\n".join(lines) + "\n"


def report_json(reports: list[MutationReport], *, min_score: float = MIN_SCORE) -> str:
    doc = {"schema": "iclab/mutation-report/v1", "min_score": min_score, "labs": [{
        "lab": r.lab, "ok": r.ok(min_score), "generated": r.generated, "killed": r.killed,
        "survived": len(r.survivors), "equivalent": r.equivalent, "score": r.score,
        "checks_per_kill": r.checks_per_kill, "elapsed": r.elapsed, "sample": r.sample,
        "survivors": [{"id": s.mutant.id, "where": s.mutant.where, "operator": s.mutant.operator,
                       "diff": s.mutant.diff} for s in r.survivors],
        "killed_but_listed": [s.mutant.id for s in r.killed_but_listed],
        "stale": [e.id for e in r.stale],
        "errors": [{"id": s.mutant.id, "problem": s.problems[0]} for s in r.errors],
    } for r in reports]}
    return json.dumps(doc, indent=2) + "\n"
