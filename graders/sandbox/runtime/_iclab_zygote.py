"""A warm interpreter that forks sandboxed children on request: namespace mode's fork server.

Started through ``_iclab_boot.py``, so it is already PID 1 of its own user,
PID, mount, IPC, UTS and network namespaces, inside the allowlisted read-only
root, mapped to an unprivileged host id. It imports the child runtime and
common libraries once and compiles the system-call filter once; each child is
then a ``fork`` of this process instead of a new interpreter. Every child is
PID 1 of a PID namespace of its own, gets its own mount and IPC namespaces,
/proc, /tmp and work folder, loses the libraries its lab does not allow,
drops to an unprivileged id and every capability, loads the filter, and only
then runs ``_iclab_child.run``. No learner code ever runs here.

Requests are JSON datagrams on a SOCK_SEQPACKET socket; replies too, some
with descriptors attached (SCM_RIGHTS):

    {"op": "spawn", "config": {...}, "env": {...}, "work": PATH, "seal": {...}} + 3 fds (stdin, stdout, stderr)
                                            -> {"ok": true, "pid": N}   (PATH: the child's folder under /.sandboxes)
    {"op": "wait", "pid": N, "timeout": T}  -> {"ok": true, "code": C | null}   (null: still running)
    {"op": "kill", "pid": N}                -> {"ok": true, "code": C | null}
    {"op": "cpu", "pid": N}                 -> {"ok": true, "seconds": S | null}   (the child and its descendants)
    {"op": "mem", "pid": N, "reset": B}     -> {"ok": true, "kb": K | null}   (resident KiB now, or peak since reset)
    {"op": "listen"}                        -> {"ok": true, "port": P} + 1 fd: a TCP socket listening on
                                               127.0.0.1:P in this network namespace (where a mock serves)
    {"op": "namespaces"}                    -> {"ok": true} + 2 fds: this user and network namespace
                                               (a launched child of a lab with network joins them)

Codes follow ``subprocess``: negative for a signal. When the grader hangs up
this process exits, and with it, as PID 1, every child it made.

Children of one server share its network namespace: with no network, one
with only a loopback that is down; with network, a loopback where nothing
listens but the mock services the grader asks sockets for. One server
belongs to one grading thread, whose gradings come one after another, and a
child's processes all die with it, so a child never overlaps another
learner's.
"""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import time

import _iclab_isolate
from _iclab_isolate import CLONE_NEWPID, check, libc
from _iclab_proc import tree_cpu_seconds, tree_memory_kb

_WARM = (  # imported once here, so every child starts with them in memory
    # the child runtime and the labs' harnesses (trusted, no state set up at import)
    "_iclab_child", "_iclab_rpc", "_iclab_wire", "_iclab_seccomp", "_iclab_landlock", "_iclab_http",
    "_iclab_log_triage", "_iclab_mapping_tests", "_iclab_pii_logging", "_iclab_sql_recon",
    # what submissions commonly import
    "base64", "collections", "copy", "csv", "dataclasses", "datetime", "decimal", "email.utils", "enum",
    "functools", "hashlib", "hmac", "inspect", "itertools", "json", "logging", "math", "pathlib", "random", "re",
    "string", "tempfile", "textwrap", "typing", "urllib.parse", "uuid", "zoneinfo", "lxml.etree",
)
_WARM_NETWORK = ("requests",)  # only labs that talk to a mock service use it: 70 ms to import


def _prepare_child(fds: list[int], env: dict, work: str, seal: dict, seccomp: bytes | None) -> None:
    """In the forked child: own session, pipes on 0-2, nothing else open; then sealed around ``work``."""
    check(libc.prctl(_iclab_isolate.PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")
    if os.getpid() != 1:
        raise OSError(0, "the child is not PID 1 of a PID namespace of its own")
    os.setsid()
    for target, fd in enumerate(fds):
        if fd != target:
            os.dup2(fd, target)
    os.closerange(len(fds), os.sysconf("SC_OPEN_MAX") if os.sysconf("SC_OPEN_MAX") > 0 else 65536)
    os.environ.clear()
    os.environ.update(env)
    time.tzset()
    _forget_modules(seal.get("forget", []))
    _iclab_isolate.finish_child(work, tmp_mb=int(seal.get("tmp_mb", 16)), hide=[], views=seal.get("views", []),
                                drop_to_uid=bool(seal.get("drop_to_uid")), seccomp=seccomp,
                                scratch=str(seal.get("scratch", _iclab_isolate.TMP)))


_FORGET: dict[tuple[str, ...], list[str]] = {}


def _modules_from(hidden: list[str]) -> list[str]:
    """The warm modules loaded from ``hidden`` libraries (worked out once per set, here in the server)."""
    import sys

    key = tuple(sorted(hidden))
    if key not in _FORGET:
        prefixes = tuple(p.rstrip("/") + "/" for p in hidden)
        _FORGET[key] = [name for name, module in list(sys.modules.items())
                        if (getattr(module, "__file__", None) or "").startswith(prefixes)
                        or (getattr(module, "__file__", None) or "") in hidden]
    return _FORGET[key]


def _forget_modules(names: list[str]) -> None:
    """Drop warm modules of libraries this child's lab does not allow: importing them must fail."""
    import sys

    for name in names:
        sys.modules.pop(name, None)


def _become_child(fds: list[int], request: dict | None, seccomp: bytes | None) -> None:
    """Prepare, then serve the grader, or only exit 0 (``request`` None: the start-up self-test)."""
    import _iclab_child

    try:
        if request is None:  # the self-test: the whole sandboxes folder stands in for a work folder
            _prepare_child(fds, {}, _iclab_isolate.SANDBOXES, {"tmp_mb": 1}, seccomp)
        else:
            _prepare_child(fds, request["env"], str(request["work"]), request.get("seal", {}), seccomp)
    except BaseException as exc:  # noqa: BLE001 - never serve half set up
        os.write(2, f"iclab sandbox: the fork server could not prepare the child: {exc}\n".encode())
        os._exit(70)
    if request is None:
        os._exit(0)
    try:
        _iclab_child.run(request["config"])
    except BaseException:  # noqa: BLE001
        os._exit(70)
    os._exit(0)


class Server:
    def __init__(self, sock: socket.socket, seccomp: bytes | None):
        self.sock = sock
        self.seccomp = seccomp
        self.pid_ns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        self.live: set[int] = set()

    def _fork(self, fds: list[int], request: dict | None) -> int:
        check(libc.unshare(CLONE_NEWPID), "unshare PID namespace")  # the next child is PID 1 of a new one
        try:
            pid = os.fork()
        except BaseException:
            self._restore_pid_ns()
            raise
        if pid == 0:
            _become_child(fds, request, self.seccomp)  # never returns
        self._restore_pid_ns()
        return pid

    def self_test(self) -> str | None:
        """Take one child through the whole set-up; why it failed, or None. Run once, before serving."""
        null = os.open(os.devnull, os.O_RDWR)
        err_r, err_w = os.pipe()
        try:
            pid = self._fork([null, null, err_w], None)
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
        seal = request.setdefault("seal", {})
        hidden = list(seal.get("hide", []))
        seal["views"] = _iclab_isolate.library_view(hidden)  # both made here, once per set of libraries
        seal["forget"] = _modules_from(hidden)
        pid = self._fork(fds, request)
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

    @staticmethod
    def listen() -> tuple[dict, list[int]]:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        port = sock.getsockname()[1]
        return {"ok": True, "port": port}, [sock.detach()]

    @staticmethod
    def namespaces() -> tuple[dict, list[int]]:
        fds = [os.open(f"/proc/self/ns/{name}", os.O_RDONLY | os.O_CLOEXEC) for name in ("user", "net")]
        return {"ok": True}, fds

    def serve(self) -> None:
        while True:
            try:
                data, fds, _flags, _addr = socket.recv_fds(self.sock, 1 << 20, 8)
            except (ConnectionError, OSError):
                return
            if not data:
                return
            out_fds: list[int] = []
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
                elif op == "listen":
                    reply, out_fds = self.listen()
                elif op == "namespaces":
                    reply, out_fds = self.namespaces()
                else:
                    reply = {"ok": False, "error": f"unknown op {op!r}"}
            except Exception as exc:  # noqa: BLE001 - a failed request fails, the server goes on
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            finally:
                for fd in fds:
                    os.close(fd)
            try:
                socket.send_fds(self.sock, [json.dumps(reply).encode()], out_fds)
            finally:
                for fd in out_fds:
                    os.close(fd)


def serve(config: dict) -> None:
    """Warm up, prove a child can be made, then answer the grader until it hangs up."""
    import gc
    import importlib
    import sys

    sys.path += config.get("site", [])
    for name in _WARM + (_WARM_NETWORK if config.get("network") else ()):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    seccomp = None
    if config.get("seccomp"):
        import _iclab_seccomp

        try:
            seccomp = _iclab_seccomp.compile_filter()
        except _iclab_seccomp.Unavailable:
            seccomp = None  # the grader reports the missing filter (isolation.protections)
    gc.freeze()  # children then never walk (and copy) the warm objects when they collect
    sock = socket.socket(fileno=config["control"])
    server = Server(sock, seccomp)
    try:
        problem = server.self_test()
    except OSError as exc:
        problem = str(exc)
    if problem:  # the grader then launches an interpreter per child instead
        sock.send(json.dumps({"ok": False, "error": f"self-test failed: {problem}"}).encode())
        return
    sock.send(json.dumps({"ok": True, "event": "ready", "pid": os.getpid(),
                          "seccomp": seccomp is not None}).encode())
    server.serve()
