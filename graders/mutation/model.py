"""What a mutant is: one file of a reference solution with one small change, named stably.

A mutant's id is a hash of the file, the operator and the changed text (not
its line number), so an entry in ``equivalent-mutants.toml`` keeps naming the
same mutant when unrelated lines above it move.
"""
from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass

__all__ = ["Mutant", "make_mutant", "dedupe"]


@dataclass(frozen=True)
class Mutant:
    """The reference with one change in one file."""

    id: str
    file: str           # path of the changed file, relative to the solution folder
    line: int           # first changed line in the reference (1-based)
    operator: str       # the kind of change: "comparison", "sql-join", "suite-deleted-test", ...
    source: str         # the whole mutated file
    diff: str           # a short unified diff against the reference

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def _changed(original: str, mutated: str) -> tuple[int, list[str], list[str]]:
    """First changed line (1-based), and the removed and added lines."""
    a, b = original.splitlines(), mutated.splitlines()
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    first, removed, added = 0, [], []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        first = first or i1 + 1
        removed += a[i1:i2]
        added += b[j1:j2]
    return first or 1, removed, added


def make_mutant(file: str, operator: str, original: str, mutated: str) -> Mutant | None:
    """A mutant of ``file``, or None when the change leaves the text as it was."""
    if mutated == original:
        return None
    line, removed, added = _changed(original, mutated)
    key = "\0".join([file, operator, "\n".join(s.strip() for s in removed), "\n".join(s.strip() for s in added)])
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]
    diff = "".join(difflib.unified_diff(original.splitlines(True), mutated.splitlines(True),
                                        fromfile=f"reference/{file}", tofile=f"mutant/{file}", n=1))
    return Mutant(id=f"{operator}-{digest}", file=file, line=line, operator=operator, source=mutated, diff=diff)


def dedupe(mutants: list[Mutant | None]) -> list[Mutant]:
    """Drop Nones and mutants whose text another one already produced; keep ids unique."""
    seen_source: set[tuple[str, str]] = set()
    seen_ids: dict[str, int] = {}
    out = []
    for m in mutants:
        if m is None or (m.file, m.source) in seen_source:
            continue
        seen_source.add((m.file, m.source))
        n = seen_ids.get(m.id, 0)
        seen_ids[m.id] = n + 1
        if n:  # the same change at another place in the file: number it
            m = Mutant(f"{m.id}.{n + 1}", m.file, m.line, m.operator, m.source, m.diff)
        out.append(m)
    return out
