"""A batch output as the review page sees it: who to review, in what order, and all of one learner.

The learners to review are those with a graded lab that has rubric items.
They come in an order that does not reveal their names (by a hash of the
name, so two reviewers' copies of one cohort number the learners alike:
"Learner 7" is the same person for both), labelled "Learner N". While names
are hidden, a learner's name and file name are also blanked out of what the
page shows of them (check reasons, evidence, problems, answers).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..batch.journal import read_entries
from ..errors import UsageError
from ..render.json_result import from_dict
from ..results import GradingStatus, LabResult, ReviewedItem
from .rubric import Answer, RubricItem, item_from_dict
from .scores import ReviewBook

__all__ = ["Unit", "Learner", "Cohort", "load_cohort"]


@dataclass(frozen=True)
class Unit:
    """One lab of one learner: the automatic result, the rubric items and the learner's answers."""

    result: LabResult
    items: tuple[tuple[RubricItem, Answer], ...]

    @property
    def refused(self) -> bool:
        return self.result.status is not GradingStatus.GRADED


@dataclass
class Learner:
    name: str
    source: str
    number: int = 0  # 1-based, in the anonymous order
    units: list[Unit] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"Learner {self.number}"


def _order_key(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class Cohort:
    """The learners to review, in anonymous order; reviews are looked up in a ReviewBook."""

    out: Path
    learners: list[Learner]
    labs_with_rubric: tuple[str, ...]

    def standing(self, book: ReviewBook, learner: Learner) -> list[list[ReviewedItem]]:
        """Each unit's items as they stand now (per unit, in rubric order)."""
        return [[book.item(learner.name, u.result.lab, item, refused=u.refused, answered=answer.answered)
                 for item, answer in u.items] for u in learner.units]

    def reviewed(self, book: ReviewBook, learner: Learner) -> bool:
        """Every rubric item of the learner is final (scored, settled, or refused)."""
        return all(i.final for items in self.standing(book, learner) for i in items)

    def progress(self, book: ReviewBook) -> tuple[int, int]:
        return sum(self.reviewed(book, x) for x in self.learners), len(self.learners)

    def scrub(self, learner: Learner, text: str) -> str:
        """``text`` with the learner's name and file name replaced by their label (names hidden)."""
        names = {learner.name, learner.source, Path(learner.source).stem}
        for name in sorted((n for n in names if len(n.strip()) >= 3), key=len, reverse=True):
            text = re.sub(r"(?<!\w)" + re.escape(name) + r"(?!\w)", learner.label, text, flags=re.IGNORECASE)
        return text


def load_cohort(out: Path) -> Cohort:
    """The review view of the batch output ``out`` (its journal.jsonl); UsageError when it is not one."""
    out = Path(out)
    journal = out / "journal.jsonl"
    if not journal.is_file():
        raise UsageError(f"{out}: no journal.jsonl here; review a folder written by `iclab batch` or `iclab merge`")
    by_name: dict[str, Learner] = {}
    seen: set[str] = set()
    labs: set[str] = set()
    for entry in read_entries(journal):
        if entry["unit"] in seen or "result" not in entry or not entry.get("rubric"):
            seen.add(entry["unit"])
            continue
        seen.add(entry["unit"])
        try:
            result = from_dict(entry["result"])
        except (KeyError, TypeError, ValueError):
            continue
        items = []
        for doc in entry["rubric"]:
            try:
                answer = doc.get("answer") if isinstance(doc.get("answer"), dict) else {}
                items.append((item_from_dict(doc), Answer(str(answer.get("text") or ""), answer.get("answered") is True,
                                                          str(answer.get("note") or ""))))
            except (KeyError, TypeError, ValueError, AttributeError):
                continue
        if not items:
            continue
        learner = by_name.setdefault(entry["submission"], Learner(entry["submission"], str(entry.get("source") or "")))
        learner.units.append(Unit(result, tuple(items)))
        labs.add(result.lab)
    # A learner all of whose labs were refused has nothing a person can read: nothing to review.
    learners = [x for x in by_name.values() if any(not u.refused for u in x.units)]
    learners.sort(key=lambda x: _order_key(x.name))
    for n, learner in enumerate(learners, 1):
        learner.number = n
        learner.units.sort(key=lambda u: u.result.lab)
    return Cohort(out, learners, tuple(sorted(labs)))
