"""How every namespace-mode sandbox process starts: isolate first, then become a fork server or a child.

Started by the grader (graders/sandbox/launcher.py) as ``python -I -S
_iclab_boot.py CONFIG_JSON`` with a handshake socket open. The process

1. forks an opener, which keeps the grader's credentials,
2. enters a new user namespace and waits on the handshake socket while the
   grader maps it to unprivileged host ids (or joins the user and network
   namespaces of its thread's fork server, for a child of a lab with network),
   then makes its mount, PID, IPC, UTS and network namespaces,
3. has the opener join that mount namespace and open every allowlisted path
   there (a bind's source must belong to the namespace it is bound in, and
   only the grader's credentials reach, say, a venv under a 0700 home), and
   receives the descriptors,
4. forks: the parent only waits, the child is PID 1 of the new PID namespace,
5. builds the allowlisted root from those descriptors and pivots into it,
6. becomes the fork server (``_iclab_zygote.serve``) or seals itself as one
   sandboxed child and serves the grader (``_iclab_child.run``).

Any failure before the last step ends the process with code 70 and one line on
stderr: learner code never runs in a half-built sandbox.
"""
from __future__ import annotations

import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # python -I leaves this folder off the path
import _iclab_isolate  # noqa: E402


def _ask_for_maps(handshake: socket.socket) -> None:
    handshake.send(json.dumps({"map": os.getpid()}).encode())
    reply = handshake.recv(4096)
    if reply != b"mapped":
        raise OSError(0, f"the grader did not map the user namespace ({reply[:80]!r})")


def _fail(stage: str, exc: BaseException) -> None:
    os.write(2, f"iclab sandbox: {stage} failed: {exc}\n".encode())
    os._exit(70)


def _opener(channel: socket.socket, paths: list[str], unprivileged: bool) -> None:
    """In the forked opener: wait for the go, join the parent's mount namespace, open ``paths``, send them."""
    try:
        if channel.recv(16) != b"go":
            os._exit(1)
        parent = os.getppid()
        if unprivileged:  # an ordinary user enters the namespace it owns first, gaining the right to join the rest
            fd = os.open(f"/proc/{parent}/ns/user", os.O_RDONLY)
            _iclab_isolate.check(_iclab_isolate.libc.setns(fd, _iclab_isolate.CLONE_NEWUSER), "setns user")
        fd = os.open(f"/proc/{parent}/ns/mnt", os.O_RDONLY)
        _iclab_isolate.check(_iclab_isolate.libc.setns(fd, _iclab_isolate.CLONE_NEWNS), "setns mount")
        fds = [os.open(path, os.O_PATH | os.O_CLOEXEC) for path in paths]
        for start in range(0, len(fds), 200):  # SCM_RIGHTS carries at most 253 per message
            socket.send_fds(channel, [b"fds"], fds[start:start + 200])
        os._exit(0)
    except BaseException as exc:  # noqa: BLE001
        channel.send(f"error: {exc}"[:500].encode())
        os._exit(1)


def _open_paths(paths: list[str], join: dict | None, then) -> list[int]:
    """Run ``then()`` (entering the namespaces); meanwhile a fork of ours opens ``paths`` inside them."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    unprivileged = os.geteuid() != 0
    pid = os.fork()
    if pid == 0:
        ours.close()
        _iclab_isolate.check(_iclab_isolate.libc.prctl(_iclab_isolate.PR_SET_PDEATHSIG, 9, 0, 0, 0), "pdeathsig")
        _opener(theirs, paths, unprivileged and not join)
    theirs.close()
    try:
        then()
        ours.send(b"go")
        fds: list[int] = []
        while len(fds) < len(paths):
            data, got, _flags, _addr = socket.recv_fds(ours, 1024, 200)
            if data != b"fds":
                raise OSError(0, f"the opener failed: {data.decode(errors='replace')}")
            fds += got
    finally:
        ours.close()
        os.waitpid(pid, 0)
    return fds


def main(config: dict) -> None:
    handshake = socket.socket(fileno=config["handshake"])
    join = config.get("join")
    binds = config["binds"]
    paths = [path for path, _is_dir in binds] + list(config.get("open", []))

    def enter() -> None:
        _iclab_isolate.enter_user_namespace(lambda: _ask_for_maps(handshake), config["clear_groups"],
                                            config["network"], join=join,
                                            host_network=bool(config.get("host_network")))

    try:
        fds = _open_paths(paths, join, enter)
    except BaseException as exc:  # noqa: BLE001 - never go on half isolated
        _fail("entering the namespaces", exc)
    handshake.close()
    _iclab_isolate.become_pid_one()  # returns in PID 1 only
    placed = list(zip(fds[len(binds):], config["open_at"], config["writable"]))
    try:
        _iclab_isolate.build_root([(fd, path, is_dir) for fd, (path, is_dir) in zip(fds, binds)],
                                  config["links"], config["masks"], placed, scratch=config["scratch"])
    except BaseException as exc:  # noqa: BLE001
        _fail("building the sandbox's root", exc)
    # From here on the runtime is found at its place in the new root.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [config["open_at"][0] if p == here else p for p in sys.path]
    if config["role"] == "zygote":
        import _iclab_zygote

        _iclab_zygote.serve(config)
        os._exit(0)
    child = config["child"]
    try:
        _iclab_isolate.finish_child(config["work"], tmp_mb=config["tmp_mb"], hide=config["hide"],
                                    drop_to_uid=config["drop_to_uid"], seccomp=_seccomp(config),
                                    fresh_mounts=False, scratch=config["scratch"])
    except BaseException as exc:  # noqa: BLE001
        _fail("sealing the sandbox", exc)
    import _iclab_child

    try:
        _iclab_child.run(child)
    except BaseException:  # noqa: BLE001
        os._exit(70)
    os._exit(0)


def _seccomp(config: dict) -> bytes | None:
    if not config.get("seccomp"):
        return None
    import _iclab_seccomp

    try:
        return _iclab_seccomp.compile_filter()
    except _iclab_seccomp.Unavailable:
        return None  # the grader was told at start-up (isolation.protections) that the filter is missing


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
