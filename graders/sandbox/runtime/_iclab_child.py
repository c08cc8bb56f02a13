"""Child side of the sandbox: runs learner code and answers the grader over a pipe.

Started as ``python -I -S _iclab_child.py CONFIG_JSON`` (or forked by the
warm ``_iclab_zygote.py``, which then calls ``run``) with the protocol on
fds 0 (requests) and 1 (answers) and fd 2 for stray output. Before any learner code runs it sets its own
resource limits, moves the protocol to private descriptors and points fds
0/1/2 away from it, so nothing the learner prints can be read as an answer.
The grader treats every answer as untrusted data: this file only computes.
"""
from __future__ import annotations

import importlib
import io
import json
import os
import sys
import time
import traceback

RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__))


def _set_limits(limits: dict) -> None:
    import resource

    def cap(which, value):
        if value is None:
            return
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass

    mb = 1024 * 1024
    if limits.get("memory_mb"):
        cap(resource.RLIMIT_AS, int(limits["memory_mb"]) * mb)
    cap(resource.RLIMIT_CPU, int(limits.get("cpu_seconds") or 60))
    cap(resource.RLIMIT_FSIZE, int(limits.get("file_mb") or 64) * mb)
    cap(resource.RLIMIT_NOFILE, int(limits.get("open_files") or 256))
    cap(resource.RLIMIT_CORE, 0)


class _CappedText(io.TextIOBase):
    """A text sink that keeps the first ``cap`` characters and counts the rest."""

    def __init__(self, cap: int):
        self.cap = cap
        self.parts: list[str] = []
        self.size = 0
        self.total = 0

    def writable(self) -> bool:
        return True

    def write(self, s) -> int:
        s = str(s)
        self.total += len(s)
        room = self.cap - self.size
        if room > 0:
            self.parts.append(s[:room])
            self.size += min(room, len(s))
        return len(s)

    def text(self) -> str:
        out = "".join(self.parts)
        if self.total > self.size:
            out += f"\n[... {self.total - self.size} more characters of output dropped]"
        return out


class Channel:
    """Framed JSON lines on two private pipe descriptors."""

    def __init__(self, fd_in: int, fd_out: int, wire):
        self.fd_in = fd_in
        self.fd_out = fd_out
        self.wire = wire
        self.buf = b""
        self.next_rid = 0
        self.pending: list = []  # calls that arrived while an rpc waited for its answer

    def send(self, message) -> None:
        """Send a message (or one already encoded as bytes)."""
        data = message if type(message) is bytes else self.wire.dumps(message)
        view = memoryview(data)
        while view:
            n = os.write(self.fd_out, view)
            view = view[n:]

    def receive(self):
        while b"\n" not in self.buf:
            chunk = os.read(self.fd_in, 1 << 16)
            if not chunk:
                raise EOFError
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return self.wire.loads(line)

    def rpc(self, name: str, args: list):
        self.next_rid += 1
        rid = self.next_rid
        self.send({"rpc": name, "rid": rid, "args": self.wire.to_plain(args)})
        while True:
            reply = self.receive()
            if reply.get("op") == "rpc_result" and reply.get("rid") == rid:
                break
            self.pending.append(reply)
        if not reply.get("ok"):
            raise RuntimeError(reply.get("error") or "the grader refused the request")
        return reply.get("value")


def _learner_traceback(exc: BaseException, workdir: str) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(workdir)]
    lines = traceback.format_list(frames[-8:])
    text = "".join(lines).replace(workdir + os.sep, "")
    return text[-4000:]


def _describe(exc: BaseException, wire, workdir: str, stage: str) -> dict:
    attrs = {}
    for key, value in list(getattr(exc, "__dict__", {}).items())[:10]:
        if key.startswith("_"):
            continue
        try:
            attrs[key] = wire.to_plain(value)
        except Exception:
            continue
    try:
        message = str(exc)
    except Exception:
        message = "<str() of the exception failed>"
    if isinstance(exc, SystemExit):
        message = f"sys.exit({exc.code!r}) was called"
    return {
        "type": type(exc).__name__,
        "message": message[:2000],
        "attrs": attrs,
        "traceback": _learner_traceback(exc, workdir),
        "stage": stage,
    }


def _serve(channel: Channel, wire, workdir: str, output_cap: int, response_cap: int) -> None:
    while True:
        try:
            msg = channel.pending.pop(0) if channel.pending else channel.receive()
        except EOFError:
            return
        if msg.get("op") == "exit":
            return
        if msg.get("op") != "call":
            continue
        channel.send(_answer(msg, channel, wire, workdir, output_cap, response_cap))


def _answer(msg, channel, wire, workdir, output_cap, response_cap) -> dict | bytes:
    """The answer to one call: a message, or (a value returned) the message already encoded."""
    call_id = msg["id"]
    module_name, _, func_name = msg["target"].partition(":")
    sink = _CappedText(output_cap)
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = sink
    try:
        fresh = module_name not in sys.modules
        if fresh:
            channel.send({"event": "importing", "module": module_name, "id": call_id, "cpu": time.process_time()})
        try:
            module = importlib.import_module(module_name)
        except BaseException as exc:  # the learner's import failed: report it, keep serving
            return {"id": call_id, "ok": False, "error": _describe(exc, wire, workdir, "import"), "output": sink.text()}
        if fresh:
            channel.send({"event": "imported", "module": module_name, "id": call_id})
        if not func_name:  # a preload: importing was the whole request
            return {"id": call_id, "ok": True, "value": None, "output": sink.text()}
        func = getattr(module, func_name, None)
        if func is None or not callable(func):
            error = {
                "type": "MissingEntryPoint",
                "message": f"{module_name}.py defines no function {func_name}()",
                "attrs": {}, "traceback": "", "stage": "lookup",
            }
            return {"id": call_id, "ok": False, "error": error, "output": sink.text()}
        args = msg.get("args") or []
        kwargs = msg.get("kwargs") or {}
        try:
            value = func(*args, **kwargs)
        except BaseException as exc:
            answer = {"id": call_id, "ok": False, "error": _describe(exc, wire, workdir, "call"), "output": sink.text()}
            if msg.get("watch_args"):
                try:
                    answer["args_after"] = wire.to_plain(args)
                    answer["kwargs_after"] = wire.to_plain(kwargs)
                except (wire.WireError, RecursionError, ValueError, TypeError):
                    pass
            return answer
    finally:
        sys.stdout, sys.stderr = saved
    try:
        answer = {"id": call_id, "ok": True, "value": wire.to_plain(value, budget=response_cap), "output": sink.text()}
        if msg.get("watch_args"):
            answer["args_after"] = wire.to_plain(args)
            answer["kwargs_after"] = wire.to_plain(kwargs)
        data = wire.dumps(answer)
    except (wire.WireError, RecursionError, ValueError, TypeError) as exc:
        error = {"type": "WireError", "message": str(exc)[:500], "attrs": {}, "traceback": "", "stage": "return"}
        return {"id": call_id, "ok": False, "error": error, "output": sink.text()}
    if len(data) > response_cap:
        error = {
            "type": "WireError",
            "message": f"the return value is {len(data)} bytes, over the {response_cap}-byte limit",
            "attrs": {}, "traceback": "", "stage": "return",
        }
        return {"id": call_id, "ok": False, "error": error, "output": sink.text()}
    return data


def run(config: dict) -> None:
    """Set limits, then answer calls until the grader hangs up.

    In namespace mode the process is already sealed (``_iclab_boot``,
    ``_iclab_zygote``). In process mode it loads the system-call filter
    here, before anything of the submission can be imported. Every module
    this runtime needs is imported before the submission's folder joins
    ``sys.path``, and that folder comes last: a submitted ``resource.py``,
    ``base64.py`` or ``_iclab_wire.py`` can never stand in for trusted code.
    """
    import resource  # noqa: F401 - needed by _set_limits, imported before the submission is reachable

    import _iclab_rpc
    import _iclab_wire as wire

    limits = config.get("limits", {})
    _set_limits(limits)
    rules = config.get("landlock")
    if rules:  # process mode: the allowlist, applied by the process to itself
        import _iclab_landlock

        _iclab_landlock.restrict(rules["read"], rules["write"], rules["ports"], rules.get("list", []))
    if config.get("seccomp"):
        import _iclab_seccomp

        try:  # process mode: no new session or group either, so the sweep finds everything it starts
            _iclab_seccomp.load(_iclab_seccomp.compile_filter(extra=("setsid", "setpgid")))
        except _iclab_seccomp.Unavailable:
            pass  # reported to the grader at start-up (isolation.protections)
    workdir = os.path.realpath(config["workdir"])
    # The protocol moves to private descriptors; fd 1 and 2 become the output pipe.
    fd_in, fd_out = os.dup(0), os.dup(1)
    os.set_inheritable(fd_in, False)
    os.set_inheritable(fd_out, False)
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdin = open(0, "r", closefd=False)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)

    stdlib = [p for p in sys.path if p and os.path.realpath(p) not in (RUNTIME_DIR, workdir)]
    sys.path[:] = list(dict.fromkeys([RUNTIME_DIR] + stdlib + list(config.get("site", [])) + [workdir]))
    channel = Channel(fd_in, fd_out, wire)
    _iclab_rpc.bind(channel)
    os.chdir(workdir)
    channel.send({"event": "ready", "pid": os.getpid()})
    _serve(channel, wire, workdir, int(limits.get("output_chars") or 20000), int(limits.get("response_bytes") or 8_000_000))


if __name__ == "__main__":
    sys.path.insert(0, RUNTIME_DIR)  # python -I leaves the script's folder off the path
    run(json.loads(sys.argv[1]))
