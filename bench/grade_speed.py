"""Grading speed: median wall time of `iclab grade` per lab, and the sandbox's start-up cost.

Run: make bench   (or .venv/bin/python bench/grade_speed.py [--runs N] [--lab LAB ...])
Figures are medians over N runs measured side by side in one process, so
ratios are comparable even on a noisy machine.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graders import catalog, engine  # noqa: E402
from graders.sandbox import Limits, Sandbox, isolation  # noqa: E402


def median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def child_startup(mode: str, runs: int, forkserver: bool = True) -> float:
    os.environ["ICLAB_SANDBOX"] = mode
    os.environ["ICLAB_FORKSERVER"] = "1" if forkserver else "0"
    isolation.detect.cache_clear()
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "m.py").write_text("def f():\n    return 1\n")

        def once():
            with Sandbox(Path(tmp), Limits()) as sb:
                assert sb.call("m:f").value == 1
        result = median_time(once, runs)
    os.environ.pop("ICLAB_SANDBOX", None)
    os.environ.pop("ICLAB_FORKSERVER", None)
    isolation.detect.cache_clear()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--lab", action="append", help="only these labs (default: all)")
    args = parser.parse_args()
    labs = args.lab or catalog.lab_ids()
    iclab = [sys.executable, "-m", "cli"]

    print(f"machine: {os.cpu_count()} cores; isolation: {isolation.detect()}; median of {args.runs} runs\n")
    print("sandbox start-up (start a child, one trivial call, stop):")
    base = median_time(lambda: subprocess.run([sys.executable, "-I", "-c", "pass"], check=True), args.runs)
    print(f"  bare `python -I -c pass`          {base * 1000:7.1f} ms")
    runs = max(args.runs, 25)
    print(f"  sandbox, process mode             {child_startup('process', runs) * 1000:7.1f} ms")
    if isolation.detect() == "namespace":
        print(f"  sandbox, namespace mode, launched {child_startup('namespace', runs, False) * 1000:7.1f} ms"
              "   (ICLAB_FORKSERVER=0: a new interpreter per child)")
        print(f"  sandbox, namespace mode, forked   {child_startup('namespace', runs) * 1000:7.1f} ms"
              "   (the default: the thread's warm fork server, already started)")
    print("\ngrading each lab's reference solution:")
    print(f"  {'lab':<20} {'in-process':>11} {'`iclab grade` CLI':>18}")
    for lab_id in labs:
        lab = catalog.get_lab(lab_id)
        ref = catalog.reference(lab)
        inproc = median_time(lambda: engine.grade(lab, ref), args.runs)
        cli = median_time(lambda: subprocess.run(iclab + ["grade", lab_id, str(ref), "--format", "json"],
                                                 cwd=ROOT, check=True, capture_output=True), args.runs)
        print(f"  {lab_id:<20} {inproc:10.3f}s {cli:17.3f}s")


if __name__ == "__main__":
    main()
