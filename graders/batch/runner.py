"""Run a batch plan: a bounded pool of workers, each result journaled the moment it is done.

Workers are threads: the work happens in sandboxed child processes, so the
grader's own threads mostly wait on pipes. In-flight work is bounded, and
results go to disk rather than memory, so memory stays flat as N grows.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .. import catalog, engine
from ..errors import IclabError, UsageError
from ..render.json_result import to_dict
from .journal import Journal
from .plan import Plan, Unit

__all__ = ["BatchSummary", "Progress", "run_batch", "default_jobs"]


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    elapsed: float

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        return (self.total - self.done) / self.rate if self.rate > 0 else None


@dataclass(frozen=True)
class BatchSummary:
    out: Path
    planned: int
    resumed: int
    graded: int
    failed_units: tuple[str, ...]
    skipped: tuple[str, ...]
    elapsed: float


def default_jobs() -> int:
    # Workers mostly wait on their sandboxes (start-up, pipes, timeouts): two per core keeps the cores busy.
    return max(2, 2 * (os.cpu_count() or 1))


def _check_manifest(out: Path, plan: Plan) -> None:
    """A resumed run must be the same run: same root, labs and shard."""
    path = out / "run.json"
    manifest = plan.manifest()
    if path.is_file():
        old = json.loads(path.read_text(encoding="utf-8"))
        same = {k: old.get(k) for k in ("root", "labs", "shard")} == {k: manifest[k] for k in ("root", "labs", "shard")}
        if not same:
            raise UsageError(f"{out} holds a run with other arguments (root, labs or shard); use another --out")
        known = set(old.get("units", []))
        manifest["units"] = sorted(known | set(manifest["units"]))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _grade_unit(unit: Unit, workdir: Path) -> dict:
    """Grade one unit; a broken submission becomes a zero with a reason, never an exception."""
    from ..packing import submission_labs

    lab = catalog.get_lab(unit.lab)
    scratch = Path(tempfile.mkdtemp(prefix="unit-", dir=workdir))
    try:
        try:
            folders = submission_labs(unit.path, [unit.lab], scratch)
        except IclabError as exc:
            return to_dict(engine.refused(lab, unit.submission, f"submission refused: {exc}"))
        folder = folders.get(unit.lab)
        if folder is None:
            return to_dict(engine.refused(lab, unit.submission, f"the submission holds no {unit.lab} folder"))
        return to_dict(engine.grade(lab, folder, label=unit.submission))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run_batch(plan: Plan, out: Path, *, jobs: int | None = None,
              on_progress: Callable[[Progress], None] | None = None) -> BatchSummary:
    """Grade every unit of ``plan`` not already in ``out``'s journal."""
    out.mkdir(parents=True, exist_ok=True)
    _check_manifest(out, plan)
    journal = Journal(out / "journal.jsonl")
    todo = [u for u in plan.units if u.key not in journal.done]
    resumed = len(plan.units) - len(todo)
    jobs = jobs or default_jobs()
    workdir = Path(tempfile.mkdtemp(prefix="iclab-batch-"))
    failed: list[str] = []
    done = 0
    started = time.monotonic()
    lock = threading.Lock()

    def work(unit: Unit) -> None:
        result = _grade_unit(unit, workdir)
        journal.append(unit.key, unit.submission, result)

    try:
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="grade") as pool:
            pending: dict[Future, Unit] = {}
            queue = iter(todo)
            while True:
                while len(pending) < jobs * 2:
                    unit = next(queue, None)
                    if unit is None:
                        break
                    pending[pool.submit(work, unit)] = unit
                if not pending:
                    break
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    unit = pending.pop(fut)
                    exc = fut.exception()
                    with lock:
                        done += 1
                        if exc is not None:
                            failed.append(f"{unit.key}: {type(exc).__name__}: {exc}")
                    if on_progress:
                        on_progress(Progress(done, len(todo), time.monotonic() - started))
    finally:
        journal.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return BatchSummary(out, len(plan.units), resumed, done - len(failed), tuple(failed), plan.skipped,
                        time.monotonic() - started)
