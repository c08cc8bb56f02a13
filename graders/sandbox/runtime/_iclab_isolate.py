"""Finish isolating a namespace-mode child, before any learner code exists in it.

Runs first thing in ``_iclab_child.py`` as root of fresh mount and PID
namespaces (made by ``unshare``): hide every other sandbox, the solutions and
the hidden checks, make the whole file system read-only except this child's
working folder, then drop every capability for good. Direct system calls,
no ``mount``/``setpriv`` programs: that kept four sandboxes from starting in
parallel. Any failure stops the child: it never runs learner code half-isolated.
"""
from __future__ import annotations

import ctypes
import os

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8, 32, 4096, 16384, 1 << 18)
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 1, 24, 38, 47, 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522

libc = ctypes.CDLL(None, use_errno=True)


def check(result: int, what: str) -> None:
    """Raise OSError (with errno's text) when a libc call returned non-zero."""
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(source, target, fstype, flags, data=None) -> None:
    enc = (lambda v: v.encode() if isinstance(v, str) else v)
    check(libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _drop_capabilities() -> None:
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != 22:  # EINVAL: no such cap
            raise OSError(ctypes.get_errno(), f"dropping capability {cap} from the bounding set")
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "no_new_privs")
    with open("/proc/self/status") as fh:
        effective = next(line.split()[1] for line in fh if line.startswith("CapEff"))
    if int(effective, 16) != 0:
        raise OSError(1, f"capabilities still held: {effective}")


def isolate(work: str, rt: str, base: str, hide: list[str]) -> None:
    """Hide, seal and drop privileges; raises OSError (the child then exits) if any step fails."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    fd_work = os.open(work, os.O_RDONLY | os.O_DIRECTORY)
    fd_rt = os.open(rt, os.O_RDONLY | os.O_DIRECTORY)
    mount("tmpfs", base, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=755")
    os.makedirs(work, exist_ok=True)
    os.makedirs(rt, exist_ok=True)
    mount(f"/proc/self/fd/{fd_work}", work, None, MS_BIND)
    mount(f"/proc/self/fd/{fd_rt}", rt, None, MS_BIND)
    os.close(fd_work)
    os.close(fd_rt)
    mount(None, rt, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
    mount(None, base, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    for folder in hide:
        if os.path.isdir(folder):
            mount("tmpfs", folder, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k")
    mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY)
    if os.path.isdir("/dev/shm"):
        try:
            mount(None, "/dev/shm", None, MS_REMOUNT | MS_BIND | MS_RDONLY)
        except OSError:
            pass  # not a separate mount here: it is read-only with /
    os.chdir(work)
    _drop_capabilities()
