"""Start a namespace-mode sandbox process (a fork server, or a child on its own) and map its user namespace.

The started process (runtime/_iclab_boot.py) enters a new user namespace
and asks, over a handshake socket, to be mapped. The grader writes the maps:

- running as root: the namespace's root is host id ``uid_base()`` and the
  child's id 1000 is ``uid_base() + 1000``, a range no account uses, so
  nothing the sandbox does happens as a privileged host id (and files it
  creates belong to no one real);
- running as an ordinary user: the namespace's root is that user (the only
  id such a user may map); the allowlisted root still shows it nothing of
  the user's files.
"""
from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
from pathlib import Path

from . import rootfs
from .rootfs import RootPlan

__all__ = ["boot", "uid_base", "child_host_uid", "BootError", "SANDBOX_UID"]

SANDBOX_UID = 1000  # = runtime/_iclab_isolate.SANDBOX_UID
_HANDSHAKE_TIMEOUT = 10.0


class BootError(OSError):
    """The sandbox process could not be started or mapped."""


def uid_base() -> int:
    """First host id of the sandbox's range when the grader runs as root (``ICLAB_SANDBOX_UID``)."""
    try:
        return int(os.environ.get("ICLAB_SANDBOX_UID", "1800000"))
    except ValueError:
        return 1800000


def child_host_uid() -> int | None:
    """The host id a namespace-mode child runs as, when the grader maps a range (root); else None."""
    return uid_base() + SANDBOX_UID if os.geteuid() == 0 else None


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="ascii") as fh:
        fh.write(text)


def _map(pid: int) -> None:
    if os.geteuid() == 0:
        base = uid_base()
        ids = f"0 {base} 1\n{SANDBOX_UID} {base + SANDBOX_UID} 1\n"
        _write(f"/proc/{pid}/uid_map", ids)
        _write(f"/proc/{pid}/gid_map", ids)
    else:
        _write(f"/proc/{pid}/setgroups", "deny")
        _write(f"/proc/{pid}/uid_map", f"0 {os.geteuid()} 1\n")
        _write(f"/proc/{pid}/gid_map", f"0 {os.getegid()} 1\n")


def boot(role: str, plan: RootPlan, runtime: Path, *, network: bool, extra: dict, pass_fds: tuple[int, ...] = (),
         cwd: Path, env: dict[str, str], join: dict[str, int] | None = None,
         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) -> subprocess.Popen:
    """Start ``runtime/_iclab_boot.py`` as ``role`` ("zygote" or "child") and map it; BootError if it fails."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    config = {
        "role": role, "handshake": theirs.fileno(), "network": network, "join": join,
        "clear_groups": os.geteuid() == 0, "binds": [[path, is_dir] for path, is_dir in plan.binds],
        "links": [list(link) for link in plan.links], "masks": list(plan.masks), "scratch": plan.scratch,
        **extra,
    }
    # The runtime, read-only at a fixed place, then what the role needs writable.
    config["open"] = [plan.runtime, *extra.get("open", [])]
    config["open_at"] = [rootfs.RUNTIME_IN_ROOT, *extra.get("open_at", [])]
    config["writable"] = [False] + [True] * len(extra.get("open", []))
    fds = [theirs.fileno(), *pass_fds, *(join or {}).values()]
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", str(runtime / "_iclab_boot.py"), json.dumps(config)],
            stdin=stdin, stdout=stdout, stderr=stderr, cwd=str(cwd), env=env, pass_fds=fds,
            start_new_session=True)
    except OSError as exc:
        ours.close()
        raise BootError(exc.errno, f"the sandbox could not start: {exc}") from None
    finally:
        theirs.close()
    try:
        if join is None:
            ready, _, _ = select.select([ours], [], [], _HANDSHAKE_TIMEOUT)
            request = json.loads(ours.recv(4096) or b"{}") if ready else {}
            if request.get("map") != proc.pid:
                raise BootError(0, "the sandbox did not ask for its user namespace to be mapped")
            try:
                _map(proc.pid)
            except OSError as exc:
                raise BootError(exc.errno, f"mapping the sandbox's user namespace failed: {exc}") from None
            ours.send(b"mapped")
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        ours.close()
    return proc
