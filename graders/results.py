"""The one result model: check results, lab results, and the scorecard view.

Renderers turn these into text, JSON, JUnit XML or Gradescope files; they
never compute. Everything a renderer shows is already here, masked.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = ["Status", "GradingStatus", "Dimension", "CheckResult", "LabResult", "SubmissionResult", "DimensionScore",
           "ReviewStatus", "ReviewedItem", "SCALE_THRESHOLDS", "scorecard"]


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
    # Judged by people, through rubric items (graders/review): no check evidences these.
    COLLABORATION = "Collaboration"
    LEARNING_AGILITY = "Learning agility"


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


class ReviewStatus(str, enum.Enum):
    """Where a rubric item a person scores stands (one item of one lab of one learner).

    unreviewed  nobody has given it a level yet: it counts for nothing, never for 0
    reviewed    a level is final: one reviewer's, the mean of reviewers within one level of each
                other, or the level a moderator settled it at
    disputed    reviewers' levels differ by more than one level and nobody settled it: not final
    refused     the lab was refused before anything was graded: 0 points, like its checks
    """

    UNREVIEWED = "unreviewed"
    REVIEWED = "reviewed"
    DISPUTED = "disputed"
    REFUSED = "refused"


@dataclass(frozen=True)
class ReviewedItem:
    """One rubric item of one lab of one learner, as people scored it (or not yet).

    ``points`` is None unless the item is final (reviewed or refused): an item
    nobody scored is pending, not worth 0. ``levels`` holds each reviewer's
    latest level, ``comment`` their comments, one per line, each with its author.
    """

    lab: str
    id: str
    title: str
    dimension: Dimension
    max_points: float
    status: ReviewStatus
    points: float | None = None
    level: float | None = None  # 0-4; the mean when several reviewers agree within a level
    levels: tuple[tuple[str, int], ...] = ()  # (reviewer, level), each reviewer's latest
    comment: str = ""
    criterion: int | None = None
    answered: bool = False
    settled_by: str = ""  # the moderator whose level replaced the reviewers'
    reviewed_at: str = ""

    @property
    def final(self) -> bool:
        return self.status in (ReviewStatus.REVIEWED, ReviewStatus.REFUSED)


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
    reviews: tuple[ReviewedItem, ...] = ()  # its labs' rubric items, scored by people (or pending)

    @property
    def score(self) -> float:
        """Points from the hidden checks (the automatic part)."""
        return round(sum(r.score for r in self.labs), 2)

    @property
    def max_score(self) -> float:
        return round(sum(r.max_score for r in self.labs), 2)

    @property
    def review_score(self) -> float | None:
        """Points from the rubric items scored so far; None when none is (pending is never 0)."""
        final = [i.points for i in self.reviews if i.final and i.points is not None]
        return round(sum(final), 2) if final else None

    @property
    def review_max_score(self) -> float | None:
        return round(sum(i.max_points for i in self.reviews), 2) if self.reviews else None

    @property
    def reviewed_count(self) -> int:
        return sum(i.final for i in self.reviews)

    @property
    def review_status(self) -> str:
        """'' (nothing to review), unreviewed, partial, reviewed, disputed, or refused (nothing a person can read)."""
        if not self.reviews:
            return ""
        if all(i.status is ReviewStatus.REFUSED for i in self.reviews):
            return ReviewStatus.REFUSED.value
        if any(i.status is ReviewStatus.DISPUTED for i in self.reviews):
            return ReviewStatus.DISPUTED.value
        done = self.reviewed_count
        return "reviewed" if done == len(self.reviews) else ("unreviewed" if done == 0 else "partial")

    @property
    def total_score(self) -> float | None:
        """Automatic and reviewed points together; None while any rubric item is not final."""
        if not self.labs or any(not i.final for i in self.reviews):
            return None
        return round(self.score + (self.review_score or 0.0), 2)

    @property
    def total_max_score(self) -> float:
        return round(self.max_score + (self.review_max_score or 0.0), 2)


@dataclass(frozen=True)
class DimensionScore:
    """A dimension's points (automatic and reviewed together) and level; ``pending_points`` not yet scored."""

    dimension: Dimension
    points: float
    max_points: float
    level: int
    review_points: float = 0.0      # of ``points``, from rubric items people scored
    review_max_points: float = 0.0  # of ``max_points``, from those items
    pending_points: float = 0.0     # rubric items not scored yet: outside the level, never counted as 0

    @property
    def auto_points(self) -> float:
        return round(self.points - self.review_points, 2)

    @property
    def auto_max_points(self) -> float:
        return round(self.max_points - self.review_max_points, 2)


def level_for(share: float) -> int:
    """Map a share of points (0..1) to the blueprint's 1-5 scale."""
    for threshold, level in SCALE_THRESHOLDS:
        if share >= threshold:
            return level
    return 1


def scorecard(results, reviews=()) -> tuple[DimensionScore, ...]:
    """Sum points per scorecard dimension over lab results and, when given, their reviewed rubric items.

    A rubric item not final yet is left out of the level and kept as ``pending_points``;
    a dimension evidenced only by such items has level 0 (not scored yet).
    """
    totals: dict[Dimension, list[float]] = {}
    for result in results:
        for check in result.checks:
            if check.status is Status.SKIPPED:
                continue
            pair = totals.setdefault(check.dimension, [0.0, 0.0, 0.0, 0.0, 0.0])
            pair[0] += check.points
            pair[1] += check.max_points
    for item in reviews:
        row = totals.setdefault(item.dimension, [0.0, 0.0, 0.0, 0.0, 0.0])
        if item.final and item.points is not None:
            row[0] += item.points
            row[1] += item.max_points
            row[2] += item.points
            row[3] += item.max_points
        else:
            row[4] += item.max_points
    out = []
    for dim in Dimension:
        if dim not in totals:
            continue
        got, possible, r_got, r_possible, pending = totals[dim]
        if possible > 0:
            out.append(DimensionScore(dim, round(got, 2), round(possible, 2), level_for(got / possible),
                                      round(r_got, 2), round(r_possible, 2), round(pending, 2)))
        elif pending > 0:
            out.append(DimensionScore(dim, 0.0, 0.0, 0, 0.0, 0.0, round(pending, 2)))
    return tuple(out)
