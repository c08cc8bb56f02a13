"""Run a batch plan: a bounded pool of workers, each result journaled the moment it is done.

Workers are threads: the work happens in sandboxed child processes, so the
grader's own threads mostly wait on pipes. In-flight work is bounded, and
results go to disk rather than memory, so memory stays flat as N grows.

The main thread only waits on a queue of finished gradings, in short waits,
so Ctrl+C reaches it at once; it then stops handing out work and returns
without waiting for the gradings in flight (the workers are daemon threads:
what they finish later is simply not recorded, and a rerun grades it). A
journal that cannot be written (a full disk) stops the run the same way.
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .. import catalog, engine
from ..atomic import ensure_folder, write_text
from ..errors import IclabError, OutputError, SubmissionError, UsageError
from ..masking import mask
from ..render.json_result import to_dict
from .journal import Journal
from .plan import Plan, Unit
from ..scratch import scratch_folder

__all__ = ["BatchSummary", "Interrupted", "Progress", "run_batch", "default_jobs", "read_run"]


class Interrupted(IclabError):
    """Ctrl+C during a batch: what is in the journal stays, a rerun resumes."""

    exit_code = 130


@dataclass(frozen=True)
class Progress:
    done: int        # graded in this run so far
    total: int       # to grade in this run (planned less already in the journal)
    elapsed: float
    already: int = 0  # found in the journal of an earlier, interrupted run

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
    ungradable: int = 0


def default_jobs() -> int:
    # Workers mostly wait on their sandboxes (start-up, pipes, timeouts): two per core keeps the cores busy.
    return max(2, 2 * (os.cpu_count() or 1))


_RUN_KEYS = ("root", "labs", "shard")


def _check_manifest(out: Path, plan: Plan) -> None:
    """A resumed run must be the same run: same root, labs and shard."""
    path = out / "run.json"
    manifest = plan.manifest()
    if path.is_file():
        old = read_run(path)
        if {k: old.get(k) for k in _RUN_KEYS} != {k: manifest[k] for k in _RUN_KEYS}:
            raise UsageError(f"{out} holds a run with other arguments (root, labs or shard); use another --out")
        known = set(old.get("units", []))
        manifest["units"] = sorted(known | set(manifest["units"]))
    write_text(path, json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False))


def read_run(path: Path) -> dict:
    """A run.json written by iclab, or UsageError saying it is not one."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not valid JSON"
        raise UsageError(f"{path}: unreadable ({why}); it is not a run.json iclab wrote: use another --out, "
                         "or delete it to start that run afresh") from None
    shard = doc.get("shard") if isinstance(doc, dict) else None
    if (not isinstance(doc, dict) or not isinstance(shard, dict) or not isinstance(shard.get("index"), int)
            or not isinstance(shard.get("count"), int) or not isinstance(doc.get("units", []), list)):
        raise UsageError(f"{path}: not a run.json iclab wrote (fields missing or of the wrong type); use another "
                         "--out, or delete it to start that run afresh")
    return doc


def _for_learner(exc: SubmissionError, unit: Unit, scratch: Path) -> str:
    """The refusal in the learner's words: never the grading machine's paths."""
    text = exc.problem
    for path, shown in ((scratch, ""), (unit.path, unit.path.name), (unit.path.parent, "")):
        text = text.replace(str(path) + os.sep, f"{shown}{os.sep}" if shown else "").replace(str(path), shown)
    return mask(text)


def _grade_unit(unit: Unit, workdir: Path) -> tuple[dict, list[dict] | None]:
    """Grade one unit, and read its answers to the lab's rubric items (None: the lab has none).

    A broken submission becomes a refusal with a reason, never an exception. The answers
    are read before any learner code runs, and their absence never changes the grading.
    """
    from ..packing import submission_labs
    from ..review.rubric import capture_all

    lab = catalog.get_lab(unit.lab)
    scratch = Path(tempfile.mkdtemp(prefix="unit-", dir=workdir))
    rubric = (lambda folder: capture_all(lab.rubric, folder)) if lab.rubric else (lambda folder: None)
    try:
        try:
            folders = submission_labs(unit.path, [unit.lab], scratch)
        except SubmissionError as exc:
            return to_dict(engine.refused(lab, unit.submission, _for_learner(exc, unit, scratch))), rubric(None)
        folder = folders.get(unit.lab)
        if folder is None:
            return (to_dict(engine.refused(lab, unit.submission, f"the submission holds no {unit.lab} folder")),
                    rubric(None))
        answers = rubric(folder)
        return to_dict(engine.grade(lab, folder, label=unit.submission)), answers
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _stop_children() -> None:
    """Kill every process this one started, with what each started: after Ctrl+C no sandbox outlives the run.

    The sandboxes (and the fork servers, PID 1 of their namespaces) each lead a process group
    of their own; killing the group stops the learner code in it, the blocked workers' pipes
    close, and the exit does not wait on any of them.
    """
    me = os.getpid()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            ppid, pgrp = int(fields[1]), int(fields[2])
        except (OSError, IndexError, ValueError):
            continue
        if ppid != me:
            continue
        pid = int(entry)
        try:
            if pgrp == pid:  # a group leader: the sandbox and all it started
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def run_batch(plan: Plan, out: Path, *, jobs: int | None = None,
              on_progress: Callable[[Progress], None] | None = None) -> BatchSummary:
    """Grade every unit of ``plan`` not already in ``out``'s journal.

    ``on_progress`` is called once before the first grading (done 0, with how many the
    journal already held) and after each. Raises Interrupted on Ctrl+C and OutputError
    when the journal cannot be written; what was recorded stays recorded either way.
    """
    ensure_folder(out)
    _check_manifest(out, plan)
    journal = Journal(out / "journal.jsonl")
    started = time.monotonic()
    try:
        for u in plan.ungradable:  # nothing to grade: recorded at once, with the reason
            if u.key not in journal.done:
                journal.append_outcome(u.key, u.submission, u.status.value, u.reason, source=u.path.name)
        todo = [u for u in plan.units if u.key not in journal.done]
        resumed = len(plan.units) - len(todo)
        jobs = max(1, min(jobs or default_jobs(), len(todo) or 1))
        if on_progress:
            on_progress(Progress(0, len(todo), 0.0, resumed))
        with scratch_folder() as workdir:
            done, failed = _run(todo, jobs, workdir, journal, started, resumed, on_progress)
    finally:
        journal.close()
    return BatchSummary(out, len(plan.units), resumed, done - len(failed), tuple(failed), plan.skipped,
                        time.monotonic() - started, len(plan.ungradable))


def _run(todo: list[Unit], jobs: int, workdir: Path, journal: Journal, started: float, resumed: int,
         on_progress: Callable[[Progress], None] | None) -> tuple[int, list[str]]:
    units = iter(todo)
    take = threading.Lock()
    stop = threading.Event()
    finished: queue.Queue = queue.Queue()

    def worker() -> None:
        while not stop.is_set():
            with take:
                unit = next(units, None)
            if unit is None:
                return
            try:
                result, rubric = _grade_unit(unit, workdir)
                if stop.is_set():
                    return
                journal.append(unit.key, unit.submission, result, source=unit.path.name, rubric=rubric)
                finished.put((unit, None))
            except BaseException as exc:  # noqa: BLE001 (reported by the main thread, with the unit)
                finished.put((unit, exc))

    for i in range(jobs):
        threading.Thread(target=worker, name=f"grade-{i}", daemon=True).start()
    done = 0
    failed: list[str] = []
    try:
        while done < len(todo):
            try:
                unit, exc = finished.get(timeout=0.25)
            except queue.Empty:
                continue
            done += 1
            if isinstance(exc, OutputError):
                raise exc
            if exc is not None:
                failed.append(f"{unit.key}: {type(exc).__name__}: {exc}")
            if on_progress:
                on_progress(Progress(done, len(todo), time.monotonic() - started, resumed))
    except KeyboardInterrupt:
        stop.set()
        _stop_children()
        journal.close()
        recorded = len(journal.done)
        raise Interrupted(f"interrupted: {recorded} results are in {journal.path}; run the same command again "
                          "to grade the rest") from None
    except BaseException:
        stop.set()
        journal.close()
        raise
    return done, failed
