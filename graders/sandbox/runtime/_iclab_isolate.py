"""Namespace mode's isolation, as direct system calls. Standard library only; runs before any learner code.

Three stages, each failing closed (the process exits rather than run learner code half-isolated):

``enter_user_namespace``
    A new user namespace in which the grader maps us to unprivileged host
    ids (as root: a dedicated range; otherwise the grader's own id), then
    new mount, PID, IPC, UTS and network namespaces. The caller forks next,
    so the child is PID 1 of the new PID namespace.
``build_root``
    A fresh, read-only root on a tmpfs holding exactly the allowlist: each
    entry bind-mounted from a descriptor the grader opened (so no path above
    it needs to be reachable) at the same path it has on the host, plus a
    minimal /dev (null, zero, random, urandom), a few synthetic /etc files,
    and mount points for /proc, /tmp and /work. ``pivot_root`` into it and
    the old root is detached: nothing else of the host exists any more.
``finish_child``
    Per sandboxed child: its own mount and IPC namespaces, a fresh /proc
    whose ``sys`` is read-only, a private size-capped /tmp, its work folder
    (from a descriptor) as the only writable place, the libraries its lab
    does not allow unmounted, then an unprivileged uid (as root), no
    capabilities, ``no_new_privs`` and the system-call filter.
"""
from __future__ import annotations

import ctypes
import fcntl
import os
import platform
import socket
import struct

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8, 32, 4096, 16384, 1 << 18)
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 1, 24, 38, 47, 4
PR_SET_DUMPABLE = 4
CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x02000000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "arm64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217,
               "i686": 217, "armv7l": 218}
SANDBOX_UID = 1000  # the child's id inside its user namespace when the grader could map more than one
WORK, TMP = "/submission", "/tmp"  # WORK: not /work, where checkouts and venvs often live

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def check(result: int, what: str) -> None:
    """Raise OSError (with errno's text) when a libc call returned non-zero."""
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _b(value):
    return value.encode() if isinstance(value, str) else value


def mount(source, target, fstype, flags, data=None) -> None:
    check(libc.mount(_b(source), _b(target), _b(fstype), ctypes.c_ulong(flags), _b(data)), f"mount {target}")


def umount(target: str) -> None:
    check(libc.umount2(_b(target), MNT_DETACH), f"umount {target}")


def unshare(flags: int, what: str) -> None:
    check(libc.unshare(flags), f"unshare {what}")


def _statvfs_flags(path: str) -> int:
    """The mount flags a remount must keep (the kernel refuses to clear locked ones)."""
    f = os.statvfs(path).f_flag
    out = 0
    for st, ms in ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC),
                   (os.ST_NOATIME, MS_NOATIME), (os.ST_NODIRATIME, MS_NODIRATIME), (os.ST_RELATIME, MS_RELATIME)):
        if f & st:
            out |= ms
    return out


def read_only(target: str, extra: int = 0) -> None:
    """Remount a bind mount read-only, keeping the flags it already has."""
    mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _statvfs_flags(target) | extra)


# -- stage 1: the user namespace and the others ---------------------------------------
def enter_user_namespace(ask_for_maps, clear_groups: bool, network: bool, *, join: dict | None = None,
                         host_network: bool = False) -> None:
    """New user namespace (mapped by the grader through ``ask_for_maps()``), then the other namespaces.

    ``join`` holds descriptors of an existing user and network namespace to
    enter instead (a launched child of a lab with network joins the thread's
    network, where the grader's mock services listen).
    """
    check(libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0), "pdeathsig")
    if join:
        check(libc.setns(join["user"], CLONE_NEWUSER), "setns user")
        check(libc.setns(join["net"], CLONE_NEWNET), "setns net")
        os.close(join["user"])
        os.close(join["net"])
    else:
        unshare(CLONE_NEWUSER, "user namespace")
        ask_for_maps()
    if clear_groups:
        os.setgroups([])  # host groups (root's among them) would still open files on the host
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
    if not join and not host_network:  # host_network: no private network could be made (the grader says so)
        flags |= CLONE_NEWNET
    unshare(flags, "mount, PID, IPC, UTS and network namespaces")
    if network and not join and not host_network:
        loopback_up()


def loopback_up() -> None:
    """Bring up ``lo`` in this network namespace (new ones start with it down)."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        ifreq = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, siocgifflags, ifreq))[1]
        fcntl.ioctl(sock, siocsifflags, struct.pack("16sH14x", b"lo", flags | iff_up))


def become_pid_one() -> None:
    """Fork into the new PID namespace. Returns only in the child (PID 1); the parent waits and exits with it.

    The parent closes every descriptor first: the grader's pipes then close
    exactly when PID 1 (and with it the whole namespace) is gone.
    """
    pid = os.fork()
    if pid == 0:
        check(libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0), "pdeathsig")
        return
    os.closerange(0, 1 << 16)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    os._exit(code if code >= 0 else 128 - code)


# -- stage 2: the allowlisted root ----------------------------------------------------
_PASSWD = "root:x:0:0::/submission:/nonexistent\nsandbox:x:1000:1000::/submission:/nonexistent\n"
_GROUP = "root:x:0:\nsandbox:x:1000:\n"
_ETC = {"passwd": _PASSWD, "group": _GROUP, "hosts": "127.0.0.1 localhost\n::1 localhost\n",
        "nsswitch.conf": "passwd: files\ngroup: files\nhosts: files\n"}
_DEVICES = ("null", "zero", "random", "urandom")


def _make_target(path: str, is_dir: bool) -> None:
    if is_dir:
        os.makedirs(path, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if not os.path.exists(path):
            with open(path, "wb"):
                pass


def build_root(binds: list, links: list, masks: list, placed: list, *, scratch: str = TMP,
               new_root: str = "/tmp") -> None:
    """A read-only root holding exactly ``binds`` (from descriptors); pivot into it.

    ``binds``: ``(fd, path, is_dir)`` entries, mounted read-only at ``path``.
    ``links``: ``[path, target]`` symlinks (``/lib -> usr/lib`` on merged-usr systems).
    ``masks``: paths inside bound folders covered by an empty read-only tmpfs
    (an interpreter's own site-packages, which may hold anything).
    ``placed``: ``(fd, path, writable)`` folders mounted at a fixed ``path``:
    the runtime (read-only), and writable the sandboxes' folder (a fork
    server's children each bind their own part of it, then unmount the rest)
    or a launched child's own work folder.
    ``scratch``: the mount point for each child's private scratch folder.
    """
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", new_root, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=755")
    root = new_root.rstrip("/")
    for fd, path, is_dir in binds:
        target = root + path
        _make_target(target, is_dir)
        mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC)
        read_only(target, MS_NOSUID)
    for fd, path, writable in placed:
        target = root + path
        _make_target(target, True)
        mount(f"/proc/self/fd/{fd}", target, None, MS_BIND)
        mount(None, target, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | _statvfs_flags(target)
              | (0 if writable else MS_RDONLY))
    for path in masks:
        target = root + path
        if os.path.isdir(target):
            mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=755")
    for path, target in links:
        os.makedirs(os.path.dirname(root + path), exist_ok=True)
        if not os.path.lexists(root + path):
            os.symlink(target, root + path)
    os.makedirs(root + "/etc", exist_ok=True)
    for name, text in _ETC.items():
        if not os.path.exists(f"{root}/etc/{name}"):
            with open(f"{root}/etc/{name}", "w", encoding="utf-8") as fh:  # utf-8 is loaded; ascii would be imported, unreachable here
                fh.write(text)
    os.makedirs(root + "/dev", exist_ok=True)
    for name in _DEVICES:
        _make_target(f"{root}/dev/{name}", False)
        mount(f"/dev/{name}", f"{root}/dev/{name}", None, MS_BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{root}/dev/{name}")
    for folder in ("/proc", scratch, WORK, VIEWS, "/.old"):
        os.makedirs(root + folder, exist_ok=True)
    mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.chdir(root)
    number = _PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise OSError(0, f"pivot_root: unknown system call number on {platform.machine()}")
    if libc.syscall(number, b".", b".old") != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"pivot_root: {os.strerror(err)}")
    os.chdir("/")
    umount("/.old")
    os.rmdir("/.old")
    mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    for fd, *_rest in list(binds) + list(placed):
        os.close(fd)


# -- stage 3: one sandboxed child ------------------------------------------------------
class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_bounding_set() -> None:
    """No capability can ever come back (needs CAP_SETPCAP: before changing uid)."""
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != 22:  # EINVAL: no such cap
            raise OSError(ctypes.get_errno(), f"dropping capability {cap} from the bounding set")
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)


def drop_capabilities() -> None:
    """Clear every capability this process holds, forbid gaining any, and prove it (after ``drop_bounding_set``)."""
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")
    check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    with open("/proc/self/status") as fh:
        effective = next(line.split()[1] for line in fh if line.startswith("CapEff"))
    if int(effective, 16) != 0:
        raise OSError(1, f"capabilities still held: {effective}")


SANDBOXES = "/.sandboxes"  # where the writable folders are mounted in the root, until a child takes its own
VIEWS = "/.iclab/views"    # a fork server's site-packages views: one per set of libraries a lab allows


def library_view(hidden: list[str]) -> list[tuple[str, str]]:
    """(view, folder) pairs showing each site-packages folder without ``hidden`` entries; made once, reused.

    Runs in the fork server (which keeps the views in its own mount namespace):
    a view is a folder holding binds of the entries its libraries may use; a
    child binds it over the real folder in one mount, where unmounting each
    hidden entry would cost a mount-table sync apiece (two milliseconds a child).
    """
    import hashlib

    if not os.path.ismount(VIEWS):
        mount("tmpfs", VIEWS, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=1m,mode=755")
    pairs = []
    by_folder: dict[str, set[str]] = {}
    for path in hidden:
        by_folder.setdefault(os.path.dirname(path), set()).add(os.path.basename(path))
    for folder, names in sorted(by_folder.items()):
        key = hashlib.sha256(("\0".join([folder, *sorted(names)])).encode()).hexdigest()[:16]
        view = _VIEWS_MADE.get(key)
        if view is None:
            view = f"{VIEWS}/{key}-{len(_VIEWS_MADE)}"  # a fresh name: a view half made by a failure is never reused
            os.makedirs(view)
            for name in sorted(os.listdir(folder)):
                if name in names:
                    continue
                source, target = os.path.join(folder, name), os.path.join(view, name)
                _make_target(target, os.path.isdir(source))
                mount(source, target, None, MS_BIND | MS_REC)
            _VIEWS_MADE[key] = view
        pairs.append((view, folder))
    return pairs


_VIEWS_MADE: dict[str, str] = {}


def finish_child(work: str, *, tmp_mb: int, hide: list, drop_to_uid: bool, seccomp: bytes | None,
                 fresh_mounts: bool = True, scratch: str = TMP, views: list | None = None) -> None:
    """Seal one child: own mounts, /proc, /tmp and /work; fewer libraries; no privilege; the filter.

    ``work`` is the child's folder as the root shows it (under ``SANDBOXES``);
    it is bound at /work and ``SANDBOXES`` is then unmounted, so the child
    sees its own folder and no other sandbox's.
    """
    if fresh_mounts:
        unshare(CLONE_NEWNS | CLONE_NEWIPC, "mount and IPC namespaces")
        mount(None, "/", None, MS_REC | MS_PRIVATE)
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for sub in ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus"):
        if os.path.exists(sub):
            mount(sub, sub, None, MS_BIND | MS_REC)
            read_only(sub, MS_NOSUID | MS_NODEV | MS_NOEXEC)
    mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, f"size={tmp_mb}m,mode=1777")
    if not os.path.realpath(work).startswith(SANDBOXES + "/") and os.path.realpath(work) != SANDBOXES:
        raise OSError(0, f"the work folder {work!r} is not among the sandboxes")
    mount(work, WORK, None, MS_BIND)
    mount(None, WORK, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | _statvfs_flags(WORK))
    umount(SANDBOXES)
    for view, folder in views or []:  # a site-packages folder as its lab may see it, in one mount
        mount(view, folder, None, MS_BIND | MS_REC)
    for path in hide:
        try:
            umount(path)
        except OSError:
            pass  # not mounted in this root: nothing to hide
    os.chdir(WORK)
    drop_bounding_set()
    if drop_to_uid:
        os.setgroups([])
        os.setresgid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)
        os.setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)
        # Changing ids made the process non-dumpable, which hands its /proc entries to root (of no
        # namespace here): the fork server could no longer read its peak memory. Core dumps stay off
        # (RLIMIT_CORE is 0) and nothing can trace it (the filter refuses ptrace).
        check(libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "dumpable")
    drop_capabilities()
    # Landlock too, where the kernel has it: the root is already an allowlist, but /proc is not, and a
    # child must not write /proc/self (clear_refs would hide its memory peak from the grader).
    import _iclab_landlock

    _iclab_landlock.restrict(["/"], [WORK, scratch, "/dev/null"], None)
    if seccomp:
        import _iclab_seccomp

        _iclab_seccomp.load(seccomp)
