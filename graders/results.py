"""The one result model: check results, lab results, and the scorecard view.

Renderers turn these into text, JSON, JUnit XML or Gradescope files; they
never compute. Everything a renderer shows is already here, masked.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = ["Status", "GradingStatus", "Dimension", "CheckResult", "LabResult", "SubmissionResult", "DimensionScore", "SCALE_THRESHOLDS", "scorecard"]


class Status(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    ERRORED = "errored"
    SKIPPED = "skipped"


class GradingStatus(str, enum.Enum):
    """What became of a submission (or one lab of it): every discovered submission has one.

    graded      the hidden checks ran (whatever the score)
    refused     the submission was refused before any check ran (an unsafe or damaged zip): 0 points
    ungradable  nothing in it can be graded (an empty folder, no folder named after a lab, an unknown lab)
    """

    GRADED = "graded"
    REFUSED = "refused"
    UNGRADABLE = "ungradable"


class Dimension(str, enum.Enum):
    """The role blueprint's scorecard dimensions (section 19) that labs can evidence."""

    INTEGRATION = "Integration fundamentals"
    API_DATA = "API & data skills"
    TROUBLESHOOTING = "Troubleshooting"
    SDLC = "SDLC/tooling hygiene"
    SECURITY = "Security awareness"
    COMMUNICATION = "Communication"


# Share of a dimension's points earned -> the blueprint's 1-5 scale (1 = gap, 3 = meets, 5 = standout).
SCALE_THRESHOLDS: tuple[tuple[float, int], ...] = ((0.95, 5), (0.80, 4), (0.60, 3), (0.35, 2), (0.0, 1))


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one hidden check."""

    id: str
    title: str
    status: Status
    points: float
    max_points: float
    skill: str
    dimension: Dimension
    reason: str
    evidence: str = ""
    criterion: int | None = None
    duration: float = 0.0


@dataclass(frozen=True)
class LabResult:
    """One lab graded for one submission."""

    lab: str
    title: str
    submission: str
    checks: tuple[CheckResult, ...]
    score: float
    max_score: float
    tool_version: str
    graded_at: str = ""
    duration: float = 0.0
    problems: tuple[str, ...] = field(default_factory=tuple)
    status: GradingStatus = GradingStatus.GRADED
    sandbox: str = ""                          # the isolation that ran the submission: namespace | process
    sandbox_missing: tuple[str, ...] = ()      # protections that isolation lacked on the grading machine

    @property
    def reason(self) -> str:
        """Why this lab was not graded (empty when it was): the refusal, for the learner."""
        return self.problems[0] if self.status is not GradingStatus.GRADED and self.problems else ""

    @property
    def percent(self) -> float:
        return round(100.0 * self.score / self.max_score, 1) if self.max_score else 0.0

    def failed(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.status in (Status.FAILED, Status.ERRORED))


@dataclass(frozen=True)
class SubmissionResult:
    """One learner's submission: the labs it holds, each graded, or why none could be.

    ``status`` and ``reason`` are the submission's as a whole: ``graded`` when
    any lab was graded, ``refused`` when every lab (or the file itself) was
    refused, ``ungradable`` when no lab could be found in it (the gradebook
    decides it, once); ``source`` is the file or folder name it came from.
    """

    submission: str
    labs: tuple[LabResult, ...]
    problems: tuple[str, ...] = ()
    status: GradingStatus = GradingStatus.GRADED
    reason: str = ""
    source: str = ""

    @property
    def score(self) -> float:
        return round(sum(r.score for r in self.labs), 2)

    @property
    def max_score(self) -> float:
        return round(sum(r.max_score for r in self.labs), 2)


@dataclass(frozen=True)
class DimensionScore:
    dimension: Dimension
    points: float
    max_points: float
    level: int


def level_for(share: float) -> int:
    """Map a share of points (0..1) to the blueprint's 1-5 scale."""
    for threshold, level in SCALE_THRESHOLDS:
        if share >= threshold:
            return level
    return 1


def scorecard(results) -> tuple[DimensionScore, ...]:
    """Sum points per scorecard dimension over one or more lab results."""
    totals: dict[Dimension, list[float]] = {}
    for result in results:
        for check in result.checks:
            if check.status is Status.SKIPPED:
                continue
            pair = totals.setdefault(check.dimension, [0.0, 0.0])
            pair[0] += check.points
            pair[1] += check.max_points
    out = []
    for dim in Dimension:
        if dim in totals and totals[dim][1] > 0:
            got, possible = totals[dim]
            out.append(DimensionScore(dim, round(got, 2), round(possible, 2), level_for(got / possible)))
    return tuple(out)
