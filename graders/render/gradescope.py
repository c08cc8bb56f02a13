"""Gradescope autograder ``results.json``.

Each test's ``number`` is its acceptance criterion and its place among that
criterion's checks (``3.1``, ``3.2``): Gradescope orders tests by it, and two
tests must never share one.
"""
from __future__ import annotations

import json

from ..results import LabResult, Status


def to_gradescope(result: LabResult, *, color: bool = False) -> str:
    tests = []
    per_criterion: dict[int, int] = {}
    for c in result.checks:
        test = {
            "name": f"{c.id}: {c.title}",
            "score": c.points,
            "max_score": c.max_points,
            "output": c.reason + ("\n\n" + c.evidence if c.evidence else ""),
            "tags": [c.skill, c.dimension.value],
            "visibility": "visible",
        }
        if c.status is not Status.SKIPPED:
            test["status"] = "passed" if c.status is Status.PASSED else "failed"
        if c.criterion:
            per_criterion[c.criterion] = per_criterion.get(c.criterion, 0) + 1
            test["number"] = f"{c.criterion}.{per_criterion[c.criterion]}"
        tests.append(test)
    doc = {
        "score": result.score,
        "execution_time": max(1, round(result.duration)),
        "output": f"{result.lab}: {result.score:g}/{result.max_score:g}" + "".join(f"\nnote: {p}" for p in result.problems),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
