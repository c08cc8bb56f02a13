"""A sandboxed child process: its folder, its launch, its pipes, its death.

``ChildProcess.prepare`` lays out a fresh folder (a copy of the submission
and hidden input files); ``start`` has the child forked by the thread's warm
fork server (namespace mode, zygote.py) or launches ``_iclab_child.py`` under
the machine's isolation, and waits for its hello; ``kill`` stops it and
everything it started. The calling protocol lives in ``process.py``.
"""
from __future__ import annotations

import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from .. import paths
from ..errors import SubmissionError
from . import folders, isolation, launcher, rootfs, zygote
from .runtime import _iclab_wire as wire
from .runtime._iclab_proc import tree_cpu_seconds, tree_memory_kb

__all__ = ["ChildProcess", "ProtocolError", "copy_submission"]

_MAX_SUBMISSION_BYTES = 20 * 1024 * 1024
_MAX_SUBMISSION_FILES = 2000
_SKIP_DIRS = {"__pycache__", ".git", ".venv", "venv", ".pytest_cache", "node_modules", ".mypy_cache"}


class ProtocolError(Exception):
    """The child broke the answer channel."""


# An honest child nests values at most wire.MAX_DEPTH deep, plus the tagged wrappers around them;
# a deeper one was written by hand to reach the grader's recursion limit in a check.
_MAX_DEPTH = 2 * wire.MAX_DEPTH + 20


def _deeper_than(value, limit: int) -> bool:
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
            stack.extend((k, depth + 1) for k in item if isinstance(k, tuple))
        elif isinstance(item, (list, tuple, frozenset)):
            stack.extend((v, depth + 1) for v in item)
    return False


def copy_submission(src: Path, dest: Path) -> None:
    """Copy a submission folder, skipping caches and links, refusing oversized ones."""
    total = 0
    count = 0
    for root, dirs, files in os.walk(src, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not os.path.islink(os.path.join(root, d)))
        rel = os.path.relpath(root, src)
        target_dir = dest if rel == "." else dest / rel
        target_dir.mkdir(parents=True, exist_ok=True)
        for name in sorted(files):
            path = os.path.join(root, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            count += 1
            total += os.path.getsize(path)
            if count > _MAX_SUBMISSION_FILES or total > _MAX_SUBMISSION_BYTES:
                raise SubmissionError(
                    f"{src}: submission is larger than {_MAX_SUBMISSION_FILES} files "
                    f"or {_MAX_SUBMISSION_BYTES // (1024 * 1024)} MB"
                )
            shutil.copyfile(path, target_dir / name)


def _sandbox_base() -> Path:
    return folders.base()


_BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TZ": "UTC"}


def _child_env(work: Path, token: str, mode: str, scratch: str = "/tmp") -> dict[str, str]:
    if mode == isolation.Isolation.NAMESPACE:  # the child sees its folder as /work and a private scratch folder
        return {**_BASE_ENV, "HOME": WORK, "TMPDIR": scratch, "ICLAB_SANDBOX_TOKEN": token}
    return {**_BASE_ENV, "HOME": str(work), "TMPDIR": str(work / "tmp"), "ICLAB_SANDBOX_TOKEN": token}


WORK = "/submission"  # where a namespace-mode child finds its folder (= runtime/_iclab_isolate.WORK)
TMP_MB = 16     # its private /tmp


def _own(folder: Path, uid: int) -> None:
    """Hand a fresh sandbox folder to the unprivileged id the child runs as."""
    os.chown(folder, uid, uid)
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)


class _OutputDrain(threading.Thread):
    """Reads the child's stray fd-level output so it can never block; keeps the tail."""

    def __init__(self, stream, cap: int = 8192):
        super().__init__(daemon=True)
        self.stream = stream
        self.cap = cap
        self.tail = b""

    def run(self) -> None:
        try:
            while chunk := self.stream.read1(65536) if hasattr(self.stream, "read1") else self.stream.read(65536):
                self.tail = (self.tail + chunk)[-self.cap:]
        except (OSError, ValueError):
            pass

    def last_line(self) -> str:
        lines = [ln for ln in self.tail.decode("utf-8", "replace").splitlines() if ln.strip()]
        return lines[-1][:200] if lines else ""


class ChildProcess:
    """One running child: its process, pipes, read buffer and output drain."""

    def __init__(self, proc: subprocess.Popen, token: str, drain: _OutputDrain, mode: str):
        self.proc = proc
        self.token = token
        self.drain = drain
        self.mode = mode
        self.buf = b""
        self.importing: str | None = None

    @staticmethod
    def prepare(submission: Path, extra_files: dict[str, bytes], mode: str):
        """A fresh, locked sandbox folder (``.path``; ``.close()`` removes it) holding work/: the submission
        and hidden inputs, owned by the id the child runs as."""
        folder = folders.new_folder("sb-")
        root = folder.path
        work = root / "work"
        work.mkdir()
        copy_submission(submission, work)
        for rel, data in extra_files.items():
            target = work / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        (work / "tmp").mkdir(exist_ok=True)
        uid = launcher.child_host_uid() if mode == isolation.Isolation.NAMESPACE else isolation.process_uid()
        if uid is not None:
            _own(work, uid)
        return folder

    @classmethod
    def start(cls, root: Path, limits, mode: str, *, new_interpreter: bool = False) -> "ChildProcess":
        """Start the child in ``root`` and wait for its hello; SubmissionError if it never says it.

        In namespace mode the child is forked by this thread's warm fork server
        (zygote.py) unless its lab needs libraries that server lacks, or
        ``new_interpreter`` asks for a process that shares nothing with any
        earlier one, not even the hash seed; then (or if that server fails) a
        new interpreter is launched, in the same kind of sandbox. In process
        mode a new interpreter is launched as a plain process.
        """
        work = root / "work"
        token = secrets.token_hex(8)
        env = _child_env(work, token, mode)
        hidden = paths.hidden_from_learners()
        if mode == isolation.Isolation.NAMESPACE:
            config = {"workdir": WORK, "limits": limits.for_child(), "site": zygote.site_dirs()}
        else:
            config = {"workdir": str(work), "limits": limits.for_child(), "site": zygote.site_dirs(),
                      "seccomp": True}
        proc = None
        forked = mode == isolation.Isolation.NAMESPACE and zygote.enabled() and not new_interpreter
        # Two tries: a server that died since its last child is noticed on the first and replaced.
        for _ in range(2 if forked else 0):
            try:
                server = zygote.for_this_thread(_sandbox_base(), _BASE_ENV, network=limits.network, hidden=hidden)
                wanted = set(rootfs.closure(tuple(limits.libraries)))
                if not wanted <= {name for name, _ in server.plan.libraries}:
                    break  # a library the server's root lacks: this child gets a root of its own
                seal = {"tmp_mb": TMP_MB, "hide": server.plan.hide(tuple(limits.libraries)),
                        "drop_to_uid": launcher.child_host_uid() is not None, "scratch": server.plan.scratch}
                env = _child_env(work, token, mode, server.plan.scratch)
                proc = server.spawn(config, env, work, seal)
                break
            except zygote.ZygoteError:
                proc = None
        if proc is None:
            proc = cls._launch(root, config, env, limits, mode, hidden)
        os.set_blocking(proc.stdin.fileno(), False)
        drain = _OutputDrain(proc.stderr)
        drain.start()
        child = cls(proc, token, drain, mode)
        hello = child.read_message(time.monotonic() + limits.start_timeout)
        if not isinstance(hello, dict) or hello.get("event") != "ready":
            reason = child.death_reason()
            child.kill()
            raise SubmissionError(f"the sandbox could not start: {reason}")
        return child

    @staticmethod
    def _launch(root: Path, config: dict, env: dict[str, str], limits, mode: str, hidden: list[Path]):
        """A new interpreter for the child, with its own copy of the runtime."""
        work, rt = root / "work", root / "rt"
        zygote.copy_runtime(rt)
        pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        if mode != isolation.Isolation.NAMESPACE:
            try:
                plan = rootfs.plan_root(rt, hidden, libraries=tuple(limits.libraries))
            except rootfs.RootError as exc:
                raise SubmissionError(f"the sandbox could not start: {exc}") from None
            from . import network

            config["landlock"] = {**rootfs.landlock_rules(plan, work),
                                  "ports": network.process_ports() if limits.network else []}
            uid = isolation.process_uid()
            ids = {}
            if uid is not None:
                ids = {"user": uid, "group": uid, "extra_groups": []}
            # -S skips site.py and its .pth hooks (a third of the child's start-up); the child adds the
            # site-packages folders itself, so installed libraries still import.
            return subprocess.Popen([sys.executable, "-I", "-S", str(rt / "_iclab_child.py"), wire.json.dumps(config)],
                                    cwd=str(work), env=env, start_new_session=True, close_fds=True, **pipes, **ids)
        try:
            plan = rootfs.plan_root(rt, hidden, libraries=tuple(limits.libraries))
        except rootfs.RootError as exc:
            raise SubmissionError(f"the sandbox could not start: {exc}") from None
        join = None
        if limits.network:
            holder = zygote.current(True)
            if holder is None and zygote.enabled():
                try:
                    holder = zygote.for_this_thread(_sandbox_base(), _BASE_ENV, network=True, hidden=hidden)
                except zygote.ZygoteError:
                    holder = None
            if holder is not None:
                join = holder.namespaces()  # the thread's network, where its mock services listen
        env = _child_env(work, env["ICLAB_SANDBOX_TOKEN"], mode, plan.scratch)
        try:
            extra = {"child": config, "open": [str(work)], "open_at": [zygote.SANDBOXES], "work": zygote.SANDBOXES,
                     "tmp_mb": TMP_MB, "hide": [], "seccomp": True,
                     "drop_to_uid": launcher.child_host_uid() is not None,
                     "host_network": bool(limits.network and join is None)}
            return launcher.boot("child", plan, rt, network=bool(limits.network), extra=extra,
                                 cwd=root, env=env, join=join, **pipes)
        except launcher.BootError as exc:
            raise SubmissionError(f"the sandbox could not start: {exc}") from None
        finally:
            for fd in (join or {}).values():
                os.close(fd)

    def kill(self) -> None:
        """Stop the child and everything it started."""
        proc = self.proc
        if isinstance(proc, zygote.ForkedProcess):
            proc.kill_all()
        else:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self.mode == isolation.Isolation.PROCESS:
            _sweep(self.token, proc.pid, isolation.process_uid())
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.drain.join(timeout=1)
        try:
            proc.stderr.close()
        except OSError:
            pass

    def cpu_seconds(self) -> float | None:
        """CPU time the child and everything it started used so far; None if it cannot be told."""
        if isinstance(self.proc, zygote.ForkedProcess):
            return self.proc.cpu_seconds()
        return tree_cpu_seconds(self.proc.pid)

    def memory_kb(self, reset: bool = False) -> int | None:
        """Resident KiB of the child's tree now (``reset``: and restart its peak), or its peak since; from the kernel."""
        if isinstance(self.proc, zygote.ForkedProcess):
            return self.proc.memory_kb(reset)
        return tree_memory_kb(self.proc.pid, reset)

    def death_reason(self) -> str:
        """Why the child stopped, in words a learner can act on."""
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "it stopped answering"
        self.drain.join(timeout=1)
        if code is None:
            return "it stopped answering"
        if code < 0 or code > 128:
            signum = -code if code < 0 else code - 128
            try:
                name = signal.Signals(signum).name
            except ValueError:
                name = f"signal {signum}"
            hint = {"SIGKILL": "killed; memory or CPU limit?", "SIGXCPU": "CPU time limit reached",
                    "SIGSEGV": "crashed, often runaway recursion", "SIGXFSZ": "file size limit reached"}.get(name)
            text = f"killed by {name}" + (f" ({hint})" if hint else "")
        else:
            text = f"the process exited with code {code}"
        last = self.drain.last_line()
        if last and "Error" in last:
            text += f"; last output: {last}"
        return text

    def buffered_message(self):
        """The next complete message already read from the child, or None."""
        if b"\n" not in self.buf:
            return None
        line, _, self.buf = self.buf.partition(b"\n")
        try:
            message = wire.loads(line)
        except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested thousands deep
            raise ProtocolError(f"the process broke the answer channel ({exc.__class__.__name__})") from None
        if not isinstance(message, dict):
            raise ProtocolError("the process broke the answer channel (not an object)")
        if _deeper_than(message, _MAX_DEPTH):
            raise ProtocolError(f"the process sent a value nested deeper than {_MAX_DEPTH} levels")
        return message

    def read_message(self, deadline: float):
        """Next message, or None on EOF or when the deadline passes (used for the start-up handshake)."""
        fd = self.proc.stdout.fileno()
        while True:
            message = self.buffered_message()
            if message is not None:
                return message
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return None
            self.buf += chunk


def _uid_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"Uid:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _sweep(token: str, pgid: int, uid: int | None) -> None:
    """Kill leftovers of a process-mode child, and delete what it left in the shared scratch folders.

    With an id of its own (the grader runs as root), every process of that id
    dies, however it escaped (a new session, an empty environment), and every
    file it left in /tmp, /var/tmp and /dev/shm goes. Otherwise: its group,
    its session and anything carrying its token.
    """
    needle = f"ICLAB_SANDBOX_TOKEN={token}".encode()
    me = os.getpid()
    for _ in range(3 if uid is not None else 1):  # a process may fork while the sweep runs: go round again
        hits = 0
        for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
            if not entry.isdigit() or int(entry) == me:
                continue
            pid = int(entry)
            if uid is not None:
                hit = _uid_of(pid) == uid
            else:
                try:
                    with open(f"/proc/{pid}/stat", "rb") as fh:
                        fields = fh.read().rsplit(b")", 1)[1].split()
                    pgrp, sid = int(fields[2]), int(fields[3])
                    hit = pgrp == pgid or sid == pgid
                    if not hit:
                        with open(f"/proc/{pid}/environ", "rb") as fh:
                            hit = needle in fh.read()
                except (OSError, IndexError, ValueError):
                    continue
            if hit:
                hits += 1
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        if not hits:
            break
    if uid is not None:
        for scratch in ("/tmp", "/var/tmp", "/dev/shm"):
            _remove_owned(Path(scratch), uid)


def _remove_owned(folder: Path, uid: int) -> None:
    """Delete every entry directly in ``folder`` that belongs to ``uid`` (and everything under it)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.stat(follow_symlinks=False).st_uid != uid:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
        except OSError:
            continue
