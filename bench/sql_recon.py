"""Benchmark the sql-recon reference: 1,000,000 source rows against 1,000,000, and one grading's cost.

    .venv/bin/python bench/sql_recon.py              # 1,000,000 rows a side, 5 runs
    .venv/bin/python bench/sql_recon.py --rows 200000 --runs 3
    .venv/bin/python bench/sql_recon.py --grade 3    # `iclab grade` of the reference: time and peak memory

Builds the grader's scale dataset once (the same generator criterion 10's check uses at 20,000 rows
a side), then runs the reference's five queries through the grader's own runner (read-only, file
access off, 2 threads), each run on a fresh connection. Prints every run and the median total: the
time for one complete reconciliation.

``--grade N`` times N gradings of the reference the way a user runs one, and samples the process
tree every 20 ms for the peak resident memory (VmHWM) of the grader's own process and of the largest
process under it (the sandbox child that runs DuckDB). Target: 2 s and 200 MB for each.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graders.sandbox.runtime import _iclab_sql_recon as runner  # noqa: E402
from graders.sandbox.runtime._iclab_proc import process_tree  # noqa: E402

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


def _hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            return next((int(line.split()[1]) for line in fh if line.startswith(b"VmHWM:")), 0)
    except OSError:
        return 0


def one_grading() -> tuple[float, int, int]:
    """Wall seconds, the grader's peak KiB and the largest peak KiB of a process under it, for one grading."""
    command = [str(ROOT / ".venv" / "bin" / "iclab"), "grade", "sql-recon", str(REFERENCE), "--format", "json",
               "-o", "/dev/null"]
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peaks: dict[int, int] = {}
    while proc.poll() is None:
        for pid in process_tree(proc.pid):
            peaks[pid] = max(peaks.get(pid, 0), _hwm_kb(pid))  # VmHWM is a high-water mark: a late sample sees it
        time.sleep(0.02)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"iclab grade exited with {proc.returncode}")
    own = peaks.pop(proc.pid, 0)
    return wall, own, max(peaks.values(), default=0)


def grade(runs: int) -> None:
    results = [one_grading() for _ in range(runs)]
    for n, (wall, own, child) in enumerate(results, 1):
        print(f"grading {n}: {wall:.2f} s, grader {own / 1024:.0f} MB, largest child {child / 1024:.0f} MB")
    print(f"median of {runs}: {statistics.median(r[0] for r in results):.2f} s, grader "
          f"{statistics.median(r[1] for r in results) / 1024:.0f} MB, largest child "
          f"{statistics.median(r[2] for r in results) / 1024:.0f} MB (target: 2 s, 200 MB each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per table (a multiple of 50)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--grade", type=int, metavar="N", help="time N gradings of the reference instead")
    args = parser.parse_args()
    if args.grade:
        grade(args.grade)
        return
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
