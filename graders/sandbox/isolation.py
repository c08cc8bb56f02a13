"""How a sandboxed child is launched: in its own namespaces where Linux allows, else as a plain process.

Namespace mode (Linux, root or unprivileged user namespaces): the child runs
as PID 1 of a new PID namespace (it cannot see or signal the grader, and
everything it starts dies with it), in a mount namespace where the whole file
system is read-only except its own working folder, other sandboxes, the
solutions and the hidden checks are hidden, and with every capability
dropped. Optionally without network (a fresh network namespace).

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

# Runs as root inside the new mount namespace, before the learner's code exists there.
_NS_SCRIPT = r"""
set -e
mount --make-rprivate /
exec 3<"$ICLAB_WORK" 4<"$ICLAB_RT"
mount -t tmpfs -o size=64k,mode=755 tmpfs "$ICLAB_BASE"
mkdir -p "$ICLAB_WORK" "$ICLAB_RT"
mount --no-canonicalize --bind /proc/self/fd/3 "$ICLAB_WORK"
mount --no-canonicalize --bind /proc/self/fd/4 "$ICLAB_RT"
exec 3<&- 4<&-
mount -o remount,bind,ro "$ICLAB_RT"
mount -o remount,ro "$ICLAB_BASE"
for d in $ICLAB_HIDE; do
  if [ -d "$d" ]; then mount -t tmpfs -o ro,size=4k tmpfs "$d"; fi
done
mount -o remount,bind,ro /
if [ -d /dev/shm ]; then mount -o remount,bind,ro /dev/shm 2>/dev/null || true; fi
cd "$ICLAB_WORK"
exec setpriv --bounding-set=-all --inh-caps=-all --ambient-caps=-all --no-new-privs -- "$@"
"""


class Isolation:
    NAMESPACE = "namespace"
    PROCESS = "process"


def _namespace_prefix(network: bool) -> list[str]:
    cmd = ["unshare", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc"]
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
    if not all(shutil.which(tool) for tool in ("unshare", "setpriv", "mount")):
        return Isolation.PROCESS
    probe = _namespace_prefix(network=True) + ["sh", "-c", "mount --make-rprivate / && mount -t tmpfs tmpfs /mnt 2>/dev/null || mount -t tmpfs tmpfs /tmp; setpriv --bounding-set=-all --no-new-privs -- true"]
    try:
        ok = subprocess.run(probe, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return Isolation.NAMESPACE if ok else Isolation.PROCESS


def launch_command(mode: str, python_argv: list[str], *, network: bool) -> list[str]:
    """Wrap the child's ``python`` command line for ``mode``."""
    if mode == Isolation.NAMESPACE:
        return _namespace_prefix(network) + ["sh", "-c", _NS_SCRIPT, "iclab-sandbox", *python_argv]
    return list(python_argv)
