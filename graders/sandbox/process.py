"""Parent side of the sandbox: starts the child, sends calls, records answers.

One child serves all the calls of a grading. A child that dies or hangs
fails the call in progress (the record says why) and a fresh child, on a
fresh copy of the submission, serves the next call. Every answer is decoded
as plain data; nothing the child sends can run code here.
"""
from __future__ import annotations

import os
import select
import stat
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from ..errors import SubmissionError
from . import isolation
from .child import ChildProcess, ProtocolError
from .records import CallError, CallRecord, CallStatus
from .runtime import _iclab_wire as wire

__all__ = ["Call", "Limits", "Sandbox"]


def _open_beneath(base: Path, rel: str) -> int:
    """A descriptor of the folder ``rel`` below ``base``, every step taken without following a link."""
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        for part in Path(rel).parts:
            if part in ("..", "/", ""):
                raise OSError(f"{rel!r} leaves the work folder")
            if part == ".":
                continue
            nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd

_MAX_TIMEOUTS_PER_TARGET = 2


@dataclass(frozen=True)
class Call:
    """One requested call of a learner (or harness) function."""

    target: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    watch_args: bool = False
    timeout: float | None = None


@dataclass(frozen=True)
class Limits:
    """Resource limits for one sandboxed child."""

    call_timeout: float = 5.0
    # CPU time importing one learner module may use (ours need a few ms); a module that spins at import
    # costs this much, not a whole call timeout. CPU, not wall time: a busy machine never trips it.
    import_cpu: float = 0.5
    memory_mb: int = 768
    cpu_seconds: int = 60
    file_mb: int = 64
    output_chars: int = 20_000
    response_bytes: int = 4_000_000   # one answer
    answer_budget: int = 24_000_000   # all the answers of one sandbox (one grading): the grader's memory stays bounded
    network: bool = False
    # Installed distributions the child may import besides the standard library (and what they need);
    # nothing else of site-packages is in its root (namespace mode) or readable (process mode).
    libraries: tuple[str, ...] = ()
    start_timeout: float = 15.0
    grading_budget: float = 120.0

    def for_child(self) -> dict:
        return {
            "memory_mb": self.memory_mb, "cpu_seconds": self.cpu_seconds, "file_mb": self.file_mb,
            "output_chars": self.output_chars, "response_bytes": self.response_bytes,
        }


class Sandbox:
    """Runs entry points of one submission in an isolated child process.

    ``rpc`` maps names to parent-side handlers the child may call during a
    call (virtual time, for example); ``extra_files`` are written into the
    child's working folder next to the submission (hidden inputs).
    """

    def __init__(
        self,
        submission: Path,
        limits: Limits = Limits(),
        *,
        rpc: dict[str, Callable[..., Any]] | None = None,
        extra_files: dict[str, bytes] | None = None,
        preload: tuple[str, ...] = (),
        new_interpreter: bool = False,
        deadline: float | None = None,
    ):
        self.submission = Path(submission)
        self.new_interpreter = new_interpreter
        # When the whole grading must be over (time.monotonic()); no call waits past it, whatever the child says.
        self.deadline = deadline
        self.answer_bytes = 0
        self.limits = limits
        self.rpc = dict(rpc or {})
        self.extra_files = dict(extra_files or {})
        self.preload = tuple(preload)
        self.mode = isolation.detect()
        self._folder = None  # this child's scratch folder (graders/scratch.py), locked while in use
        self._child: ChildProcess | None = None
        self._next_id = 0
        self._fatal_import: dict[str, CallRecord] = {}
        self._protocol_failures = 0
        self._timeouts: dict[str, int] = {}
        self._poisoned: CallRecord | None = None
        self.starts = 0

    # -- lifecycle -------------------------------------------------------
    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the child and everything it started; remove its folder."""
        self._kill()
        if self._folder is not None:
            self._folder.close()
            self._folder = None

    def _start(self) -> ChildProcess:
        """A fresh child on a fresh copy of the submission."""
        if self._folder is not None:
            self._folder.close()
        self._folder = ChildProcess.prepare(self.submission, self.extra_files, self.mode)
        self._child = ChildProcess.start(self._folder.path, self.limits, self.mode,
                                         new_interpreter=self.new_interpreter)
        self.starts += 1
        return self._child

    def _kill(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.kill()

    # -- calls -----------------------------------------------------------
    def call(self, target: str, *args, watch_args: bool = False, timeout: float | None = None,
             measure_memory: bool = False, **kwargs) -> CallRecord:
        """Call ``module:function`` in the child with plain-data arguments.

        ``measure_memory``: the record's ``peak_growth_kb`` says how far the
        resident memory of the child's processes peaked above where it stood
        when the call began, read from the kernel by the grader (nothing the
        child reports is believed).
        """
        call = Call(target, args, kwargs, watch_args, timeout)
        if not measure_memory:
            return self.call_many([call])[0]
        if self._child is None and self.preload and self._poisoned is None:
            self._preload()
        try:
            child = self._child or self._start()
        except SubmissionError:
            return self.call_many([call])[0]  # records why the child could not start
        before = child.memory_kb(reset=True)
        record = self.call_many([call])[0]
        peak = child.memory_kb() if self._child is child else None
        if before is None or peak is None:
            return record
        return replace(record, peak_growth_kb=max(0, peak - before))

    def call_many(self, calls: list["Call"]) -> tuple[CallRecord, ...]:
        """Several calls, pipelined: requests stream to the child while answers stream back.

        Each call keeps its own timeout. A call that hangs or kills the child
        ends the stretch; the calls after it go to a fresh child.
        """
        records: list[CallRecord] = []
        i = 0
        while i < len(calls):
            if self._child is None and self.preload and self._poisoned is None:
                self._preload()
            quick = self._fail_fast(calls[i])
            if quick is not None:
                records.append(quick)
                i += 1
                continue
            got = self._pipeline(calls[i:])
            records.extend(got)
            i += len(got)
        return tuple(records)

    def read_folder(self, folder: str, names: tuple[str, ...], cap: int) -> dict:
        """What the child left in ``folder`` (relative to its work folder), read here, never through a link.

        ``{"listing": sorted names (at most 50) or None, "files": {name: up to cap+1 bytes, or None}}``:
        a file is None when absent, not a regular file, or reached through a symbolic link. Read by the
        grader from the host, so no code of the child's can change what it says.
        """
        out: dict = {"listing": None, "files": dict.fromkeys(names), "cap": cap}
        if self._folder is None:
            return out
        try:
            fd = _open_beneath(self._folder.path / "work", folder)
        except OSError:
            return out
        try:
            out["listing"] = sorted(os.listdir(fd))[:50]
            for name in names:
                try:
                    file_fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
                except OSError:
                    continue
                try:
                    if stat.S_ISREG(os.fstat(file_fd).st_mode):
                        with os.fdopen(os.dup(file_fd), "rb") as fh:
                            out["files"][name] = fh.read(cap + 1)
                finally:
                    os.close(file_fd)
        finally:
            os.close(fd)
        return out

    def _preload(self) -> None:
        """Import the learner's modules in a fresh child before any call (harness calls included).

        A module that hangs or kills the child while importing does so every
        time: every call of this grading then fails at once with that reason,
        instead of paying a timeout or a restart per call.
        """
        for record in self._pipeline([Call(f"{module}:") for module in self.preload]):
            if record.status in (CallStatus.CRASHED, CallStatus.TIMED_OUT):
                self._poisoned = record
                return

    def _fail_fast(self, c: "Call") -> CallRecord | None:
        module = c.target.partition(":")[0]
        if self._poisoned is None and self.deadline is not None and time.monotonic() >= self.deadline:
            self._poisoned = CallRecord(c.target, c.args, c.kwargs, CallStatus.TIMED_OUT,
                                        detail="the grading's time budget (used up; not run)")
        if self._poisoned is not None:
            return CallRecord(c.target, c.args, c.kwargs, self._poisoned.status, detail=self._poisoned.detail)
        if self._timeouts.get(c.target, 0) >= _MAX_TIMEOUTS_PER_TARGET:
            # A function that hung twice will hang again: fail fast instead of paying the timeout each call.
            return CallRecord(c.target, c.args, c.kwargs, CallStatus.TIMED_OUT,
                              detail=f"{self.limits.call_timeout:g} s twice already (not run again)")
        if module in self._fatal_import:
            known = self._fatal_import[module]
            return CallRecord(c.target, c.args, c.kwargs, known.status, error=known.error, detail=known.detail)
        return None

    def _pipeline(self, stretch: list["Call"]) -> list[CallRecord]:
        """Run calls in one child until they are done or one fails the child; at least one record."""
        first = stretch[0]
        started = time.monotonic()
        try:
            child = self._child or self._start()
        except SubmissionError as exc:
            return [CallRecord(first.target, first.args, first.kwargs, CallStatus.CRASHED,
                               detail=str(exc).removeprefix("the sandbox "))]
        outgoing = bytearray()
        ids = []
        for c in stretch:
            self._next_id += 1
            ids.append(self._next_id)
            outgoing += wire.dumps({
                "op": "call", "id": self._next_id, "target": c.target, "args": wire.to_plain(list(c.args)),
                "kwargs": wire.to_plain(c.kwargs), "watch_args": c.watch_args,
            })
        records: list[CallRecord] = []
        fd_r, fd_w = child.proc.stdout.fileno(), child.proc.stdin.fileno()
        limit = self.limits.response_bytes + 65536
        k = 0
        call_started = started
        timeout = self._timeout_of(first)
        cpu_check: float | None = None  # while a learner module imports: when to look at its CPU time next
        cpu_base = 0.0
        clock_restarted = False  # an import restarts a call's clock once; more "importing" events do not
        while k < len(stretch):
            c = stretch[k]
            try:
                message = child.buffered_message()
            except ProtocolError as exc:
                self._kill()
                return records + [self._protocol_failure(c.target, c.args, c.kwargs, call_started, str(exc))]
            if message is None:
                now = time.monotonic()
                if cpu_check is not None and now >= cpu_check:
                    used = child.cpu_seconds()
                    used = now - call_started if used is None else used - cpu_base
                    if used >= self.limits.import_cpu * 0.98:
                        return records + [self._timed_out(child, c, call_started, timeout, cpu=used)]
                    cpu_check = now + max(0.05, self.limits.import_cpu - used)
                if self.deadline is not None and now >= self.deadline:
                    self._kill()
                    self._poisoned = CallRecord(c.target, c.args, c.kwargs, CallStatus.TIMED_OUT,
                                                detail="the grading's time budget (stopped)")
                    return records + [self._poisoned]
                wait = call_started + timeout - now
                if wait <= 0:
                    return records + [self._timed_out(child, c, call_started, timeout)]
                if self.deadline is not None:
                    wait = min(wait, self.deadline - now)
                if cpu_check is not None:
                    wait = max(0.0, min(wait, cpu_check - now))
                if outgoing:  # the pipe is non-blocking: write what fits now, select for the rest
                    try:
                        written = os.write(fd_w, outgoing[:65536])
                        del outgoing[:written]
                    except BlockingIOError:
                        pass
                    except OSError:
                        return records + [self._crashed(child, c.target, c.args, c.kwargs, call_started)]
                readable, _, _ = select.select([fd_r], [fd_w] if outgoing else [], [], wait)
                if readable:
                    chunk = os.read(fd_r, 1 << 20)
                    if not chunk:
                        return records + [self._crashed(child, c.target, c.args, c.kwargs, call_started)]
                    self.answer_bytes += len(chunk)
                    if self.answer_bytes > self.limits.answer_budget:
                        self._kill()
                        self._poisoned = CallRecord(
                            c.target, c.args, c.kwargs, CallStatus.CRASHED,
                            detail=f"its answers passed the grading's {self.limits.answer_budget // 1_000_000} MB "
                                   "budget (stopped)")
                        return records + [self._poisoned]
                    child.buf += chunk
                    if len(child.buf) > limit and b"\n" not in child.buf:
                        self._kill()
                        return records + [self._protocol_failure(
                            c.target, c.args, c.kwargs, call_started,
                            f"the process sent more than {limit} bytes in one answer")]
                continue
            if "rpc" in message:
                outgoing += self._answer_rpc(message)
                continue
            if message.get("event") == "importing":
                if clock_restarted:
                    continue  # written by hand to hold the clock back: the call keeps its deadline
                clock_restarted = True
                child.importing = str(message.get("module"))[:200]
                # The call's clock restarts for the import; a learner module also gets a CPU
                # budget (trusted harnesses may import heavy libraries such as duckdb).
                call_started = time.monotonic()
                if not str(child.importing).startswith("_iclab_"):
                    base = message.get("cpu")
                    cpu_base = float(base) if isinstance(base, (int, float)) and base >= 0 else 0.0
                    cpu_check = call_started + self.limits.import_cpu
                continue
            if message.get("event") == "imported":
                child.importing = None
                cpu_check = None
                continue
            if message.get("id") != ids[k]:
                self._kill()
                return records + [self._protocol_failure(
                    c.target, c.args, c.kwargs, call_started,
                    "the process answered a call that was not asked (the answer channel was tampered with)")]
            now = time.monotonic()
            records.append(self._record(c.target, c.args, c.kwargs, message, now - call_started))
            k += 1
            call_started = now
            clock_restarted = False
            if k < len(stretch):
                timeout = self._timeout_of(stretch[k])
        return records

    def _timeout_of(self, c: "Call") -> float:
        return self.limits.call_timeout if c.timeout is None else c.timeout

    def _timed_out(self, child: ChildProcess, c: "Call", started: float, timeout: float,
                   cpu: float | None = None) -> CallRecord:
        importing = child.importing
        self._kill()
        duration = time.monotonic() - started
        if importing:
            # Read after "f() did not return within ...": a duration first.
            detail = (f"{cpu:.1f} s of CPU: importing {importing}.py never finished (the limit for an import)"
                      if cpu is not None else f"{timeout:g} s: importing {importing}.py never finished")
            record = CallRecord(c.target, c.args, c.kwargs, CallStatus.TIMED_OUT, detail=detail, duration=duration)
            self._fatal_import[importing] = record
            return record
        self._timeouts[c.target] = self._timeouts.get(c.target, 0) + 1
        return CallRecord(c.target, c.args, c.kwargs, CallStatus.TIMED_OUT, detail=f"{timeout:g} s (stopped)",
                          duration=duration)

    def _record(self, target, args, kwargs, reply: dict, duration: float) -> CallRecord:
        output = reply.get("output") if isinstance(reply.get("output"), str) else ""
        if reply.get("ok"):
            after = reply.get("args_after")
            return CallRecord(
                target, args, kwargs, CallStatus.RETURNED, value=reply.get("value"),
                args_after=tuple(after) if isinstance(after, list) else None,
                kwargs_after=reply.get("kwargs_after"), output=output, duration=duration,
            )
        raw = reply.get("error") if isinstance(reply.get("error"), dict) else {}
        error = CallError(
            type=str(raw.get("type", "Error"))[:100], message=str(raw.get("message", ""))[:2000],
            stage=str(raw.get("stage", "call")), attrs=raw.get("attrs") if isinstance(raw.get("attrs"), dict) else {},
            traceback=str(raw.get("traceback", ""))[:4000],
        )
        after = reply.get("args_after")
        return CallRecord(target, args, kwargs, CallStatus.RAISED, error=error, output=output, duration=duration,
                          args_after=tuple(after) if isinstance(after, list) else None,
                          kwargs_after=reply.get("kwargs_after"))

    def _protocol_failure(self, target, args, kwargs, started, reason: str) -> CallRecord:
        """A broken answer channel; after the second, every later call fails at once with the same reason."""
        self._protocol_failures += 1
        record = CallRecord(target, args, kwargs, CallStatus.CRASHED, detail=reason, duration=time.monotonic() - started)
        if self._protocol_failures >= 2:
            self._poisoned = record
        return record

    def _crashed(self, child: ChildProcess, target, args, kwargs, started) -> CallRecord:
        reason = child.death_reason()
        importing = child.importing
        self._kill()
        if importing:
            reason = f"the process ended while importing {importing}.py ({reason})"
        record = CallRecord(target, args, kwargs, CallStatus.CRASHED, detail=reason, duration=time.monotonic() - started)
        if importing:
            # Dying at import is deterministic: the same module kills every fresh child.
            self._fatal_import[importing] = record
        return record

    def _answer_rpc(self, request: dict) -> bytes:
        name = request.get("rpc")
        handler = self.rpc.get(name)
        reply: dict = {"op": "rpc_result", "rid": request.get("rid")}
        if handler is None:
            reply.update(ok=False, error=f"no handler named {name!r}")
        else:
            try:
                args = request.get("args") if isinstance(request.get("args"), list) else []
                reply.update(ok=True, value=wire.to_plain(handler(*args)))
            except Exception as exc:  # a bad request from the child is its own problem
                reply.update(ok=False, error=f"{type(exc).__name__}: {exc}"[:300])
        return wire.dumps(reply)
