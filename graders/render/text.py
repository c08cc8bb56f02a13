"""Terminal rendering for people: one line per check, evidence under failures."""
from __future__ import annotations

from ..results import LabResult, Status, scorecard

_MARK = {Status.PASSED: "PASS", Status.FAILED: "FAIL", Status.ERRORED: "ERROR", Status.SKIPPED: "SKIP"}
_COLOR = {Status.PASSED: "32", Status.FAILED: "31", Status.ERRORED: "35", Status.SKIPPED: "33"}


def _paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def _num(x: float) -> str:
    return f"{x:g}"


def to_text(result: LabResult, *, color: bool = False) -> str:
    lines = [f"{result.lab}: {result.title}", f"submission: {result.submission}", ""]
    for c in result.checks:
        mark = _paint(f"{_MARK[c.status]:<5}", _COLOR[c.status], color)
        crit = f"AC{c.criterion} " if c.criterion else ""
        lines.append(f"{mark} {crit}{c.id} ({_num(c.points)}/{_num(c.max_points)})  {c.title}")
        if c.status is not Status.PASSED:
            lines.append(f"      {c.reason}")
            for ev in c.evidence.splitlines()[:12]:
                lines.append(f"        {ev}")
    for problem in result.problems:
        lines.append(_paint(f"note: {problem}", "33", color))
    if result.sandbox_missing:
        lines.append(_paint(f"note: graded in {result.sandbox} isolation, without: {'; '.join(result.sandbox_missing)}",
                            "33", color))
    lines.append("")
    card = scorecard([result])
    if card:
        lines.append("scorecard (1 gap, 3 meets, 5 standout): " + ", ".join(f"{d.dimension.value} {d.level}" for d in card))
    score = f"score: {_num(result.score)}/{_num(result.max_score)} ({result.percent:g}%)"
    lines.append(_paint(score, "1", color))
    return "\n".join(lines) + "\n"

