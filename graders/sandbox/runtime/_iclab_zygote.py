"""A warm interpreter that forks sandboxed children on request: namespace mode's fork server.

Started by the grader (graders/sandbox/zygote.py) under ``unshare``, so it is
PID 1 of its own PID and mount namespaces. It imports the child runtime once;
each child is then a ``fork`` of this process instead of a new interpreter
(start-up was two thirds of a short grading). Every child is PID 1 of a PID
namespace of its own, nested in this one, and gets a mount namespace of its
own and a fresh /proc before ``_iclab_child.run`` seals it and drops every
capability, as an exec'd child would. No learner code ever runs here.

Requests are JSON datagrams on a SOCK_SEQPACKET socket; ``spawn`` carries the
child's three pipe ends (stdin, stdout, stderr) as SCM_RIGHTS:

    {"op": "spawn", "config": {...}, "env": {...}, "cwd": DIR} + 3 fds -> {"ok": true, "pid": N}
    {"op": "wait", "pid": N, "timeout": T}  -> {"ok": true, "code": C | null}   (null: still running)
    {"op": "kill", "pid": N}                -> {"ok": true, "code": C | null}
    {"op": "cpu", "pid": N}                 -> {"ok": true, "seconds": S | null}   (the child and its descendants)
    {"op": "mem", "pid": N, "reset": B}     -> {"ok": true, "kb": K | null}   (resident KiB now, or peak since reset)

Codes follow ``subprocess``: negative for a signal. When the grader hangs up
this process exits, and with it, as PID 1, every child it made.

Children of one server share its network namespace (none at all, for labs
without network). One server belongs to one grading thread, whose gradings
come one after another, and a child's processes all die with it, so a child
never overlaps another learner's.
"""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # python -I leaves this folder off the path
from _iclab_isolate import MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_REC, PR_SET_PDEATHSIG, check, libc, mount  # noqa: E402
from _iclab_proc import tree_cpu_seconds, tree_memory_kb  # noqa: E402

CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWIPC = 0x00020000, 0x20000000, 0x08000000
_WARM = (  # imported once here, so every child starts with them in memory
    # the child runtime and the labs' harnesses (trusted, no state set up at import)
    "_iclab_child", "_iclab_isolate", "_iclab_rpc", "_iclab_wire", "_iclab_csv_batch", "_iclab_http",
    "_iclab_log_triage", "_iclab_mapping_tests", "_iclab_pii_logging", "_iclab_sql_recon",
    # what submissions commonly import
    "base64", "collections", "copy", "csv", "dataclasses", "datetime", "decimal", "email.utils", "enum",
    "functools", "hashlib", "hmac", "inspect", "itertools", "json", "logging", "math", "pathlib", "random", "re",
    "string", "tempfile", "textwrap", "typing", "urllib.parse", "uuid", "zoneinfo", "lxml.etree",
)
_WARM_NETWORK = ("requests",)  # only labs that talk to a mock service use it: 70 ms to import

def _prepare_child(fds: list[int], env: dict, cwd: str) -> None:
    """In the forked child: own session, pipes on 0-2, nothing else open, own mounts and /proc."""
    check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")
    if os.getpid() != 1:
        raise OSError(0, "the child is not PID 1 of a PID namespace of its own")
    os.setsid()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    os.closerange(3, os.sysconf("SC_OPEN_MAX") if os.sysconf("SC_OPEN_MAX") > 0 else 65536)
    # Own mounts, and own System V IPC objects (gone with the child, unseen by the next one).
    check(libc.unshare(CLONE_NEWNS | CLONE_NEWIPC), "unshare mount and IPC namespaces")
    mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing mounted here reaches the server's namespace
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.environ.clear()
    os.environ.update(env)
    time.tzset()
    os.chdir(cwd)


def _become_child(fds: list[int], config: dict | None, env: dict, cwd: str) -> None:
    """Prepare, then serve the grader (``config``), or only exit 0 (``None``: the start-up self-test)."""
    import _iclab_child

    try:
        _prepare_child(fds, env, cwd)
    except BaseException as exc:  # never serve half set up
        os.write(2, f"iclab sandbox: the fork server could not prepare the child: {exc}\n".encode())
        os._exit(70)
    if config is None:
        os._exit(0)
    try:
        _iclab_child.run(config)
    except BaseException:
        os._exit(70)
    os._exit(0)


class Server:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.pid_ns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        self.live: set[int] = set()

    def _fork(self, fds: list[int], config: dict | None, env: dict, cwd: str) -> int:
        check(libc.unshare(CLONE_NEWPID), "unshare PID namespace")  # the next child is PID 1 of a new one
        try:
            pid = os.fork()
        except BaseException:
            self._restore_pid_ns()
            raise
        if pid == 0:
            _become_child(fds, config, env, cwd)  # never returns
        self._restore_pid_ns()
        return pid

    def self_test(self) -> str | None:
        """Take one child through the whole set-up; why it failed, or None. Run once, before serving."""
        null = os.open(os.devnull, os.O_RDWR)
        err_r, err_w = os.pipe()
        try:
            pid = self._fork([null, null, err_w], None, {}, "/")
        finally:
            os.close(null)
            os.close(err_w)
        with os.fdopen(err_r, "rb") as fh:
            said = fh.read(2000).decode("utf-8", "replace").strip()
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        return None if code == 0 else (said or f"the test child exited with code {code}")

    def spawn(self, request: dict, fds: list[int]) -> dict:
        if len(fds) != 3:
            return {"ok": False, "error": f"spawn needs 3 descriptors, got {len(fds)}"}
        pid = self._fork(fds, request["config"], request["env"], request["cwd"])
        self.live.add(pid)
        return {"ok": True, "pid": pid}

    def _restore_pid_ns(self) -> None:
        check(libc.setns(self.pid_ns, CLONE_NEWPID), "setns back to this PID namespace")

    def wait(self, pid: int, timeout: float) -> dict:
        if pid not in self.live:
            return {"ok": False, "error": f"no child {pid}"}
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            pidfd = None
        if pidfd is not None:
            try:
                select.select([pidfd], [], [], max(0.0, timeout))
            finally:
                os.close(pidfd)
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            return {"ok": True, "code": None}
        self.live.discard(pid)
        return {"ok": True, "code": os.waitstatus_to_exitcode(status)}

    def kill(self, pid: int) -> dict:
        if pid not in self.live:
            return {"ok": False, "error": f"no child {pid}"}
        try:
            os.kill(pid, signal.SIGKILL)  # PID 1 of its namespace: everything it started dies with it
        except ProcessLookupError:
            pass
        return self.wait(pid, 5.0)

    def serve(self) -> None:
        while True:
            try:
                data, fds, _flags, _addr = socket.recv_fds(self.sock, 1 << 20, 8)
            except (ConnectionError, OSError):
                return
            if not data:
                return
            try:
                request = json.loads(data)
                op = request.get("op")
                if op == "spawn":
                    reply = self.spawn(request, fds)
                elif op == "wait":
                    reply = self.wait(int(request["pid"]), float(request.get("timeout", 0)))
                elif op == "kill":
                    reply = self.kill(int(request["pid"]))
                elif op == "cpu":
                    pid = int(request["pid"])
                    reply = {"ok": True, "seconds": tree_cpu_seconds(pid) if pid in self.live else None}
                elif op == "mem":
                    pid = int(request["pid"])
                    reply = {"ok": True, "kb": tree_memory_kb(pid, bool(request.get("reset")))
                             if pid in self.live else None}
                else:
                    reply = {"ok": False, "error": f"unknown op {op!r}"}
            except Exception as exc:  # a failed request fails, the server goes on
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            finally:
                for fd in fds:
                    os.close(fd)
            self.sock.send(json.dumps(reply).encode())


def main() -> None:
    config = json.loads(sys.argv[1])
    sys.path += config.get("site", [])
    import gc
    import importlib

    for name in _WARM + (_WARM_NETWORK if config.get("network") else ()):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    gc.freeze()  # children then never walk (and copy) the warm objects when they collect
    sock = socket.socket(fileno=config["control"])
    server = Server(sock)
    try:
        problem = server.self_test()
    except OSError as exc:
        problem = str(exc)
    if problem:  # the grader then launches an interpreter per child instead
        sock.send(json.dumps({"ok": False, "error": f"self-test failed: {problem}"}).encode())
        return
    sock.send(json.dumps({"ok": True, "event": "ready", "pid": os.getpid()}).encode())
    server.serve()


if __name__ == "__main__":
    main()
