"""The learner's loop: median wall time of `iclab check` per lab, now against the way it ran before.

Run: .venv/bin/python bench/check_speed.py [--runs N] [--lab LAB ...]

For each lab a workspace is made with `iclab start` and the reference solution
copied in (the visible tests pass, the grader gives 100). Then, round-robin so a
noisy machine weighs on every column alike:

- ``check``: ``iclab check`` as it is now (the visible tests with plugin autoload
  off and iclab's own ini, running beside the grader);
- ``before``: what ``iclab check`` did before: plain ``pytest`` with every
  installed plugin auto-loaded, then the grader, one after the other (timed as
  that pytest run followed by ``iclab check --no-tests``);
- ``pytest``: plain ``python -m pytest`` in the workspace (its starter's pytest.ini
  turns plugin autoload off), and ``pytest, no ini`` the same without that file.

Prints medians and the ratio before/now, and a bare ``python -c pass`` for scale.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graders import catalog  # noqa: E402

ICLAB = [sys.executable, "-m", "cli"]


def timed(cmd: list[str], cwd: Path, env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t0


def workspace(lab_id: str, base: Path, env: dict) -> Path:
    ws = base / lab_id
    subprocess.run(ICLAB + ["start", lab_id, str(ws)], cwd=ROOT, env=env, check=True, capture_output=True)
    reference = catalog.reference(catalog.get_lab(lab_id))
    for path in reference.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            (ws / path.relative_to(reference)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, ws / path.relative_to(reference))
    return ws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--lab", action="append", help="only these labs (default: all)")
    args = parser.parse_args()
    labs = args.lab or catalog.lab_ids()
    with tempfile.TemporaryDirectory(prefix="iclab-bench-") as tmp:
        base = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "ICLAB_"))}
        env.update(ICLAB_STATE_DIR=str(base / "state"), NO_COLOR="1", PYTHONDONTWRITEBYTECODE="1")
        spaces = {lab_id: workspace(lab_id, base / "ws", env) for lab_id in labs}
        for lab_id, ws in spaces.items():  # the same workspaces without the starter's pytest.ini
            copy = base / "bare" / lab_id
            shutil.copytree(ws, copy)
            (copy / "pytest.ini").unlink(missing_ok=True)
        times: dict[str, dict[str, list[float]]] = {lab_id: {} for lab_id in labs}
        python = []
        for _ in range(args.runs):
            python.append(timed([sys.executable, "-c", "pass"], ROOT, env))
            for lab_id, ws in spaces.items():
                copy = base / "bare" / lab_id
                row = times[lab_id]
                row.setdefault("check", []).append(timed(ICLAB + ["check", str(ws)], ROOT, env))
                old_pytest = timed([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
                                    str(copy), f"--junitxml={base / 'report.xml'}", str(copy)], copy, env)
                grade_only = timed(ICLAB + ["check", "--no-tests", str(ws)], ROOT, env)
                row.setdefault("before", []).append(old_pytest + grade_only)
                row.setdefault("grader", []).append(grade_only)
                row.setdefault("pytest", []).append(timed([sys.executable, "-m", "pytest", "-q"], ws, env))
                row.setdefault("pytest, no ini", []).append(timed([sys.executable, "-m", "pytest", "-q"], copy, env))
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; medians of {args.runs} runs, "
          f"round-robin; `python -c pass` {statistics.median(python) * 1000:.0f} ms\n")
    cols = ["check", "before", "grader", "pytest", "pytest, no ini"]
    print("| lab | `iclab check` | before | before / now | grader alone | `pytest` | `pytest` without the ini |")
    print("|---|---|---|---|---|---|---|")
    for lab_id in labs:
        m = {c: statistics.median(times[lab_id][c]) for c in cols}
        print(f"| {lab_id} | {m['check']:.2f} s | {m['before']:.2f} s | {m['before'] / m['check']:.1f}x | "
              f"{m['grader']:.2f} s | {m['pytest']:.2f} s | {m['pytest, no ini']:.2f} s |")


if __name__ == "__main__":
    main()
