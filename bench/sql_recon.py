"""Benchmark the sql-recon reference: 1,000,000 source rows reconciled against 1,000,000 target rows.

    .venv/bin/python bench/sql_recon.py              # 1,000,000 rows a side, 5 runs
    .venv/bin/python bench/sql_recon.py --rows 200000 --runs 3

Builds the grader's volume dataset once (the same generator the volume check uses), then runs the
reference's five queries through the grader's own runner (read-only, file access off, 2 threads),
each run on a fresh connection. Prints every run and the median total: the time for one complete
reconciliation.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graders.sandbox.runtime import _iclab_sql_recon as runner  # noqa: E402

REFERENCE = ROOT / "solutions" / "sql-recon" / "reference"


def one_run(database: str) -> dict[str, float]:
    """Seconds per query for one full reconciliation, on a cold connection."""
    runner.disconnect()
    conn = runner.connect(database)
    times = {}
    for name in runner.QUERIES:
        text = (REFERENCE / f"{name}.sql").read_text(encoding="utf-8")
        started = time.perf_counter()
        answer = runner.execute(conn, text, label=f"{name}.sql", seconds=120, max_rows=10)
        times[name] = time.perf_counter() - started
        if answer["status"] != "ok":
            raise SystemExit(f"{name}.sql: {answer['message']}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per table (a multiple of 50)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="iclab-bench-") as tmp:
        database = str(Path(tmp) / "volume.duckdb")
        started = time.perf_counter()
        runner.build_volume(database, args.rows)
        print(f"built {args.rows:,} + {args.rows:,} rows in {time.perf_counter() - started:.2f} s")
        totals = []
        for run in range(1, args.runs + 1):
            cpu = time.process_time()
            times = one_run(database)
            cpu = time.process_time() - cpu
            totals.append(sum(times.values()))
            detail = "  ".join(f"{name} {seconds:.2f}" for name, seconds in times.items())
            # CPU time shows the cost when other work shares the two cores and stretches the wall time.
            print(f"run {run}: {totals[-1]:.2f} s wall, {cpu:.2f} s CPU   ({detail})")
        runner.disconnect()
    print(f"median of {args.runs} runs: {statistics.median(totals):.2f} s for {args.rows:,} source "
          f"against {args.rows:,} target rows")


if __name__ == "__main__":
    main()
