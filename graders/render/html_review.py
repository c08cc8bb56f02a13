"""The HTML report's part for rubric items people score (``iclab review``): laid out, never computed here.

Imported by html_report.py when a cohort has reviewed items; the counting for
display (levels per item across the cohort) is :func:`summarize_reviews`, pure
and tested on its own. Totals and statuses come from the result model
(``SubmissionResult.review_score``, ``total_score``, ``review_status``).
"""
from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from ..results import ReviewStatus, SubmissionResult
from .html_report import _e, _most_common, _num, _pct, _percent

__all__ = ["ReviewSummary", "summarize_reviews", "review_cells", "review_notes", "review_legend", "review_section"]


@dataclass(frozen=True)
class ReviewSummary:
    """One rubric item across the cohort: how many learners are at each level, and how many are not final."""

    lab: str
    id: str
    title: str
    max_points: float
    at_level: tuple[int, ...]  # learners whose (mean) level rounds to 0, 1, 2, 3, 4
    reviewed: int
    unreviewed: int
    disputed: int
    mean_points: float | None


def summarize_reviews(results: Sequence[SubmissionResult]) -> tuple[ReviewSummary, ...]:
    """Per rubric item (by lab, then first appearance): the spread of levels; refused labs left out."""
    order: dict[tuple[str, str], list] = {}
    for sub in results:
        for item in sub.reviews:
            if item.status is not ReviewStatus.REFUSED:
                order.setdefault((item.lab, item.id), []).append(item)
    out = []
    for (lab, item_id), items in sorted(order.items(), key=lambda kv: kv[0][0]):
        reviewed = [i for i in items if i.status is ReviewStatus.REVIEWED]
        levels = [0] * 5
        for i in reviewed:
            levels[min(4, max(0, int((i.level or 0) + 0.5)))] += 1
        out.append(ReviewSummary(
            lab=lab, id=item_id, title=_most_common(i.title for i in items), max_points=items[0].max_points,
            at_level=tuple(levels), reviewed=len(reviewed),
            unreviewed=sum(i.status is ReviewStatus.UNREVIEWED for i in items),
            disputed=sum(i.status is ReviewStatus.DISPUTED for i in items),
            mean_points=round(statistics.fmean(i.points or 0.0 for i in reviewed), 2) if reviewed else None))
    return tuple(out)


def review_cells(sub: SubmissionResult) -> list[str]:
    """The Automatic and Reviewed cells of a learner's row (the rubric items' points apart from the checks')."""
    if not sub.labs:
        return ['<td class="num auto muted cell-inline" data-label="automatic">&mdash;</td>',
                '<td class="num reviewed muted cell-inline" data-label="reviewed">&mdash;</td>']
    auto = (f'<td class="num auto cell-inline" data-label="automatic" data-points="{sub.score:g}">'
            f'<span class="nowrap">{_num(sub.score)}/{_num(sub.max_score)}</span><br> '
            f'<span class="small muted">{_pct(_percent(sub.score, sub.max_score))}</span></td>')
    if not sub.reviews:
        return [auto, '<td class="num reviewed muted cell-inline" data-label="reviewed">&mdash;</td>']
    status = sub.review_status
    words = {"reviewed": "reviewed", "disputed": "disputed", "unreviewed": "not reviewed", "refused": "refused",
             "partial": f"{sub.reviewed_count} of {len(sub.reviews)} reviewed"}[status]
    got = "&mdash;" if sub.review_score is None else _num(sub.review_score)
    points = f' data-points="{sub.review_score:g}"' if sub.review_score is not None else ""
    return [auto, f'<td class="num reviewed cell-inline" data-label="reviewed" data-review-status="{status}"{points}>'
                  f'<span class="nowrap">{got}/{_num(sub.review_max_score or 0)}</span><br> '
                  f'<span class="review-status review-{status}">{words}</span></td>']


def _reviews_html(summaries: Sequence[ReviewSummary]) -> str:
    out = ['<table id="review-items" class="stack"><thead><tr><th>Lab</th><th>Rubric item</th>'
           + "".join(f'<th class="num">Level {n}</th>' for n in range(5))
           + '<th class="num">Mean</th><th class="num">Not reviewed</th><th class="num">Disputed</th></tr></thead><tbody>']
    for r in summaries:
        levels = "".join(f'<td class="num cell-inline" data-label="level {n}" data-level="{n}">{count}</td>'
                         for n, count in enumerate(r.at_level))
        mean = "&mdash;" if r.mean_points is None else f"{_num(r.mean_points)}/{_num(r.max_points)}"
        out.append(f'<tr data-lab="{_e(r.lab)}" data-item="{_e(r.id)}"><td><code>{_e(r.lab)}</code></td>'
                   f'<td>{_e(r.title)}</td>{levels}<td class="num cell-inline" data-label="mean">{mean}</td>'
                   f'<td class="num cell-inline unreviewed" data-label="not reviewed">{r.unreviewed}</td>'
                   f'<td class="num cell-inline disputed" data-label="disputed">{r.disputed}</td></tr>')
    out.append("</tbody></table>")
    return "".join(out)


def review_notes(sub: SubmissionResult) -> list[str]:
    """A learner's rubric items short of full marks, pending or disputed, each with its reviewers' comments."""
    items = []
    for i in sub.reviews:
        if i.status is ReviewStatus.REVIEWED and (i.points or 0) >= i.max_points:
            continue
        if i.status is ReviewStatus.UNREVIEWED:
            said = "not reviewed yet"
        elif i.status is ReviewStatus.DISPUTED:
            said = "reviewers disagree (" + ", ".join(f"{who} {lvl}" for who, lvl in i.levels) + ")"
        elif i.status is ReviewStatus.REFUSED:
            continue  # the refusal is listed with the lab
        else:
            said = f"level {i.level:g} of 4 (&minus;{_num(round(i.max_points - (i.points or 0), 2))} of {_num(i.max_points)})"
        comment = f': <span class="reason">{_e(i.comment)}</span>' if i.comment else ""
        items.append(f'<li data-lab="{_e(i.lab)}" data-item="{_e(i.id)}" data-review="{i.status.value}"><code>{_e(i.lab)}</code> '
                     f'{_e(i.title)} <span class="small muted">({"" if i.status is not ReviewStatus.REVIEWED else "reviewed, "}'
                     f'{said})</span>{comment}</li>')
    return items


def review_legend(results: Sequence[SubmissionResult]) -> str:
    if not any(s.reviews for s in results):
        return ""
    return ('<p class="legend small" id="review-legend"><strong>Automatic</strong> is what the hidden checks scored; '
            "<strong>Reviewed</strong> what people scored on the rubric items (<code>iclab review</code>); "
            "<strong>Total</strong> both, shown once every rubric item is scored: a learner not fully reviewed is "
            "pending, never counted as 0. A scorecard level counts reviewed points; &hellip; marks a dimension "
            "evidenced only by items not reviewed yet.</p>")


def review_section(results: Sequence[SubmissionResult]) -> str:
    summaries = summarize_reviews(results)
    if not summaries:
        return ""
    reviewed = sum(1 for s in results if s.reviews and s.review_status == "reviewed")
    waiting = sum(1 for s in results if s.reviews and s.review_status != "refused")  # refused: nothing to read
    return ('<section id="reviewed-items"><h2>Rubric items scored by people</h2>'
            f'<p class="muted small" id="review-progress">{reviewed} of {waiting} learners fully reviewed. '
            "Learners per level (a mean of two reviewers rounds to the nearest level).</p>"
            + _reviews_html(summaries) + "</section>\n")
