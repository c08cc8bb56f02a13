"""The trainee's loop: check a workspace, remember the attempt, and show the reference once it is solved.

``check_workspace`` runs the visible tests (a child process) while the grader
grades the files `iclab submit` would hand in (the lab's files and the helper
modules beside them, nothing else of the workspace), so a check costs about the
longer of the two rather than their sum and scores what a submission would;
then it records the attempt in the learner's state. ``solution``
says what is left, or, once the lab has scored full marks, hands back the
reference files beside the learner's.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import catalog, engine
from .errors import SubmissionError
from .manifest import Lab
from .packing import lab_submission_files
from .results import LabResult
from .visible_tests import TestRun, VisibleRun
from .workspace import State, source_tree

__all__ = ["CheckRun", "check_workspace", "failing_labels", "Solution", "solution", "SOLUTION_FOLDER"]

# Inside the workspace, hidden: pytest does not collect dot folders and `iclab submit` packs only the lab's files.
SOLUTION_FOLDER = ".solution"


@dataclass(frozen=True)
class CheckRun:
    """One check of a workspace: the visible tests (None when skipped), the grader's result, and notes."""

    tests: TestRun | None
    result: LabResult
    notes: tuple[str, ...] = ()


def failing_labels(result: LabResult) -> list[str]:
    """``AC3 created-at-utc`` for each check the result failed."""
    return [f"AC{c.criterion} {c.id}" if c.criterion else c.id for c in result.failed()]


def _as_submitted(lab: Lab, root: Path, dest: Path) -> tuple[Path, list[str]]:
    """A copy of what `iclab submit` would pack from ``root``, and notes on the Python files it leaves out."""
    try:
        chosen = lab_submission_files(lab, root)
    except SubmissionError:
        return root, []  # a file missing or linked: the grader says so, on the workspace as it is
    for rel in chosen:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / rel, dest / rel)
    left = [p.relative_to(root).as_posix() for p in source_tree(root)
            if p.suffix == ".py" and not p.name.startswith("test_") and p.name != "conftest.py"
            and p.relative_to(root).parts[0] != ".solution"]
    left = [rel for rel in left if rel not in chosen and not (lab.starter / rel).is_file()]
    beside = ", ".join(lab.files)
    return dest, [f"{rel} is not handed in by `iclab submit` (only .py files beside {beside} are), so the grader "
                  "did not see it" for rel in left[:3]]


def check_workspace(lab: Lab, root: Path, *, tests: bool = True, record: bool = True) -> CheckRun:
    """Visible tests on the workspace at ``root`` and hidden checks on what a submission of it would hold.

    The two run side by side; the attempt is recorded in the learner's state.
    """
    visible = VisibleRun(root, lab) if tests else None
    try:
        with tempfile.TemporaryDirectory(prefix="iclab-check-") as tmp:
            folder, notes = _as_submitted(lab, root, Path(tmp))
            result = engine.grade(lab, folder, label=str(root))
        run = visible.result() if visible is not None else None
    finally:
        if visible is not None:
            visible.close()
    if record:
        State.load().record_attempt(lab.id, result.score, result.max_score, failing_labels(result))
    return CheckRun(run, result, tuple(notes))


@dataclass(frozen=True)
class Solution:
    """What `iclab solution` shows: the reference beside the learner's files, or what is left first."""

    lab: Lab
    solved: bool
    best: float | None
    max_score: float | None
    attempts: int
    failing: tuple[str, ...]
    workspace: Path | None
    pairs: tuple[tuple[str, str | None, str], ...] = ()  # (file, the learner's text or None, the reference's)
    written: Path | None = None


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def solution(lab: Lab, workspace: Path | None = None) -> Solution:
    """The reference solution once ``lab`` has scored full marks; before that, the best score and what fails.

    Once solved, the reference files are also written to ``<workspace>/.solution/`` to open beside one's own.
    """
    state = State.load()
    entry = state.lab(lab.id)
    if workspace is None and isinstance(entry.get("workspace"), str):
        workspace = Path(entry["workspace"])
    if workspace is not None and not workspace.is_dir():
        workspace = None
    attempts = entry.get("attempts") if isinstance(entry.get("attempts"), int) else 0
    best = entry.get("best") if isinstance(entry.get("best"), (int, float)) else None
    top = entry.get("max") if isinstance(entry.get("max"), (int, float)) else None
    failing = tuple(str(f) for f in entry.get("failing") or () if isinstance(f, str))
    if not state.solved(lab.id):
        return Solution(lab, False, best, top, attempts, failing, workspace)
    reference = catalog.reference(lab)
    pairs = []
    written = None
    for path in source_tree(reference):
        rel = path.relative_to(reference).as_posix()
        mine = _text(workspace / rel) if workspace is not None else None
        pairs.append((rel, mine, _text(path) or ""))
    if workspace is not None:
        written = workspace / SOLUTION_FOLDER
        for path in source_tree(reference):
            target = written / path.relative_to(reference)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    return Solution(lab, True, best, top, attempts, failing, workspace, tuple(pairs), written)
