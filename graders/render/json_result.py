"""The versioned JSON result (``iclab/result/v1``), for programs."""
from __future__ import annotations

import json

from ..results import LabResult, scorecard

SCHEMA_ID = "iclab/result/v1"


def _num(x: float):
    return int(x) if float(x).is_integer() else x


def to_dict(result: LabResult) -> dict:
    return {
        "schema": SCHEMA_ID,
        "lab": result.lab,
        "title": result.title,
        "submission": result.submission,
        "status": result.status.value,
        "score": _num(result.score),
        "max_score": _num(result.max_score),
        "percent": result.percent,
        "tool_version": result.tool_version,
        "graded_at": result.graded_at,
        "duration": result.duration,
        "problems": list(result.problems),
        "sandbox": {"isolation": result.sandbox, "missing": list(result.sandbox_missing)},
        "checks": [
            {
                "id": c.id, "title": c.title, "status": c.status.value, "points": _num(c.points),
                "max_points": _num(c.max_points), "skill": c.skill, "dimension": c.dimension.value,
                "criterion": c.criterion, "reason": c.reason, "evidence": c.evidence, "duration": c.duration,
            }
            for c in result.checks
        ],
        "scorecard": [
            {"dimension": d.dimension.value, "points": _num(d.points), "max_points": _num(d.max_points), "level": d.level}
            for d in scorecard([result])
        ],
    }


def to_json(result: LabResult, *, color: bool = False) -> str:
    return json.dumps(to_dict(result), indent=2, ensure_ascii=False) + "\n"


def from_dict(doc: dict) -> LabResult:
    """Rebuild a LabResult from its ``iclab/result/v1`` JSON (journals, merged shards)."""
    from ..results import CheckResult, Dimension, GradingStatus, Status

    if doc.get("schema") != SCHEMA_ID:
        raise ValueError(f"not an {SCHEMA_ID} document")
    checks = tuple(
        CheckResult(
            id=c["id"], title=c["title"], status=Status(c["status"]), points=float(c["points"]),
            max_points=float(c["max_points"]), skill=c["skill"], dimension=Dimension(c["dimension"]),
            reason=c["reason"], evidence=c["evidence"], criterion=c.get("criterion"), duration=float(c.get("duration", 0)),
        )
        for c in doc["checks"]
    )
    return LabResult(
        lab=doc["lab"], title=doc["title"], submission=doc["submission"], checks=checks,
        score=float(doc["score"]), max_score=float(doc["max_score"]), tool_version=doc["tool_version"],
        graded_at=doc.get("graded_at", ""), duration=float(doc.get("duration", 0)), problems=tuple(doc.get("problems", ())),
        # Journals written before statuses existed hold graded results (refusals were not recorded apart).
        status=GradingStatus(doc.get("status", GradingStatus.GRADED.value)),
        sandbox=str((doc.get("sandbox") or {}).get("isolation", "")),
        sandbox_missing=tuple((doc.get("sandbox") or {}).get("missing", ())),
    )


def review_to_dict(item) -> dict:
    """One rubric item's standing (a ``ReviewedItem``) as JSON: points null until it is final."""
    return {
        "lab": item.lab, "id": item.id, "title": item.title, "criterion": item.criterion,
        "dimension": item.dimension.value, "status": item.status.value,
        "level": None if item.level is None else _num(item.level),
        "points": None if item.points is None else _num(item.points), "max_points": _num(item.max_points),
        "levels": [{"reviewer": who, "level": level} for who, level in item.levels],
        "settled_by": item.settled_by, "comment": item.comment, "answered": item.answered,
        "reviewed_at": item.reviewed_at,
    }


def review_from_dict(doc: dict):
    from ..results import Dimension, ReviewedItem, ReviewStatus

    return ReviewedItem(
        lab=doc["lab"], id=doc["id"], title=doc["title"], dimension=Dimension(doc["dimension"]),
        max_points=float(doc["max_points"]), status=ReviewStatus(doc["status"]),
        points=None if doc.get("points") is None else float(doc["points"]),
        level=None if doc.get("level") is None else float(doc["level"]),
        levels=tuple((x["reviewer"], int(x["level"])) for x in doc.get("levels", ())),
        comment=doc.get("comment", ""), criterion=doc.get("criterion"), answered=bool(doc.get("answered")),
        settled_by=doc.get("settled_by", ""), reviewed_at=doc.get("reviewed_at", ""),
    )
