"""Grade one submission for one lab: run the probes in a sandbox, apply the checks, build the result."""
from __future__ import annotations

import datetime as dt
import time
import traceback
from pathlib import Path

from . import __version__, catalog
from .checks import CheckSpec, Outcome, Run, errored, unanswered
from .errors import UsageError
from .manifest import Lab
from .masking import mask
from .results import CheckResult, GradingStatus, LabResult, Status
from .errors import SubmissionError
from .sandbox import Sandbox, isolation
from .sandbox import folders
from .sandbox.child import copy_submission

__all__ = ["grade", "refused", "missing_files"]

INTERNAL = "internal grader error (our bug, not yours)"


def missing_files(lab: Lab, submission: Path) -> list[str]:
    """The files the lab's learner edits that the submission does not have."""
    return [f for f in lab.files if not (submission / f).is_file()]


def grade(lab: Lab, submission: Path, *, label: str | None = None) -> LabResult:
    """Grade ``submission`` (a folder holding the learner's files) against ``lab``'s hidden checks.

    The grader works on its own copy of the submission, made without following
    links, so nothing a check reads (a static check of the source, say) can
    point outside what the learner handed in.
    """
    submission = Path(submission)
    if not submission.is_dir():
        raise UsageError(f"{submission}: no such folder")
    scratch = folders.new_folder("gr-", 0o700)  # swept by a later run if this one is killed
    try:
        copy = scratch.path / "submission"
        try:
            copy_submission(submission, copy)
        except SubmissionError as exc:
            return refused(lab, label or submission.name, f"submission refused: {exc}".replace(f"{submission}: ", ""))
        return _grade(lab, copy, label or submission.name)
    finally:
        scratch.close()


def _last_use(checks) -> dict[str, int]:
    """For each probe, the index of the last check that reads its evidence (then the evidence can go)."""
    return {spec.probe: i for i, spec in enumerate(checks) if spec.probe is not None}


def _grade(lab: Lab, submission: Path, label: str) -> LabResult:
    grader = catalog.grader_for(lab)
    started = time.monotonic()
    graded_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    problems: list[str] = []
    outcomes: list[tuple[CheckSpec, Outcome, float]] = []

    missing = missing_files(lab, submission)
    if missing:
        reason = f"the submission has no {', '.join(missing)}"
        problems.append(reason)
        outcomes = [(spec, errored(reason), 0.0) for spec in grader.checks]
    else:
        preload = tuple(dict.fromkeys(ep.module for ep in lab.entry_points)) if grader.preload else ()
        budget = lab.limits.grading_budget
        with grader.open_environment() as env, Sandbox(
            submission, lab.limits, rpc=env.rpc, extra_files=grader.files(), preload=preload,
            deadline=started + budget,
        ) as sandbox:
            run = Run(sandbox, grader.data(), env)
            evidence_cache: dict[str, object] = {}
            last_use = _last_use(grader.checks)
            for i, spec in enumerate(grader.checks):
                t0 = time.monotonic()
                if t0 - started > budget:
                    # A submission slow on every call must not hold a batch hostage.
                    outcome = errored(f"not run: the grading used up its {budget:g} s budget")
                    outcomes.append((spec, outcome, 0.0))
                    continue
                outcome = _judge(spec, grader, run, evidence_cache, problems)
                outcomes.append((spec, outcome, time.monotonic() - t0))
                if spec.probe is not None and last_use.get(spec.probe) == i:
                    evidence_cache.pop(spec.probe, None)  # the answers are judged: the grader's memory stays flat

    checks = tuple(_result(spec, outcome, duration) for spec, outcome, duration in outcomes)
    score = round(sum(c.points for c in checks), 2)
    return LabResult(
        lab=lab.id, title=lab.title, submission=label, checks=checks,
        score=score, max_score=round(grader.max_score, 2), tool_version=__version__,
        graded_at=graded_at, duration=round(time.monotonic() - started, 3), problems=tuple(problems),
        sandbox=isolation.detect(), sandbox_missing=isolation.protections(isolation.detect()),
    )


def refused(lab: Lab, label: str, reason: str) -> LabResult:
    """The result of a submission that could not be graded at all (a refused zip, a missing lab folder).

    Its status is ``refused`` and ``reason`` (its first problem) says why, for the learner: every
    check is errored with that reason and the lab scores 0 of its points.
    """
    grader = catalog.grader_for(lab)
    checks = tuple(_result(spec, errored(reason), 0.0) for spec in grader.checks)
    graded_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    return LabResult(lab=lab.id, title=lab.title, submission=label, checks=checks, score=0.0,
                     max_score=round(grader.max_score, 2), tool_version=__version__, graded_at=graded_at,
                     problems=(mask(reason),), status=GradingStatus.REFUSED)


def _judge(spec: CheckSpec, grader, run: Run, cache: dict, problems: list[str]) -> Outcome:
    try:
        if spec.probe is None:
            return spec.func(run.data)
        if spec.probe not in cache:  # one probe feeds several checks: run and scan it once
            evidence = grader.probes[spec.probe](run)
            cache[spec.probe] = (evidence, unanswered(evidence))
        evidence, stuck = cache[spec.probe]
        if stuck is not None:
            return errored(stuck.problem(), _output_tail(stuck.output))
        return spec.func(evidence, run.data)
    except Exception as exc:  # a bug in a check must not take the other checks down
        where = traceback.extract_tb(exc.__traceback__)[-1]
        text = f"{INTERNAL}: {type(exc).__name__}: {exc} at {Path(where.filename).name}:{where.lineno}"
        problems.append(f"{spec.id}: {text}")
        return errored(text)


def _output_tail(output: str) -> str:
    lines = [ln for ln in (output or "").splitlines() if ln.strip()]
    return "\n".join(["last output:"] + lines[-3:]) if lines else ""


def _result(spec: CheckSpec, outcome: Outcome, duration: float) -> CheckResult:
    fraction = outcome.fraction if outcome.fraction is not None else (1.0 if outcome.status is Status.PASSED else 0.0)
    points = 0.0 if outcome.status in (Status.ERRORED, Status.SKIPPED) else round(spec.points * fraction, 2)
    return CheckResult(
        id=spec.id, title=spec.title, status=outcome.status, points=points, max_points=spec.points,
        skill=spec.skill, dimension=spec.dimension, reason=mask(outcome.reason.strip().splitlines()[0] if outcome.reason.strip() else ""),
        evidence=mask(outcome.evidence), criterion=spec.criterion, duration=round(duration, 3),
    )
