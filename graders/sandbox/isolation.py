"""How a sandboxed child is launched: in its own namespaces where Linux allows, else as a plain process.

Namespace mode (Linux, root or unprivileged user namespaces): ``unshare``
starts the child as PID 1 of a new PID namespace (it cannot see or signal
the grader, and everything it starts dies with it) in new mount and IPC
namespaces, optionally without network (a fresh network namespace); the child then seals
itself (runtime/_iclab_isolate.py): the whole file system read-only except
its own working folder, other sandboxes, the solutions and the hidden checks
hidden, every capability dropped. By default the interpreter started this way
is a fork server (zygote.py), and each child is forked from it into PID,
mount and IPC namespaces of its own, then sealed the same way.

Process mode (anywhere else, or ``ICLAB_SANDBOX=process``): a new session
and process group, resource limits, a scrubbed environment; leftovers are
swept by process group and by an environment token.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys

__all__ = ["Isolation", "detect", "launch_command"]

class Isolation:
    NAMESPACE = "namespace"
    PROCESS = "process"


def _namespace_prefix(network: bool) -> list[str]:
    cmd = ["unshare", "--mount", "--ipc", "--pid", "--fork", "--kill-child", "--mount-proc"]
    if os.geteuid() != 0:
        cmd[1:1] = ["--user", "--map-root-user"]
    if not network:
        cmd.append("--net")
    return cmd


@functools.cache
def detect() -> str:
    """Return the strongest isolation this machine allows (probed once per process)."""
    forced = os.environ.get("ICLAB_SANDBOX", "").strip().lower()
    if forced in (Isolation.NAMESPACE, Isolation.PROCESS):
        return forced
    if not sys.platform.startswith("linux"):
        return Isolation.PROCESS
    if not shutil.which("unshare"):
        return Isolation.PROCESS
    # Can a child in fresh namespaces mount (what runtime/_iclab_isolate.py does first)?
    check = ("import ctypes, sys; libc = ctypes.CDLL(None, use_errno=True); "
             "sys.exit(0 if libc.mount(b'none', b'/', None, ctypes.c_ulong((1 << 14) | (1 << 18)), None) == 0 "
             "and libc.mount(b'tmpfs', b'/mnt', b'tmpfs', ctypes.c_ulong(0), None) == 0 else 1)")
    probe = _namespace_prefix(network=True) + [sys.executable, "-I", "-S", "-c", check]
    try:
        ok = subprocess.run(probe, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return Isolation.NAMESPACE if ok else Isolation.PROCESS


def launch_command(mode: str, python_argv: list[str], *, network: bool) -> list[str]:
    """Wrap the child's ``python`` command line for ``mode``.

    In namespace mode the child itself finishes the isolation (runtime/_iclab_isolate.py)
    when its configuration carries an ``isolate`` section.
    """
    if mode == Isolation.NAMESPACE:
        return _namespace_prefix(network) + list(python_argv)
    return list(python_argv)
