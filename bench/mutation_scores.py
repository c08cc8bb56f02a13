"""Grading power: each lab's mutation score, from one run over every mutant of every reference.

Run: .venv/bin/python bench/mutation_scores.py [LAB ...] [--jobs N] [--markdown] [--json FILE]
Prints one row per lab (mutants, killed, survived, reviewed equivalent, score,
mean checks lost per killed mutant, wall time) and the survivors of labs under
the 90 % target. The README's table comes from `--markdown`.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graders import catalog  # noqa: E402
from graders.mutation.analysis import MIN_SCORE, analyse  # noqa: E402
from graders.render.mutation import HEADERS, report_json, report_text, summary_row, summary_table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labs", nargs="*")
    parser.add_argument("--jobs", type=int)
    parser.add_argument("--markdown", action="store_true", help="print the summary as a Markdown table")
    parser.add_argument("--json", type=Path, help="also write the full report as JSON here")
    args = parser.parse_args()
    started = time.monotonic()
    reports = []
    for lab_id in args.labs or catalog.lab_ids():
        report = analyse(lab_id, jobs=args.jobs)
        reports.append(report)
        print(f"{lab_id}: {report.score:.1f}% of {report.generated} mutants in {report.elapsed:.0f}s", file=sys.stderr)
    if args.markdown:
        print("| " + " | ".join(HEADERS) + " |")
        print("|" + "---|" * len(HEADERS))
        for r in reports:
            print("| " + " | ".join(summary_row(r)) + " |")
    else:
        print(summary_table(reports), end="")
    for r in reports:
        if not r.ok(MIN_SCORE):
            print()
            print(report_text(r), end="")
    if args.json:
        args.json.write_text(report_json(reports), encoding="utf-8")
    print(f"\n{sum(r.generated for r in reports)} mutants graded in {time.monotonic() - started:.0f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
