"""The instructor HTML report: one self-contained file over a gradebook of submissions.

Inline CSS, inline SVG charts, no JavaScript and no external URL, so it can be
mailed, archived as a CI artifact or printed. It shows, per lab, the score
distribution and the checks most often failed with their (already masked)
reasons; per learner the status (graded, refused, ungradable, with the
reason), the per-lab scores, the total and the role blueprint's 1-5
scorecard with its thresholds written down; and each learner's lost checks.
Where labs have rubric items people score (``iclab review``), the learners
table shows the automatic points, the reviewed points and both together
(a learner not fully reviewed has no total yet: pending is never 0), the
scorecard counts reviewed points and marks what is pending, and a section
lists each rubric item's levels across the cohort.

It fits a laptop (1400 px) and a phone (390 px) without sideways scrolling:
on narrow screens every table becomes a stack of cards, each cell labelled.

Renderers never compute verdicts. The counting needed for display (histogram
bins, mean and median, failure tallies) lives in the small pure functions
below, :func:`score_histogram`, :func:`summarize_labs`, :func:`lost_checks` and
:func:`scale_legend`, each tested on its own; the HTML functions only lay out
what they return. All untrusted text (submission names, titles, reasons,
problems) goes through :func:`_e`. The output is byte-identical for the same
results (in any order) and the same ``generated_at``.
"""
from __future__ import annotations

import html
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..results import SCALE_THRESHOLDS, Dimension, GradingStatus, LabResult, Status, SubmissionResult, scorecard

__all__ = [
    "BAR_COLOUR",
    "BINS",
    "DIMENSION_ABBREVIATIONS",
    "FailedCheck",
    "LabSummary",
    "LostCheck",
    "lost_checks",
    "render_html_report",
    "scale_legend",
    "score_histogram",
    "summarize_labs",
]

BINS = 10
"""Histogram bins of 10 percentage points: [0,10), [10,20), ..., [90,100]."""

BAR_COLOUR = "#2f6db5"
"""Fill of the histogram bars (the screenshot test looks for this colour)."""

# The blueprint's words for the scale's anchors (section 19: 1 = gap, 3 = meets, 5 = standout).
_LEVEL_WORDS = {1: "gap", 3: "meets", 5: "standout"}

DIMENSION_ABBREVIATIONS = {
    Dimension.INTEGRATION: "INT", Dimension.API_DATA: "API", Dimension.TROUBLESHOOTING: "TRB",
    Dimension.SDLC: "SDLC", Dimension.SECURITY: "SEC", Dimension.COMMUNICATION: "COM",
    Dimension.COLLABORATION: "COL", Dimension.LEARNING_AGILITY: "LRN",
}
"""Short names of the scorecard dimensions in the learners table (spelled out in the legend)."""

_TOP_CHECKS = 10  # most-failed checks shown per lab
_TOP_REASONS = 3  # most common reasons shown per check
_MAX_NOTES = 3  # problems shown per learner before "+N more"


# --------------------------------------------------------------------------- aggregation (pure)


@dataclass(frozen=True)
class FailedCheck:
    """One check's failures across the submissions of one lab."""

    id: str
    title: str
    failed: int
    errored: int
    graded: int
    reasons: tuple[tuple[str, int], ...]  # most common first, at most _TOP_REASONS
    other_reasons: int = 0  # distinct reasons not listed

    @property
    def total(self) -> int:
        return self.failed + self.errored


@dataclass(frozen=True)
class LabSummary:
    """What the report shows about one lab: its distribution and where learners stumble."""

    lab: str
    title: str
    graded: int
    mean: float
    median: float
    low: float
    high: float
    full_marks: int
    histogram: tuple[int, ...]
    failed_checks: tuple[FailedCheck, ...]
    more_failed_checks: int = 0  # failing checks beyond the ones listed


def score_histogram(percents: Iterable[float], bins: int = BINS) -> tuple[int, ...]:
    """Count percent scores into equal bins over 0..100; 100 falls in the last bin, out-of-range values are clamped."""
    counts = [0] * bins
    width = 100.0 / bins
    for p in percents:
        p = min(max(float(p), 0.0), 100.0)
        counts[min(int(p // width), bins - 1)] += 1
    return tuple(counts)


def _most_common(values: Iterable[str]) -> str:
    """The most frequent value, ties broken alphabetically, so input order never matters."""
    counts = Counter(values)
    return min(counts, key=lambda v: (-counts[v], v)) if counts else ""


def _failed_checks(labs: Sequence[LabResult]) -> list[FailedCheck]:
    titles: dict[str, list[str]] = {}
    tally: dict[str, Counter[Status]] = {}
    reasons: dict[str, Counter[str]] = {}
    for result in labs:
        for check in result.checks:
            if check.status not in (Status.FAILED, Status.ERRORED):
                continue
            titles.setdefault(check.id, []).append(check.title)
            tally.setdefault(check.id, Counter())[check.status] += 1
            reasons.setdefault(check.id, Counter())[check.reason.strip() or "(no reason given)"] += 1
    out = []
    for check_id, counts in tally.items():
        ranked = sorted(reasons[check_id].items(), key=lambda kv: (-kv[1], kv[0]))
        out.append(FailedCheck(
            id=check_id,
            title=_most_common(titles[check_id]),
            failed=counts[Status.FAILED],
            errored=counts[Status.ERRORED],
            graded=len(labs),
            reasons=tuple(ranked[:_TOP_REASONS]),
            other_reasons=max(0, len(ranked) - _TOP_REASONS),
        ))
    out.sort(key=lambda f: (-f.total, f.id))
    return out


def summarize_labs(results: Sequence[SubmissionResult], *, top_checks: int = _TOP_CHECKS) -> tuple[LabSummary, ...]:
    """Per lab (sorted by id): graded count, mean/median/min/max percent, histogram and most-failed checks."""
    by_lab: dict[str, list[LabResult]] = {}
    for submission in results:
        for lab in _unique_labs(submission):
            by_lab.setdefault(lab.lab, []).append(lab)
    out = []
    for lab_id in sorted(by_lab):
        labs = by_lab[lab_id]
        percents = [r.percent for r in labs]
        failing = _failed_checks(labs)
        out.append(LabSummary(
            lab=lab_id,
            title=_most_common(r.title for r in labs),
            graded=len(labs),
            mean=round(statistics.fmean(percents), 1),
            median=round(statistics.median(percents), 1),
            low=min(percents),
            high=max(percents),
            full_marks=sum(1 for r in labs if r.max_score and r.score >= r.max_score),
            histogram=score_histogram(percents),
            failed_checks=tuple(failing[:top_checks]),
            more_failed_checks=max(0, len(failing) - top_checks),
        ))
    return tuple(out)


@dataclass(frozen=True)
class LostCheck:
    """A check one learner lost (failed or errored), or one lab refused whole."""

    lab: str
    check_id: str  # empty for a refused lab
    title: str
    lost_points: float
    max_points: float
    reason: str


def lost_checks(submission: SubmissionResult) -> tuple[LostCheck, ...]:
    """What a learner lost, lab by lab: each failed or errored check; a refused lab once, with its reason."""
    out = []
    for lab in _unique_labs(submission):
        if lab.status is not GradingStatus.GRADED:
            out.append(LostCheck(lab.lab, "", lab.title, lab.max_score, lab.max_score, lab.reason))
            continue
        for check in lab.failed():
            out.append(LostCheck(lab.lab, check.id, check.title, round(check.max_points - check.points, 2),
                                 check.max_points, check.reason.strip() or "(no reason given)"))
    return tuple(out)


def scale_legend() -> tuple[tuple[str, int, str], ...]:
    """The 1-5 scale as (share band, level, blueprint word), straight from SCALE_THRESHOLDS."""
    out = []
    previous: float | None = None
    for threshold, level in SCALE_THRESHOLDS:
        if threshold > 0:
            band = f"{threshold * 100:g}%+"
        else:
            band = f"below {previous * 100:g}%" if previous is not None else "any share"
        out.append((band, level, _LEVEL_WORDS.get(level, "")))
        previous = threshold
    return tuple(out)


def _unique_labs(submission: SubmissionResult) -> list[LabResult]:
    """A submission's lab results, one per lab id (the first wins), sorted by lab id."""
    seen: dict[str, LabResult] = {}
    for lab in submission.labs:
        seen.setdefault(lab.lab, lab)
    return [seen[k] for k in sorted(seen)]


def _percent(score: float, max_score: float) -> float:
    return round(100.0 * score / max_score, 1) if max_score else 0.0


def _ordered(results: Sequence[SubmissionResult]) -> list[SubmissionResult]:
    # Batch results arrive in completion order; sorting makes the report independent of it.
    return sorted(results, key=lambda s: (s.submission, s.score, s.max_score, tuple(r.lab for r in s.labs)))


# --------------------------------------------------------------------------- HTML helpers

# C0/C1 controls (bar tab and newline) and lone surrogates are not valid HTML text; show them as U+FFFD.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _e(text: object) -> str:
    """Escape untrusted text for HTML text and attribute values."""
    return html.escape(_BAD_CHARS.sub("\ufffd", str(text)), quote=True)


def _num(x: float) -> str:
    return f"{x:g}"


def _pct(p: float) -> str:
    return f"{p:.1f}%"


_CSS = """
:root { --ink: #1d2330; --muted: #5b6475; --line: #d9dee7; --soft: #f4f6f9; --bar: %(bar)s; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%%; text-size-adjust: 100%%; }
body { margin: 0 auto; max-width: 1600px; padding: 28px 36px 48px; color: var(--ink); background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", "Liberation Sans", Arial, sans-serif; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
.meta { color: var(--muted); margin: 0 0 14px; }
.muted { color: var(--muted); }
.small { font-size: .86em; }
.tiles { display: flex; gap: 10px; flex-wrap: wrap; margin: 12px 0 8px; }
.tile { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 104px; background: var(--soft); }
.tile b { display: block; font-size: 22px; }
table { border-collapse: collapse; width: 100%%; margin: 6px 0 4px; }
th, td { text-align: left; vertical-align: top; padding: 5px 7px; border-bottom: 1px solid var(--line); }
th { font-size: .86em; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); background: var(--soft); }
th.lab { text-transform: none; letter-spacing: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td, th { overflow-wrap: break-word; }
.name, .reason, .notes li { overflow-wrap: anywhere; }
code { font: .86em/1.3 "DejaVu Sans Mono", Menlo, Consolas, monospace; }
.nowrap { white-space: nowrap; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%%, 420px), 1fr)); gap: 16px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px 6px; break-inside: avoid; min-width: 0; }
figcaption { font-weight: 600; margin-bottom: 4px; }
figcaption .muted { font-weight: 400; }
svg.hist { display: block; width: 100%%; height: auto; }
svg.hist text { font-family: inherit; fill: var(--ink); }
svg.hist .tick, svg.hist .axis-title { fill: var(--muted); }
table.failed col.c-id { width: 17%%; }
table.failed col.c-title { width: 25%%; }
table.failed col.c-count { width: 12%%; }
.reasons { margin: 0; padding-left: 16px; }
.reasons li { margin: 0; }
.legend { margin: 6px 0 10px; }
.lv { display: inline-block; min-width: 22px; padding: 1px 6px; border-radius: 10px; font-weight: 700; text-align: center; }
.lv1 { background: #f8d4d4; color: #8a1c1c; }
.lv2 { background: #fbe3c7; color: #7a4307; }
.lv3 { background: #e8ecf2; color: #2b3444; }
.lv4 { background: #d3ecd9; color: #195c2c; }
.lv5 { background: #a9dcb7; color: #0f4420; }
.lv0 { background: #fff; color: var(--muted); border: 1px dashed var(--muted); font-weight: 400; }
.review-status { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: .8em; }
.review-unreviewed, .review-partial { background: #eef1f6; color: var(--muted); }
.review-disputed { background: #fbe3c7; color: #7a4307; font-weight: 700; }
.review-reviewed { background: #d3ecd9; color: #195c2c; }
.review-refused { background: #f8d4d4; color: #8a1c1c; }
.dims { display: flex; flex-wrap: wrap; gap: 3px 8px; }
.dim { white-space: nowrap; font-size: .86em; }
.status { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: .8em; font-weight: 700; }
.status-refused { background: #f8d4d4; color: #8a1c1c; }
.status-ungradable { background: #fbe3c7; color: #7a4307; }
.notes { margin: 2px 0 0; padding-left: 16px; color: #7a4307; font-size: .86em; }
.lost { margin: 0 0 12px; }
.lost h3 { margin: 12px 0 4px; }
.lost ul { margin: 0; padding-left: 18px; }
.lost li { margin: 1px 0; }
.empty { color: var(--muted); font-style: italic; }
footer { margin-top: 36px; color: var(--muted); font-size: .86em; }
@media (max-width: 720px) {
  body { padding: 16px 12px 32px; }
  h1 { font-size: 20px; }
  .tile { min-width: 0; flex: 1 1 88px; padding: 6px 10px; }
  table.stack, table.stack tbody, table.stack tr, table.stack td { display: block; width: 100%%; }
  table.stack thead, table.stack colgroup { display: none; }
  table.stack tr { border: 1px solid var(--line); border-radius: 6px; margin: 0 0 10px; padding: 4px 10px; }
  table.stack td { border: 0; padding: 3px 0; text-align: left; }
  table.stack td[data-label]::before { content: attr(data-label); display: block; font-size: .78em;
    text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
  table.stack td.cell-inline { display: inline-block; width: auto; min-width: 8.5em; margin: 0 10px 0 0; }
  table.stack tr.nothing td.cell-inline, table.stack tr.nothing td.scorecard { display: none; }
}
@media print {
  body { padding: 0; font-size: 12px; max-width: none; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2 { break-after: avoid; }
  tr, figure, .check-table, .lost { break-inside: avoid; }
  .charts { grid-template-columns: 1fr 1fr; }
}
@page { size: A4 landscape; margin: 12mm; }
"""


def _svg_histogram(summary: LabSummary) -> str:
    """One lab's score distribution as an inline SVG bar chart, with axes, ticks and counts."""
    width, height = 456, 236
    left, right, top, bottom = 46, 10, 22, 48
    plot_w, plot_h = width - left - right, height - top - bottom  # 400 x 166
    bins = len(summary.histogram)
    bin_w = plot_w / bins
    peak = max(summary.histogram, default=0)
    step = _nice_step(peak)
    y_max = max(step, -(-peak // step) * step)
    base = top + plot_h

    def y(count: float) -> float:
        return base - plot_h * count / y_max

    label = f"Score distribution for {summary.lab}: " + ", ".join(
        f"{i * 100 // bins}-{(i + 1) * 100 // bins}%: {n}" for i, n in enumerate(summary.histogram))
    parts = [
        f'<svg class="hist" data-lab="{_e(summary.lab)}" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{_e(label)}">',
        f"<title>{_e(label)}</title>",
    ]
    for tick in range(0, y_max + 1, step):  # horizontal grid and y tick labels
        ty = y(tick)
        parts.append(f'<line x1="{left}" y1="{ty:.1f}" x2="{left + plot_w}" y2="{ty:.1f}" stroke="#e3e7ee" stroke-width="1"/>')
        parts.append(f'<text class="tick" x="{left - 6}" y="{ty + 4:.1f}" font-size="11" text-anchor="end">{tick}</text>')
    for i, count in enumerate(summary.histogram):
        lo, hi = i * 100 // bins, (i + 1) * 100 // bins
        x = left + i * bin_w + 4
        top_y = y(count)
        noun = "submission" if count == 1 else "submissions"
        parts.append(
            f'<rect class="bar" data-bin="{lo}-{hi}" data-count="{count}" x="{x:.1f}" y="{top_y:.1f}" '
            f'width="{bin_w - 8:.1f}" height="{base - top_y:.1f}" fill="{BAR_COLOUR}">'
            f"<title>{lo}-{hi}%: {count} {noun}</title></rect>")
        if count:
            parts.append(f'<text class="count" data-bin="{lo}-{hi}" x="{x + (bin_w - 8) / 2:.1f}" y="{top_y - 5:.1f}" '
                         f'font-size="12" font-weight="700" text-anchor="middle">{count}</text>')
    parts.append(f'<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" stroke="#5b6475" stroke-width="1"/>')
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{base}" stroke="#5b6475" stroke-width="1"/>')
    for i in range(bins + 1):  # x tick labels on the bin edges
        tx = left + i * bin_w
        parts.append(f'<text class="tick" x="{tx:.1f}" y="{base + 15}" font-size="11" text-anchor="middle">{i * 100 // bins}</text>')
    parts.append(f'<text class="axis-title" x="{left + plot_w / 2:.1f}" y="{height - 8}" font-size="12" '
                 f'text-anchor="middle">score (%)</text>')
    parts.append(f'<text class="axis-title" x="12" y="{top + plot_h / 2:.1f}" font-size="12" text-anchor="middle" '
                 f'transform="rotate(-90 12 {top + plot_h / 2:.1f})">submissions</text>')
    if not summary.graded:
        parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h / 2:.1f}" font-size="13" '
                     f'text-anchor="middle">no submissions</text>')
    parts.append("</svg>")
    return "".join(parts)


def _nice_step(peak: int) -> int:
    """A y-axis tick step of 1, 2 or 5 times a power of ten giving at most about five ticks."""
    if peak <= 5:
        return 1
    magnitude = 1
    while True:
        for m in (1, 2, 5):
            if peak / (m * magnitude) <= 5:
                return m * magnitude
        magnitude *= 10


def _level_chip(level: int, title: str = "", *, word: bool = True) -> str:
    if level == 0:  # evidenced only by rubric items nobody has scored yet
        tip = f' title="{_e(title)}"' if title else ""
        return f'<span class="lv lv0" data-level="pending"{tip}>&hellip;</span>'
    said = _LEVEL_WORDS.get(level, "") if word else ""
    tip = f' title="{_e(title)}"' if title else ""
    return f'<span class="lv lv{level}" data-level="{level}"{tip}>{level}</span>' + (
        f' <span class="small muted">{said}</span>' if said else "")


def _legend_html() -> str:
    bands = " &middot; ".join(
        f'<span class="band">{_e(band)} = {_level_chip(level)}</span>' for band, level, _ in scale_legend())
    dims = " &middot; ".join(f'<span class="nowrap" data-dimension="{_e(d.value)}"><b>{_e(abbr)}</b> {_e(d.value)}</span>'
                             for d, abbr in DIMENSION_ABBREVIATIONS.items())
    return (f'<p class="legend" id="scale-legend"><strong>Scorecard scale</strong> (role blueprint, 1 = gap, '
            f"3 = meets, 5 = standout): the share of a dimension's points earned &rarr; {bands}.</p>"
            f'<p class="legend small" id="dimension-legend"><strong>Dimensions</strong>: {dims}.</p>')


def _tile_counts(results: Sequence[SubmissionResult], labs: Sequence[LabSummary]) -> list[tuple[str, str]]:
    by_status = Counter(s.status for s in results)
    tiles = [("submissions", str(len(results))), ("graded", str(by_status[GradingStatus.GRADED]))]
    tiles += [(status.value, str(by_status[status])) for status in (GradingStatus.REFUSED, GradingStatus.UNGRADABLE)
              if by_status[status]]
    return tiles + [("labs", str(len(labs))), ("lab results", str(sum(s.graded for s in labs)))]


def _summary_html(results: Sequence[SubmissionResult], labs: Sequence[LabSummary]) -> str:
    out = ['<div class="tiles">']
    out += [f'<div class="tile" data-stat="{_e(k)}"><b>{_e(v)}</b><span class="muted">{_e(k)}</span></div>'
            for k, v in _tile_counts(results, labs)]
    out.append("</div>")
    out.append('<table id="lab-summary" class="stack"><thead><tr><th>Lab</th><th>Title</th><th class="num">Graded</th>'
               '<th class="num">Mean</th><th class="num">Median</th><th class="num">Min</th><th class="num">Max</th>'
               '<th class="num">Full marks</th></tr></thead><tbody>')
    for s in labs:
        out.append(f'<tr data-lab="{_e(s.lab)}"><td><code>{_e(s.lab)}</code></td><td>{_e(s.title)}</td>'
                   f'<td class="num cell-inline" data-label="graded">{s.graded}</td>'
                   f'<td class="num mean cell-inline" data-label="mean">{_pct(s.mean)}</td>'
                   f'<td class="num median cell-inline" data-label="median">{_pct(s.median)}</td>'
                   f'<td class="num cell-inline" data-label="min">{_pct(s.low)}</td>'
                   f'<td class="num cell-inline" data-label="max">{_pct(s.high)}</td>'
                   f'<td class="num cell-inline" data-label="full marks">{s.full_marks}</td></tr>')
    if not labs:
        out.append('<tr><td colspan="8" class="empty">No lab results.</td></tr>')
    out.append("</tbody></table>")
    return "".join(out)


def _charts_html(labs: Sequence[LabSummary]) -> str:
    if not labs:
        return '<p class="empty">No lab results to chart.</p>'
    out = ['<div class="charts">']
    for s in labs:
        out.append(f'<figure class="chart" data-lab="{_e(s.lab)}"><figcaption><code>{_e(s.lab)}</code> {_e(s.title)} '
                   f'<span class="muted small">n={s.graded} &middot; mean {_pct(s.mean)} &middot; median {_pct(s.median)}'
                   f"</span></figcaption>{_svg_histogram(s)}</figure>")
    out.append("</div>")
    return "".join(out)


def _failed_html(labs: Sequence[LabSummary]) -> str:
    out = []
    for s in labs:
        out.append(f'<div class="check-table"><h3><code>{_e(s.lab)}</code> {_e(s.title)}</h3>')
        if not s.failed_checks:
            out.append(f'<p class="empty" data-lab="{_e(s.lab)}">Every graded check passed in all {s.graded} submissions.</p></div>')
            continue
        out.append(f'<table class="failed stack" data-lab="{_e(s.lab)}"><colgroup><col class="c-id"><col class="c-title">'
                   '<col class="c-count"><col></colgroup><thead><tr><th>Check</th><th>Title</th>'
                   '<th class="num">Failed</th><th>Most common reasons</th></tr></thead><tbody>')
        for f in s.failed_checks:
            errored = f' <span class="small muted">({f.errored} errored)</span>' if f.errored else ""
            reasons = "".join(f'<li><span class="reason">{_e(r)}</span> <span class="small muted">&times;{n}</span></li>'
                              for r, n in f.reasons)
            if f.other_reasons:
                reasons += f'<li class="small muted">+{f.other_reasons} other reason{"s" if f.other_reasons > 1 else ""}</li>'
            out.append(f'<tr data-check="{_e(f.id)}"><td><code>{_e(f.id)}</code></td><td>{_e(f.title)}</td>'
                       f'<td class="num" data-label="failed"><span class="failed-count">{f.total}</span> of {f.graded}{errored}</td>'
                       f'<td data-label="most common reasons"><ul class="reasons">{reasons}</ul></td></tr>')
        out.append("</tbody></table>")
        if s.more_failed_checks:
            out.append(f'<p class="small muted">{s.more_failed_checks} more failing check(s) not shown.</p>')
        out.append("</div>")
    return "".join(out) if out else '<p class="empty">No lab results.</p>'


def _status_chip(status: GradingStatus) -> str:
    return f' <span class="status status-{status.value}" data-status="{status.value}">{status.value}</span>'


def _learners_html(results: Sequence[SubmissionResult], labs: Sequence[LabSummary]) -> str:
    from .html_review import review_cells  # the Automatic and Reviewed cells, when rubric items were scored

    cards = {id(s): {d.dimension: d for d in scorecard(_unique_labs(s), s.reviews)} for s in results}
    dims = [d for d in Dimension if any(d in card for card in cards.values())]
    reviewing = any(s.reviews for s in results)
    head = ['<table id="learners" class="stack"><thead><tr><th class="learner-col">Learner</th>']
    head += [f'<th class="num lab" data-lab="{_e(s.lab)}"><code>{_e(s.lab)}</code></th>' for s in labs]
    if reviewing:
        head.append('<th class="num">Automatic</th><th class="num">Reviewed</th>')
    head.append('<th class="num">Total</th>')
    if dims:
        head.append('<th class="scorecard">Scorecard</th>')
    head.append("</tr></thead><tbody>")
    out = ["".join(head)]
    for sub in results:
        mine = {r.lab: r for r in _unique_labs(sub)}
        notes = ([sub.reason] if sub.reason else []) + list(sub.problems)
        notes += [f"{r.lab}: {p}" for r in mine.values() for p in r.problems if not (sub.reason and p == sub.reason)]
        chip = _status_chip(sub.status) if sub.status is not GradingStatus.GRADED else ""
        cells = [f'<td class="learner" data-status="{sub.status.value}"><bdi class="name">{_e(sub.submission)}</bdi>{chip}']
        if notes:
            shown = "".join(f"<li>{_e(n)}</li>" for n in notes[:_MAX_NOTES])
            if len(notes) > _MAX_NOTES:
                shown += f"<li>+{len(notes) - _MAX_NOTES} more</li>"
            cells.append(f'<ul class="notes">{shown}</ul>')
        cells.append("</td>")
        for s in labs:
            r = mine.get(s.lab)
            label = f' data-label="{_e(s.lab)}"'
            if r is None:
                cells.append(f'<td class="num muted cell-inline" data-lab="{_e(s.lab)}"{label}>&mdash;</td>')
            else:
                shown = (f'{_pct(r.percent)}' if r.status is GradingStatus.GRADED
                         else f'<span class="status status-{r.status.value}">{r.status.value}</span>')
                cells.append(f'<td class="num cell-inline" data-lab="{_e(s.lab)}"{label} data-percent="{r.percent:g}">'
                             f'{shown}<br> <span class="small muted nowrap">{_num(r.score)}/{_num(r.max_score)}</span></td>')
        if reviewing:
            cells.extend(review_cells(sub))
        if sub.labs and (not reviewing or sub.total_score is not None):
            got, possible = (sub.total_score, sub.total_max_score) if reviewing else (sub.score, sub.max_score)
            total = _percent(got, possible)
            cells.append(f'<td class="num total cell-inline" data-label="total" data-percent="{total:g}"><strong class="nowrap">'
                         f'{_num(got)}/{_num(possible)}</strong><br> <span class="small muted">{_pct(total)}</span></td>')
        elif sub.labs:
            cells.append(f'<td class="num total muted cell-inline" data-label="total" data-pending="true">pending review'
                         f'<br> <span class="small nowrap">of {_num(sub.total_max_score)}</span></td>')
        else:
            cells.append('<td class="num total muted cell-inline" data-label="total">&mdash;</td>')
        if dims and not sub.labs:
            cells.append('<td class="scorecard muted" data-label="scorecard">&mdash;</td>')
        elif dims:
            card = cards[id(sub)]
            chips = []
            for d in dims:
                score = card.get(d)
                abbr = DIMENSION_ABBREVIATIONS.get(d, d.value)
                if score is None:
                    chips.append(f'<span class="dim muted" data-dimension="{_e(d.value)}" title="{_e(d.value)}: not evidenced">'
                                 f"{_e(abbr)} &mdash;</span>")
                else:
                    tip = f"{d.value}: {_num(score.points)}/{_num(score.max_points)} points"
                    if score.review_max_points or score.pending_points:
                        tip += (f" (automatic {_num(score.auto_points)}/{_num(score.auto_max_points)}, reviewed "
                                f"{_num(score.review_points)}/{_num(score.review_max_points)}"
                                + (f"; {_num(score.pending_points)} points not reviewed yet" if score.pending_points
                                   else "") + ")")
                    chips.append(f'<span class="dim" data-dimension="{_e(d.value)}" title="{_e(tip)}">{_e(abbr)} '
                                 f"{_level_chip(score.level, tip, word=False)}</span>")
            cells.append(f'<td class="scorecard" data-label="scorecard"><div class="dims">{"".join(chips)}</div></td>')
        out.append(f'<tr class="learner{"" if sub.labs else " nothing"}">{"".join(cells)}</tr>')
    if not results:
        out.append(f'<tr><td colspan="{2 + len(labs) + (1 if dims else 0) + (2 if reviewing else 0)}" '
                   'class="empty">No submissions.</td></tr>')
    out.append("</tbody></table>")
    return "".join(out)


def _lost_html(results: Sequence[SubmissionResult]) -> str:
    out = []
    clean = 0
    from .html_review import review_notes

    for sub in results:
        lost = lost_checks(sub)
        notes = review_notes(sub)
        if sub.status is GradingStatus.GRADED and not lost and not notes:
            clean += 1
            continue
        out.append(f'<div class="lost" data-learner="{_e(sub.submission)}"><h3><bdi class="name">{_e(sub.submission)}</bdi>'
                   f'{_status_chip(sub.status) if sub.status is not GradingStatus.GRADED else ""}</h3>')
        if not sub.labs:
            out.append(f'<p class="reason" data-status="{sub.status.value}">Nothing graded: {_e(sub.reason)}</p></div>')
            continue
        items = []
        for c in lost:
            if not c.check_id:
                items.append(f'<li data-lab="{_e(c.lab)}" data-status="refused"><code>{_e(c.lab)}</code> refused '
                             f'<span class="small muted nowrap">(&minus;{_num(c.lost_points)})</span>: '
                             f'<span class="reason">{_e(c.reason)}</span></li>')
            else:
                items.append(f'<li data-lab="{_e(c.lab)}" data-check="{_e(c.check_id)}"><code>{_e(c.lab)}</code> '
                             f'<code>{_e(c.check_id)}</code> <span class="small muted nowrap">(&minus;{_num(c.lost_points)} '
                             f'of {_num(c.max_points)})</span>: <span class="reason">{_e(c.reason)}</span></li>')
        out.append(f'<ul>{"".join(items + notes)}</ul></div>')
    if clean:
        out.append(f'<p class="muted" id="lost-none">{clean} learner{"s" if clean != 1 else ""} lost no check.</p>')
    return "".join(out) if out else '<p class="empty">No submissions.</p>'


def render_html_report(results: Sequence[SubmissionResult], *, title: str = "iclab gradebook",
                       generated_at: str = "") -> str:
    """Render submissions as one self-contained instructor HTML report (deterministic for the same input)."""
    from .html_review import review_legend, review_section  # the part for reviewed rubric items

    ordered = _ordered(results)
    labs = summarize_labs(ordered)
    versions = sorted({r.tool_version for s in ordered for r in s.labs if r.tool_version})
    meta = [f"{len(ordered)} submission{'s' if len(ordered) != 1 else ''}", f"{len(labs)} lab{'s' if len(labs) != 1 else ''}"]
    if generated_at:
        meta.append(f"generated {generated_at}")
    if versions:
        meta.append("iclab " + ", ".join(versions))
    return "".join([
        "<!DOCTYPE html>\n",
        '<html lang="en"><head><meta charset="utf-8">\n',
        # Defence in depth: even if some text escaped escaping, nothing could load or run.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n",
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        '<meta name="generator" content="iclab">\n',
        f"<title>{_e(title)}</title>\n",
        f"<style>{_CSS % {'bar': BAR_COLOUR}}</style>\n",
        "</head><body>\n",
        f'<header><h1>{_e(title)}</h1><p class="meta">{_e(" · ".join(meta))}</p>',
        _summary_html(ordered, labs),
        "</header>\n",
        '<section id="distribution"><h2>Score distribution per lab</h2>',
        '<p class="muted small">Percent of the lab\'s points, in 10-point bins; the last bin includes 100%.</p>',
        _charts_html(labs),
        "</section>\n",
        '<section id="failed-checks"><h2>Checks most often failed</h2>',
        '<p class="muted small">Failed or errored, per lab, with the most common reasons (secrets and PII masked).</p>',
        _failed_html(labs),
        "</section>\n",
        '<section id="learner-results"><h2>Learners</h2>',
        _legend_html(),
        review_legend(ordered),
        _learners_html(ordered, labs),
        "</section>\n",
        review_section(ordered),
        '<section id="lost-checks"><h2>Checks lost, per learner</h2>',
        '<p class="muted small">Every failed or errored check of each learner, with the points it cost and why; '
        "a refused lab once, with the refusal"
        + ("; and each rubric item below full marks, disputed or not reviewed yet, with the reviewers' comments"
           if any(sub.reviews for sub in ordered) else "") + ".</p>",
        _lost_html(ordered),
        "</section>\n",
        f"<footer>{_e(title)}{' · ' + _e(generated_at) if generated_at else ''} &middot; "
        "scorecard dimensions from the role blueprint, section 19</footer>\n",
        "</body></html>\n",
    ])
