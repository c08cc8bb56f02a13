"""Which sandbox this machine allows, and what each one lacks.

Namespace mode (Linux with user namespaces, as root or not): every sandboxed
process is mapped to an unprivileged host id in its own user, PID, mount, IPC,
UTS and network namespaces, inside a read-only root that holds only an
allowlist (runtime/_iclab_isolate.py, rootfs.py), with no capability,
``no_new_privs`` and a system-call filter (runtime/_iclab_seccomp.py).

Process mode (anywhere else, or ``ICLAB_SANDBOX=process``): a plain process
in a session of its own, with resource limits, a scrubbed environment, and
whatever the kernel lets any process apply to itself: Landlock
(runtime/_iclab_landlock.py: the same allowlist for files, TCP ports limited
to the mock services, no signal outside the sandbox) and the system-call
filter; as root, an unused user id of its own when the interpreter is
readable by others. Leftovers are swept by that id, or by session, group and
an environment token.

``protections(mode)`` names what a mode lacks on this machine; every result
carries it, so an instructor knows what a grading was protected by.
"""
from __future__ import annotations

import functools
import itertools
import os
import stat
import sys
import threading

__all__ = ["Isolation", "detect", "protections", "process_uid"]


class Isolation:
    NAMESPACE = "namespace"
    PROCESS = "process"


@functools.cache
def detect() -> str:
    """Return the strongest isolation this machine allows (probed once per process)."""
    forced = os.environ.get("ICLAB_SANDBOX", "").strip().lower()
    if forced in (Isolation.NAMESPACE, Isolation.PROCESS):
        return forced
    if not sys.platform.startswith("linux"):
        return Isolation.PROCESS
    return Isolation.NAMESPACE if _namespace_works() else Isolation.PROCESS


def _namespace_works() -> bool:
    """Boot one real namespace-mode child (a launched interpreter) and see it answer."""
    import tempfile
    from pathlib import Path

    from ..errors import SubmissionError
    from .child import ChildProcess
    from .process import Limits

    with tempfile.TemporaryDirectory(prefix="iclab-probe-") as empty:
        try:
            folder = ChildProcess.prepare(Path(empty), {}, Isolation.NAMESPACE)
        except OSError:
            return False
        try:
            child = ChildProcess.start(folder.path, Limits(start_timeout=10.0), Isolation.NAMESPACE,
                                       new_interpreter=True)
        except (SubmissionError, OSError):
            return False
        finally:
            folder.close()
        child.kill()
        return True


@functools.cache
def _seccomp_problem() -> str | None:
    from .runtime import _iclab_seccomp

    try:
        _iclab_seccomp.compile_filter()
        return None
    except _iclab_seccomp.Unavailable as exc:
        return f"system-call filter ({exc}; install libseccomp2)"


@functools.cache
def landlock_abi() -> int:
    if not sys.platform.startswith("linux"):
        return 0
    from .runtime import _iclab_landlock

    return _iclab_landlock.abi()


def protections(mode: str) -> tuple[str, ...]:
    """What a sandbox of ``mode`` lacks on this machine, in words for the report (empty: nothing)."""
    missing = []
    if mode == Isolation.PROCESS:
        missing.append("namespaces (own PID, mount and network view)")
        abi = landlock_abi()
        if abi < 1:
            missing.append("Landlock file allowlist (hidden files and the grader's files are reachable)")
        if abi < 4:
            missing.append("Landlock TCP allowlist (any local port is reachable)")
        if abi < 6:
            missing.append("Landlock signal scope (the grader can be signalled)")
        if process_uid() is None:
            missing.append("an unprivileged id of its own (it runs as the grader's user)")
    problem = _seccomp_problem() if sys.platform.startswith("linux") else "system-call filter (not Linux)"
    if problem:
        missing.append(problem)
    return tuple(missing)


# -- process mode's own ids ------------------------------------------------------------
_slots = itertools.count()
_local = threading.local()


def _readable_by_others(path: str) -> bool:
    """Whether another, unprivileged user could reach and read ``path``."""
    path = os.path.realpath(path)
    parts = path.split("/")
    for i in range(2, len(parts) + 1):
        folder = "/".join(parts[:i]) or "/"
        try:
            mode = os.stat(folder).st_mode
        except OSError:
            return False
        needed = stat.S_IXOTH if (i < len(parts) or stat.S_ISDIR(mode)) else stat.S_IROTH
        if not mode & needed:
            return False
    return True


@functools.cache
def _interpreter_shared() -> bool:
    import sysconfig

    from .zygote import site_dirs

    needed = [sys.executable, os.path.dirname(os.__file__), sysconfig.get_config_var("DESTSHARED") or "/"]
    return all(_readable_by_others(p) for p in needed + site_dirs())


def process_uid() -> int | None:
    """This thread's process-mode child id, when the grader is root and others can run the interpreter."""
    if os.geteuid() != 0 or detect() != Isolation.PROCESS or not _interpreter_shared():
        return None
    uid = getattr(_local, "uid", None)
    if uid is None:
        from .launcher import uid_base

        uid = _local.uid = uid_base() + 2000 + next(_slots)  # a range apart from namespace mode's ids
    return uid
