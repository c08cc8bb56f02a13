"""Terminal rendering for people: one line per check, its evidence under it.

The text shows what the JSON shows: every line of every check's evidence (a
passed check's too, e.g. the mutants mapping-tests' tests exposed), up to
``EVIDENCE_LINES`` a check, then how many more there are.
"""
from __future__ import annotations

import difflib
import itertools
import re

from ..results import LabResult, Status, scorecard

__all__ = ["to_text", "to_screen", "scorecard_line", "side_by_side", "EVIDENCE_LINES", "LEVEL_WORDS"]

_MARK = {Status.PASSED: "PASS", Status.FAILED: "FAIL", Status.ERRORED: "ERROR", Status.SKIPPED: "SKIP"}
_COLOR = {Status.PASSED: "32", Status.FAILED: "31", Status.ERRORED: "35", Status.SKIPPED: "33"}
EVIDENCE_LINES = 40
# The blueprint's 1-5 scale names three of its points; the line says which one each level is.
LEVEL_WORDS = {1: "gap", 3: "meets", 5: "standout"}


def _paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def _num(x: float) -> str:
    return f"{x:g}"


def scorecard_line(result: LabResult) -> str:
    """``Integration fundamentals 3/5 (meets), ...``: each level read on its own, never as a count."""
    card = scorecard([result])
    if not card:
        return ""
    parts = []
    for d in card:
        word = LEVEL_WORDS.get(d.level)
        parts.append(f"{d.dimension.value} {d.level}/5" + (f" ({word})" if word else ""))
    return "scorecard, each dimension on the blueprint's 1-5 scale (1 gap, 3 meets, 5 standout): " + ", ".join(parts)


def _check_lines(c, color: bool, evidence_lines: int) -> list[str]:
    mark = _paint(f"{_MARK[c.status]:<5}", _COLOR[c.status], color)
    crit = f"AC{c.criterion} " if c.criterion else ""
    lines = [f"{mark} {crit}{c.id} ({_num(c.points)}/{_num(c.max_points)})  {c.title}"]
    if c.status is not Status.PASSED:
        lines.append(f"      {c.reason}")
    evidence = c.evidence.splitlines()
    lines += [f"        {ev}" for ev in evidence[:evidence_lines]]
    if len(evidence) > evidence_lines:
        lines.append(f"        ... {len(evidence) - evidence_lines} more evidence lines (--format json has them all)")
    return lines


def to_text(result: LabResult, *, color: bool = False) -> str:
    lines = [f"{result.lab}: {result.title}", f"submission: {result.submission}", ""]
    for c in result.checks:
        lines += _check_lines(c, color, EVIDENCE_LINES)
    for problem in result.problems:
        lines.append(_paint(f"note: {problem}", "33", color))
    if result.sandbox_missing:
        lines.append(_paint(f"note: graded in {result.sandbox} isolation, without: {'; '.join(result.sandbox_missing)}",
                            "33", color))
    lines.append("")
    card = scorecard_line(result)
    if card:
        lines.append(card)
    score = f"score: {_num(result.score)}/{_num(result.max_score)} ({result.percent:g}%)"
    lines.append(_paint(score, "1", color))
    return "\n".join(lines) + "\n"


_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def _clip(line: str, width: int) -> str:
    """``line`` cut to ``width`` visible columns (colour codes take none)."""
    if len(_ESCAPE.sub("", line)) <= width:
        return line
    out, seen, i = [], 0, 0
    while i < len(line) and seen < width - 1:
        m = _ESCAPE.match(line, i)
        if m:
            out.append(m.group(0))
            i = m.end()
            continue
        out.append(line[i])
        seen += 1
        i += 1
    return "".join(out) + ("\x1b[0m" if "\x1b[" in line else "") + "…"


def to_screen(result: LabResult, *, rows: int, columns: int, color: bool = False) -> list[str]:
    """The result fitted to ``rows`` lines of ``columns`` (for `iclab watch`): failures first, passes summed up.

    Every failed check keeps its line and reason; evidence fills what room is left,
    shared out in check order; passed checks become one line naming them.
    """
    failed = [c for c in result.checks if c.status is not Status.PASSED]
    passed = [c for c in result.checks if c.status is Status.PASSED]
    score = _paint(f"score: {_num(result.score)}/{_num(result.max_score)} ({result.percent:g}%)", "1", color)
    head: list[list[str]] = [_check_lines(c, color, 0)[:2] for c in failed]
    fixed = sum(len(h) for h in head) + (1 if passed else 0) + 1 + len(result.problems[:2])
    room = max(0, rows - fixed)
    body: list[str] = []
    for c, lines in zip(failed, head):
        evidence = [f"        {ev}" for ev in c.evidence.splitlines()]
        take = min(len(evidence), room, 6)
        body += lines + evidence[:take]
        room -= take
    if passed:
        names = ", ".join(c.id for c in passed)
        body.append(_paint("PASS ", _COLOR[Status.PASSED], color) + f" {len(passed)} of {len(result.checks)}: {names}")
    for problem in result.problems[:2]:
        body.append(_paint(f"note: {problem}", "33", color))
    # The score line always shows, whatever the checks above it had to give up.
    return [_clip(line, columns) for line in body[: max(0, rows - 1)]] + [_clip(score, columns)]


def _chunks(line: str, width: int) -> list[str]:
    line = line.expandtabs(4)
    return [line[i:i + width] for i in range(0, len(line), width)] or [""]


def side_by_side(left_title: str, left: str, right_title: str, right: str, width: int) -> str:
    """Two texts in two columns, lines aligned (``|`` differs, ``<`` only left, ``>`` only right).

    Long lines wrap inside their column. Below 80 columns the two follow each other instead.
    """
    if width < 80:
        return (f"== {left_title}\n{left.rstrip()}\n\n== {right_title}\n{right.rstrip()}\n")
    col = (width - 3) // 2
    a, b = left.splitlines(), right.splitlines()
    rows: list[tuple[str, str, str]] = [(left_title, " ", right_title), ("-" * col, " ", "-" * col)]
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        for k in range(max(i2 - i1, j2 - j1)):
            mine = a[i1 + k] if i1 + k < i2 else None
            theirs = b[j1 + k] if j1 + k < j2 else None
            mark = " " if tag == "equal" else "|" if mine is not None and theirs is not None else "<" if theirs is None else ">"
            rows.append((mine or "", mark, theirs or ""))
    out = []
    for mine, mark, theirs in rows:
        for n, (l, r) in enumerate(itertools.zip_longest(_chunks(mine, col), _chunks(theirs, col), fillvalue="")):
            out.append(f"{l:<{col}} {mark if n == 0 else ' '} {r}".rstrip())
    return "\n".join(out) + "\n"
