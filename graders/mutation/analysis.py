"""Mutation analysis of a lab: grade every mutant of its reference, count what the hidden checks kill.

A mutant is killed when its grading loses any point (a failed or errored
check). The mutation score is killed / (generated - reviewed equivalent).
Gradings run in parallel on threads, as a batch does: the work happens in the
sandboxed children, so the grader's threads mostly wait.
"""
from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .. import catalog, engine
from ..errors import UsageError
from ..manifest import Lab
from ..results import Status
from .equivalents import FILE_NAME, Equivalent, load_equivalents
from .model import Mutant

__all__ = ["MutantResult", "MutationReport", "lab_mutants", "analyse", "MIN_SCORE"]

MIN_SCORE = 90.0


@dataclass(frozen=True)
class MutantResult:
    mutant: Mutant
    lost: tuple[str, ...]          # checks that lost points: who killed it
    score: float
    problems: tuple[str, ...]      # internal errors while grading it (our bug)
    equivalent: Equivalent | None  # the reviewed judgement, when listed

    @property
    def killed(self) -> bool:
        return bool(self.lost)


@dataclass(frozen=True)
class MutationReport:
    lab: str
    results: tuple[MutantResult, ...]
    unsupported: tuple[str, ...]   # deliverables no operator applies to
    stale: tuple[Equivalent, ...]  # listed as equivalent, but no such mutant any more
    elapsed: float
    sample: int = 1

    @property
    def generated(self) -> int:
        return len(self.results)

    @property
    def killed(self) -> int:
        return sum(1 for r in self.results if r.killed)

    @property
    def equivalent(self) -> int:
        return sum(1 for r in self.results if r.equivalent is not None and not r.killed)

    @property
    def survivors(self) -> tuple[MutantResult, ...]:
        return tuple(r for r in self.results if not r.killed and r.equivalent is None)

    @property
    def killed_but_listed(self) -> tuple[MutantResult, ...]:
        """Listed as equivalent, yet the checks kill it: the judgement (or the list) is wrong."""
        return tuple(r for r in self.results if r.killed and r.equivalent is not None)

    @property
    def errors(self) -> tuple[MutantResult, ...]:
        return tuple(r for r in self.results if r.problems)

    @property
    def score(self) -> float:
        judged = self.generated - self.equivalent
        return round(100.0 * self.killed / judged, 1) if judged else 100.0

    @property
    def checks_per_kill(self) -> float:
        """Mean number of checks a killed mutant loses: near 1 when one mistake is charged once."""
        killed = [r for r in self.results if r.killed]
        return round(sum(len(r.lost) for r in killed) / len(killed), 2) if killed else 0.0

    def ok(self, min_score: float = MIN_SCORE) -> bool:
        return (self.score >= min_score and not self.stale and not self.killed_but_listed
                and not self.errors and self.generated > 0)


def _mutants_of(rel: str, text: str) -> list[Mutant] | None:
    if rel.endswith(".py"):
        try:
            from .python_ops import python_mutants
            from .suite_ops import is_test_file, suite_mutants
        except ImportError as exc:  # libcst and mutmut come with the author extra
            raise UsageError(f"mutation analysis of Python needs mutmut ({exc.name} is missing): "
                             "pip install 'iclab[author]'") from None
        return suite_mutants(rel, text) if is_test_file(rel) else python_mutants(rel, text)
    if rel.endswith(".sql"):
        from .sql_ops import sql_mutants

        return sql_mutants(rel, text)
    if rel.endswith(".toml"):
        from .findings_ops import findings_mutants

        return findings_mutants(rel, text)
    return None


def lab_mutants(lab: Lab, *, sample: int = 1) -> tuple[list[Mutant], list[str]]:
    """Every mutant of the lab's reference (or every ``sample``-th, chosen by a stable hash of its id)."""
    reference = catalog.reference(lab)
    mutants: list[Mutant] = []
    unsupported = []
    for rel in lab.files:
        path = reference / rel
        if not path.is_file():
            continue
        made = _mutants_of(rel, path.read_text(encoding="utf-8"))
        if made is None:
            unsupported.append(rel)
        else:
            mutants.extend(made)
    if sample > 1:
        mutants = [m for m in mutants
                   if int.from_bytes(hashlib.sha256(m.id.encode()).digest()[:4], "big") % sample == 0]
    return mutants, unsupported


def _grade_mutant(lab: Lab, reference: Path, mutant: Mutant, scratch: Path) -> tuple[tuple[str, ...], float, tuple[str, ...]]:
    folder = Path(tempfile.mkdtemp(prefix="m-", dir=scratch))
    try:
        shutil.copytree(reference, folder, dirs_exist_ok=True)
        (folder / mutant.file).write_text(mutant.source, encoding="utf-8")
        result = engine.grade(lab, folder, label=mutant.id)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    lost = tuple(c.id for c in result.checks if c.status is not Status.PASSED or c.points < c.max_points)
    internal = tuple(p for p in result.problems if engine.INTERNAL in p)
    return lost, result.score, internal


def analyse(lab_id: str, *, jobs: int | None = None, sample: int = 1,
            on_progress: Callable[[int, int], None] | None = None) -> MutationReport:
    """Grade every mutant of ``lab_id``'s reference against its hidden checks."""
    from ..batch.runner import default_jobs

    lab = catalog.get_lab(lab_id)
    reference = catalog.reference(lab)
    listed = load_equivalents(lab.solutions / FILE_NAME)
    baseline = engine.grade(lab, reference, label="reference")
    if baseline.score < baseline.max_score:
        raise UsageError(f"{lab.id}: the reference scores {baseline.score:g}/{baseline.max_score:g}; "
                         "mutation analysis needs a reference at full marks")
    mutants, unsupported = lab_mutants(lab, sample=sample)
    started = time.monotonic()
    results: list[MutantResult | None] = [None] * len(mutants)
    done = 0
    with tempfile.TemporaryDirectory(prefix="iclab-mutants-") as tmp, \
            ThreadPoolExecutor(max_workers=jobs or default_jobs(), thread_name_prefix="mutant") as pool:
        futures = {pool.submit(_grade_mutant, lab, reference, m, Path(tmp)): i for i, m in enumerate(mutants)}
        for future in as_completed(futures):
            i = futures[future]
            lost, score, problems = future.result()
            results[i] = MutantResult(mutants[i], lost, score, problems, listed.get(mutants[i].id))
            done += 1
            if on_progress:
                on_progress(done, len(mutants))
    ids = {m.id for m in mutants}
    stale = tuple(e for e in listed.values() if e.id not in ids) if sample == 1 else ()
    return MutationReport(lab.id, tuple(r for r in results if r is not None), tuple(unsupported), stale,
                          round(time.monotonic() - started, 1), sample)
