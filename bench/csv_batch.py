"""Benchmark the csv-batch reference on a large nightly file: median wall time and peak RSS.

Generates a 500,000-row order file (UTF-8, some quoted fields with commas and
line breaks, a few rejects, a reconciling trailer), runs the reference
``process_file`` in a fresh subprocess several times, and prints the median
wall time and the peak resident memory of the children
(``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``, the largest of all runs).

    .venv/bin/python bench/csv_batch.py                 # 500,000 rows, 5 runs
    .venv/bin/python bench/csv_batch.py --rows 50000 --runs 3

The target: under 5 s and under 150 MB for 500,000 rows.
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "solutions" / "csv-batch" / "reference"
HEADER = "order_id,order_date,customer_name,amount,note"
NAMES = ["Harbour Freight", "Kestrel Analytics", "Blue Fern Dental", "Müller & Söhne", "Quayside Marine",
         "Lumen Print Works", "Café Lisboa", "Granite Peak", "Tidewater Clinics", "Ørsted Supplies"]
NOTES = ["", "", "", "gift wrap", "leave at reception", "express"]
TARGET_SECONDS = 5.0
TARGET_MB = 150

_RUN = """
import sys, json
sys.path.insert(0, sys.argv[1])
import nightly
print(json.dumps(nightly.process_file(sys.argv[2], sys.argv[3])))
"""


def generate(path: Path, rows: int, seed: int = 500) -> Decimal:
    """Write a nightly file of ``rows`` data records to ``path``; return the trailer's amount total."""
    rng = random.Random(seed)
    total = Decimal(0)
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(HEADER + "\n")
        lines = []
        for i in range(rows):
            cents = rng.randrange(100, 2_500_000)
            amount = Decimal(cents).scaleb(-2)
            total += amount
            date = f"2025-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
            name, note = rng.choice(NAMES), rng.choice(NOTES)
            kind = i % 200
            if kind == 7:
                name = f'"{name}, Ltd."'  # an embedded delimiter, quoted
            elif kind == 11:
                note = '"deliver to ""Gate 4""\nafter 6 pm"'  # doubled quotes and a line break
            elif kind == 13:
                date = "2025-02-30"  # rejected, but its amount still counts
            lines.append(f"WS-{i:07d},{date},{name},{amount},{note}\n")
            if len(lines) == 5000:
                out.writelines(lines)
                lines.clear()
        out.writelines(lines)
        out.write(f"TRL,{rows},{total}\n")
    return total


def run_once(source: Path, out_dir: Path) -> tuple[float, dict]:
    """Run the reference in a fresh interpreter; return (wall seconds, its summary)."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _RUN, str(REFERENCE), str(source), str(out_dir)],
                          capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - started
    return elapsed, json.loads(proc.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="iclab-bench-csv-") as tmp:
        source = Path(tmp) / "orders.csv"
        generate(source, args.rows)
        size_mb = source.stat().st_size / 1e6
        times = []
        for run in range(args.runs):
            elapsed, summary = run_once(source, Path(tmp) / f"out{run}")
            if summary["refused"] or summary["rows"] != args.rows:
                print(f"unexpected summary: {summary}", file=sys.stderr)
                return 1
            times.append(elapsed)
    # ru_maxrss is in KiB on Linux; it is the largest child, so the peak of all runs.
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    median = statistics.median(times)
    print(f"rows={args.rows} file={size_mb:.1f} MB runs={args.runs} "
          f"accepted={summary['accepted']} rejected={summary['rejected']}")
    print(f"median wall time: {median:.2f} s (min {min(times):.2f}, max {max(times):.2f})")
    print(f"peak RSS: {peak_mb:.1f} MB")
    ok = median < TARGET_SECONDS and peak_mb < TARGET_MB
    print("within target" if ok else f"OVER TARGET ({TARGET_SECONDS:g} s, {TARGET_MB} MB)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
