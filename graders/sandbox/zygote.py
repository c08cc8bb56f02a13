"""Grader side of the fork server (runtime/_iclab_zygote.py): warm children in namespace mode.

Each grading thread gets its own server, per network setting, started on
first use and stopped when the thread ends or the grader exits. A child is a
``ForkedProcess``: the three pipes and ``wait``/``kill`` of a ``Popen``,
served by the fork server. If a server cannot start or dies, callers fall
back to launching an interpreter per child (``ZygoteError``).
"""
from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path

from . import folders, launcher, rootfs

__all__ = ["ForkedProcess", "Zygote", "ZygoteError", "copy_runtime", "enabled", "for_this_thread", "site_dirs"]

_RUNTIME_DIR = Path(__file__).with_name("runtime")
SANDBOXES = "/.sandboxes"  # = runtime/_iclab_isolate.SANDBOXES: where the sandboxes' folder is in the root
_REPLY_TIMEOUT = 15.0


class ZygoteError(Exception):
    """The fork server failed (not the child): launch the child another way."""


def enabled() -> bool:
    """Fork server on unless ``ICLAB_FORKSERVER=0`` (namespace mode only)."""
    return os.environ.get("ICLAB_FORKSERVER", "1").strip() != "0"


def site_dirs() -> list[str]:
    """The installed libraries' folders (children run ``python -S`` and add these themselves).

    Every site-packages folder on the grader's path, those a ``.pth`` file added
    included (a venv that borrows another's libraries, a user's own folder).
    """
    import site

    found = list(site.getsitepackages()) + [p for p in sys.path if p.rstrip("/").endswith(("site-packages", "dist-packages"))]
    return [d for d in dict.fromkeys(found) if os.path.isdir(d)]


def copy_runtime(dest: Path) -> None:
    dest.mkdir()
    for name in os.listdir(_RUNTIME_DIR):
        if name.endswith(".py"):
            shutil.copyfile(_RUNTIME_DIR / name, dest / name)


def _shutdown(sock: socket.socket, proc: subprocess.Popen, folder) -> None:
    sock.close()  # the server reads EOF and exits; as PID 1 it takes its children with it
    try:
        proc.wait(timeout=0.5)
    except subprocess.TimeoutExpired:  # busy: nothing it does now matters any more
        proc.kill()
        proc.wait()
    folder.close()


class Zygote:
    """One fork server process and the socket to it; each thread uses its own (``for_this_thread``)."""

    def __init__(self, base: Path, env: dict[str, str], *, network: bool, hidden: list[Path]):
        self._lock = threading.Lock()
        self.network = network
        self.base = base
        self.folder = folders.new_folder("zy-", 0o755)  # the runtime is bound from here, read by an unprivileged id
        self.root = self.folder.path
        self.rt = self.root / "rt"
        copy_runtime(self.rt)
        try:
            self.plan = rootfs.plan_root(self.rt, hidden)
        except rootfs.RootError as exc:
            self.folder.close()
            raise ZygoteError(str(exc)) from None
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        log = open(self.root / "server.log", "wb")
        try:
            self.proc = launcher.boot(
                "zygote", self.plan, self.rt, network=network, cwd=self.root, env=env, stderr=log,
                extra={"control": theirs.fileno(), "site": site_dirs(), "seccomp": True,
                       "open": [str(base)], "open_at": [SANDBOXES]},
                pass_fds=(theirs.fileno(),))
        except launcher.BootError as exc:
            self.sock.close()
            self.folder.close()
            raise ZygoteError(f"the fork server could not start: {exc}") from None
        finally:
            log.close()
            theirs.close()
        self._finalizer = weakref.finalize(self, _shutdown, self.sock, self.proc, self.folder)
        self.dead = False
        try:
            hello, _ = self._receive()  # sent once a test child went through the whole set-up
        except ZygoteError:
            self.close()
            raise
        self.seccomp = bool(hello.get("seccomp"))

    def close(self) -> None:
        self.dead = True
        self._finalizer()

    def _receive(self) -> tuple[dict, list[int]]:
        deadline = time.monotonic() + _REPLY_TIMEOUT
        while True:
            ready, _, _ = select.select([self.sock], [], [], max(0.0, deadline - time.monotonic()))
            if ready:
                break
            if time.monotonic() >= deadline:
                self._fail("did not answer")
        try:
            data, fds, _flags, _addr = socket.recv_fds(self.sock, 65536, 4)
        except OSError as exc:
            self._fail(str(exc))
        if not data:
            self._fail("stopped")
        reply = json.loads(data)
        if not reply.get("ok"):
            for fd in fds:
                os.close(fd)
            raise ZygoteError(f"the fork server refused: {reply.get('error')}")
        return reply, fds

    def _fail(self, what: str):
        try:
            log = (self.root / "server.log").read_bytes()[-300:].decode("utf-8", "replace").strip()
        except OSError:
            log = ""
        self.close()
        raise ZygoteError(f"the fork server {what}" + (f": {log}" if log else ""))

    def _request(self, request: dict, fds: list[int] = ()) -> tuple[dict, list[int]]:
        with self._lock:  # one request at a time, even if a child is stopped from another thread
            if self.dead:
                raise ZygoteError("the fork server is stopped")
            try:
                socket.send_fds(self.sock, [json.dumps(request).encode()], list(fds))
            except OSError as exc:
                self._fail(f"could not be reached ({exc})")
            return self._receive()

    def _ask(self, request: dict) -> dict:
        return self._request(request)[0]

    def spawn(self, config: dict, env: dict[str, str], work: Path, seal: dict) -> "ForkedProcess":
        """A child with fresh pipes on its fds 0, 1 and 2, sealed around ``work`` (its only writable folder)."""
        try:
            inside = f"{SANDBOXES}/{work.relative_to(self.base).as_posix()}"
        except ValueError:
            raise ZygoteError(f"{work} is not under this server's sandboxes folder") from None
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            reply, _ = self._request({"op": "spawn", "config": config, "env": env, "work": inside, "seal": seal},
                                     [in_r, out_w, err_w])
        except BaseException:
            for fd in (in_w, out_r, err_r):
                os.close(fd)
            raise
        finally:
            for fd in (in_r, out_w, err_w):
                os.close(fd)
        return ForkedProcess(self, int(reply["pid"]), in_w, out_r, err_r)

    def wait(self, pid: int, timeout: float) -> int | None:
        return self._ask({"op": "wait", "pid": pid, "timeout": timeout}).get("code")

    def kill(self, pid: int) -> int | None:
        return self._ask({"op": "kill", "pid": pid}).get("code")

    def cpu_seconds(self, pid: int) -> float | None:
        return self._ask({"op": "cpu", "pid": pid}).get("seconds")

    def memory_kb(self, pid: int, reset: bool) -> int | None:
        return self._ask({"op": "mem", "pid": pid, "reset": reset}).get("kb")

    def listener(self) -> socket.socket:
        """A TCP socket listening on 127.0.0.1 in this server's network namespace, for a mock service."""
        reply, fds = self._request({"op": "listen"})
        if len(fds) != 1:
            raise ZygoteError("the fork server sent no listening socket")
        return socket.socket(fileno=fds[0])

    def namespaces(self) -> dict[str, int]:
        """Descriptors of this server's user and network namespaces (the caller closes them)."""
        _, fds = self._request({"op": "namespaces"})
        if len(fds) != 2:
            raise ZygoteError("the fork server sent no namespaces")
        return {"user": fds[0], "net": fds[1]}


class ForkedProcess:
    """What ``ChildProcess`` needs of a ``Popen``, for a child of the fork server."""

    def __init__(self, zygote: Zygote, pid: int, stdin_fd: int, stdout_fd: int, stderr_fd: int):
        self.zygote = zygote
        self.pid = pid
        self.stdin = os.fdopen(stdin_fd, "wb", buffering=0)
        self.stdout = os.fdopen(stdout_fd, "rb", buffering=0)
        self.stderr = os.fdopen(stderr_fd, "rb")
        self.returncode: int | None = None

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            try:
                self.returncode = self.zygote.wait(self.pid, 3600.0 if timeout is None else timeout)
            except ZygoteError:
                self.returncode = -9  # the server died, and every child of it
        if self.returncode is None:
            raise subprocess.TimeoutExpired("sandbox", timeout)
        return self.returncode

    def cpu_seconds(self) -> float | None:
        """CPU time the child and its descendants used so far (None if unknown)."""
        if self.returncode is not None:
            return None
        try:
            return self.zygote.cpu_seconds(self.pid)
        except ZygoteError:
            return None

    def memory_kb(self, reset: bool = False) -> int | None:
        """Resident KiB of the child's tree now (``reset``: and restart its peak), or its peak since."""
        if self.returncode is not None:
            return None
        try:
            return self.zygote.memory_kb(self.pid, reset)
        except ZygoteError:
            return None

    def kill_all(self) -> None:
        """Kill the child and everything it started (it is PID 1 of its namespace)."""
        if self.returncode is None:
            try:
                self.returncode = self.zygote.kill(self.pid)
            except ZygoteError:
                self.returncode = -9


_local = threading.local()
_unusable: str | None = None  # why a fork server could not start here; then none is tried again


def _forget_servers() -> None:
    global _local
    _local = threading.local()  # a forked copy of the grader must not talk to its parent's servers


os.register_at_fork(after_in_child=_forget_servers)


def for_this_thread(base: Path, env: dict[str, str], *, network: bool, hidden: list[Path]) -> Zygote:
    """This thread's fork server for ``network``, started on first use (ZygoteError if it cannot)."""
    global _unusable
    if _unusable:
        raise ZygoteError(_unusable)
    servers = getattr(_local, "servers", None)
    if servers is None:
        servers = _local.servers = {}
    zygote = servers.get(network)
    if zygote is None or zygote.dead:
        try:
            zygote = servers[network] = Zygote(base, env, network=network, hidden=hidden)
        except ZygoteError as exc:
            _unusable = str(exc)
            raise
    return zygote


def current(network: bool) -> Zygote | None:
    """This thread's live fork server for ``network``, if it has one."""
    zygote = (getattr(_local, "servers", None) or {}).get(network)
    return zygote if zygote is not None and not zygote.dead else None
