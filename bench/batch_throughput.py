"""Batch throughput and memory: `iclab batch` against the naive one-pytest-process-per-grading approach.

Run: .venv/bin/python bench/batch_throughput.py [--sizes 500,5000] [--labs map-customer,webhook-auth]
Builds a cohort of reference, flawed and hostile submissions, grades it with
`iclab batch` (peak memory sampled from /proc), then grades a sample of the
same cohort the naive way, side by side in one run, and prints the rates.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graders import catalog  # noqa: E402
from graders.sandbox.runtime._iclab_proc import process_tree  # noqa: E402

HOSTILE = {
    "exit-at-import": "import os\nos._exit(0)\n",
    "hang-at-import": "while True:\n    pass\n",
    "syntax-error": "def broken(:\n",
}


def build_cohort(root: Path, size: int, labs: list[str]) -> int:
    kinds: list[tuple[str, Path | None]] = []
    for lab_id in labs:
        lab = catalog.get_lab(lab_id)
        kinds.append((lab_id, catalog.reference(lab)))
        kinds += [(lab_id, f.folder) for f in catalog.flaws(lab)]
        kinds += [(lab_id, None)]  # one hostile submission per reference-and-flaws round
    gradings = 0
    i = 0
    while gradings < size:
        lab_id, src = kinds[i % len(kinds)]
        lab = catalog.get_lab(lab_id)
        dest = root / f"learner{i:05d}" / lab_id
        dest.mkdir(parents=True)
        if src is not None:
            for rel in lab.files:
                shutil.copyfile(src / rel, dest / rel)
        else:
            text = list(HOSTILE.values())[i % len(HOSTILE)]
            for rel in lab.files:
                (dest / rel).write_text(text if rel.endswith(".py") else "")
        gradings += 1
        i += 1
    return gradings


def _rss_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def _pss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def peak_rss_mb(pid: int, proc: subprocess.Popen) -> tuple[float, float]:
    """Peak RSS of the batch process itself, and the peak of the summed PSS (shared pages split
    between their sharers) of it and every process under it: fork servers and sandboxes.
    The tree is sampled every 0.25 s, lightly, so as not to slow what it measures."""
    peak = tree_peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, _rss_kb(pid, "VmHWM:"))
            tree = _pss_kb(pid)
            for child in process_tree(pid)[1:]:
                try:
                    tree += _pss_kb(child)
                except OSError:
                    pass
            tree_peak = max(tree_peak, tree)
        except OSError:
            break
        time.sleep(0.25)
    return peak / 1024, tree_peak / 1024


def run_batch(cohort: Path, out: Path, jobs: int, env: dict | None = None) -> tuple[float, float, float]:
    t0 = time.perf_counter()
    jobs_args = ["--jobs", str(jobs)] if jobs else []
    proc = subprocess.Popen([sys.executable, "-m", "cli", "batch", str(cohort), "--out", str(out), *jobs_args],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    peak, tree_peak = peak_rss_mb(proc.pid, proc)
    if proc.wait() != 0:
        raise SystemExit("iclab batch failed")
    return time.perf_counter() - t0, peak, tree_peak


def run_naive(cohort: Path, sample: int) -> float:
    units = sorted((p.parent.name, p.name, p) for p in cohort.glob("*/*") if p.is_dir())[:sample]
    t0 = time.perf_counter()
    for _, lab_id, path in units:
        env = dict(os.environ, ICLAB_NAIVE_LAB=lab_id, ICLAB_NAIVE_SUBMISSION=str(path))
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "bench/naive")],
                       cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return len(units) / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500", help="comma-separated cohort sizes in lab-gradings")
    parser.add_argument("--labs", default="map-customer,webhook-auth,pii-logging,log-triage")
    parser.add_argument("--jobs", type=int, default=None, help="default: iclab batch's own default")
    parser.add_argument("--naive-sample", type=int, default=40)
    parser.add_argument("--also-launch", action="store_true",
                        help="also grade each cohort with ICLAB_FORKSERVER=0 (an interpreter launched per sandbox)")
    args = parser.parse_args()
    labs = args.labs.split(",")
    print(f"labs: {', '.join(labs)}; jobs: {args.jobs or 'default'} on {os.cpu_count()} cores\n")
    print(f"{'gradings':>9} {'batch wall':>11} {'batch rate':>11} {'peak RSS':>9} {'tree PSS':>10} "
          f"{'naive rate':>11} {'speed-up':>9}" + (f" {'launch rate':>12}" if args.also_launch else ""))
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="iclab-bench-") as tmp:
            cohort = Path(tmp) / "cohort"
            n = build_cohort(cohort, size, labs)
            wall, peak, tree_peak = run_batch(cohort, Path(tmp) / "out", args.jobs)
            rate = n / wall
            launch = ""
            if args.also_launch:
                env = dict(os.environ, ICLAB_FORKSERVER="0")
                launch_wall, _, _ = run_batch(cohort, Path(tmp) / "out-launch", args.jobs, env)
                launch = f" {n / launch_wall:>10.1f}/s"
            naive = run_naive(cohort, args.naive_sample)
            print(f"{n:>9} {wall:>10.1f}s {rate:>9.1f}/s {peak:>7.0f}MB {tree_peak:>8.0f}MB "
                  f"{naive:>9.2f}/s {rate / naive:>8.1f}x{launch}")


if __name__ == "__main__":
    main()
