"""Benchmark: grading the mapping-tests reference, median of several runs (target: under 5 s).

Usage: ``python bench/mapping_tests.py [RUNS]`` (default 7). One grading runs
the reference's 10 tests in 15 sandboxes: two correct runs and 13 mutants.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from graders import catalog, engine  # noqa: E402  (after the path tweak, so a checkout runs as is)


def main(runs: int = 7) -> None:
    lab = catalog.get_lab("mapping-tests")
    reference = catalog.reference(lab)
    engine.grade(lab, reference)  # warm-up: imports, compiled mutants, tzdata
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = engine.grade(lab, reference)
        times.append(time.perf_counter() - started)
        if result.score != result.max_score:
            raise SystemExit(f"the reference scored {result.score:g}/{result.max_score:g}")
    print(f"mapping-tests reference: median {statistics.median(times):.2f} s over {runs} gradings "
          f"(min {min(times):.2f} s, max {max(times):.2f} s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
