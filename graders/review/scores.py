"""One standing per rubric item, from what one or more reviewers entered.

The rules, in the order they apply to one item of one learner's lab:

1. The lab was refused: the item is ``refused``, 0 points (like the lab's checks).
2. In a folder that holds reviews merged in from reviewers' copies (``OUT/reviews/``), a
   level entered in the folder itself (``iclab review OUT`` after ``iclab merge``) settles
   the item: it replaces the reviewers' levels, whatever they were.
3. Otherwise every reviewer's latest level counts. None: ``unreviewed`` (no points, never
   0). Levels more than one apart: ``disputed`` (not final, no points until settled).
   Otherwise ``reviewed`` at the mean level, worth ``points * level / 4``.

A reviewer's latest entry for an item wins: in their own journal, the later line;
across journals (two copies reviewed under one name), the later time.
"""
from __future__ import annotations

from pathlib import Path

from ..results import ReviewedItem, ReviewStatus
from .journal import Entry, read_reviews, sources
from .rubric import RubricItem, points_for

__all__ = ["DISAGREEMENT", "ReviewBook"]

DISAGREEMENT = 1  # levels further apart than this are a disagreement to settle

Key = tuple[str, str, str]


class ReviewBook:
    """Every reviewer's latest entry per item: this folder's own, and the ones merged in."""

    def __init__(self) -> None:
        self.own: dict[Key, dict[str, Entry]] = {}
        self.imported: dict[Key, dict[str, Entry]] = {}

    @classmethod
    def load(cls, out: Path) -> "ReviewBook":
        book = cls()
        own, imported = sources(out)
        if own is not None:
            for entry in read_reviews(own):
                book.add_own(entry)
        for path in imported:
            for entry in read_reviews(path):
                book.add_imported(entry)
        return book

    def add_own(self, entry: Entry) -> None:
        self.own.setdefault(entry.key, {})[entry.reviewer] = entry

    def add_imported(self, entry: Entry) -> None:
        mine = self.imported.setdefault(entry.key, {})
        seen = mine.get(entry.reviewer)
        if seen is None or entry.at >= seen.at:
            mine[entry.reviewer] = entry

    def reviewers(self) -> list[str]:
        """Everyone who entered anything, in name order."""
        return sorted({r for table in (self.own, self.imported) for per in table.values() for r in per})

    def item(self, learner: str, lab: str, item: RubricItem, *, refused: bool = False,
             answered: bool = False) -> ReviewedItem:
        """The standing of ``item`` for ``learner``'s ``lab``."""
        base = dict(lab=lab, id=item.id, title=item.title, dimension=item.dimension, max_points=item.points,
                    criterion=item.criterion, answered=answered)
        if refused:
            return ReviewedItem(**base, status=ReviewStatus.REFUSED, points=0.0)
        key = (learner, lab, item.id)
        own = self.own.get(key, {})
        imported = self.imported.get(key, {})
        comments = [(e.reviewer, e.comment.strip()) for e in (*imported.values(), *own.values()) if e.comment.strip()]
        comment = "\n".join(f"{who}: {text}" for who, text in sorted(comments))
        every = [*imported.values(), *own.values()]
        stamp = max((e.at for e in every), default="")
        if imported:
            moderation = [e for e in own.values() if e.level is not None]
            scored = {r: e.level for r, e in imported.items() if e.level is not None}
            if moderation:
                final = max(moderation, key=lambda e: e.at)
                return ReviewedItem(**base, status=ReviewStatus.REVIEWED, level=float(final.level),
                                    points=points_for(item.points, final.level), levels=tuple(sorted(scored.items())),
                                    comment=comment, settled_by=final.reviewer, reviewed_at=stamp)
        else:
            scored = {r: e.level for r, e in own.items() if e.level is not None}
        levels = tuple(sorted(scored.items()))
        if not scored:
            return ReviewedItem(**base, status=ReviewStatus.UNREVIEWED, comment=comment, reviewed_at=stamp)
        values = list(scored.values())
        if max(values) - min(values) > DISAGREEMENT:
            return ReviewedItem(**base, status=ReviewStatus.DISPUTED, levels=levels, comment=comment,
                                reviewed_at=stamp)
        level = round(sum(values) / len(values), 2)
        return ReviewedItem(**base, status=ReviewStatus.REVIEWED, level=level, points=points_for(item.points, level),
                            levels=levels, comment=comment, reviewed_at=stamp)
