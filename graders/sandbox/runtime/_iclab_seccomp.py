"""The sandboxed child's system-call filter: refuse what no lab ever needs. Standard library only.

The filter is built with libseccomp (``libseccomp.so.2``, through ctypes:
the library resolves names to numbers for this machine's architecture and
compiles the BPF program) and loaded with ``prctl(PR_SET_SECCOMP)``. The fork
server builds it once and hands the compiled program to every child, so a
child pays one ``prctl``, not a compilation.

Refused with EPERM: tracing and reading other processes' memory, every mount
and namespace call (and ``clone`` with namespace flags), kernel keyrings,
BPF, perf events, kernel modules, reboot and kexec, swap, accounting, the
clock, the kernel log, handles by inode, userfaultfd, io_uring, fanotify,
host and domain names. ``clone3`` answers ENOSYS, so the C library falls
back to ``clone``, whose flags the filter can read.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os

__all__ = ["REFUSED", "compile_filter", "load", "Unavailable"]

REFUSED = (
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "move_mount", "open_tree", "fsopen",
    "fsconfig", "fsmount", "fspick", "mount_setattr",
    "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot",
    "swapon", "swapoff", "acct", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "syslog", "quotactl", "open_by_handle_at", "name_to_handle_at", "lookup_dcookie", "fanotify_init",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "iopl", "ioperm", "vhangup",
    "sethostname", "setdomainname", "uselib", "personality",
)
_NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
# CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET

_ALLOW = 0x7FFF0000
_MASKED_EQ = 7
PR_SET_SECCOMP, SECCOMP_MODE_FILTER, PR_SET_NO_NEW_PRIVS = 22, 2, 38


class Unavailable(OSError):
    """libseccomp cannot be loaded here: the child runs without a system-call filter (and says so)."""


def _errno(value: int) -> int:
    return 0x00050000 | (value & 0xFFFF)


class _Cmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


def _library():
    name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    try:
        lib = ctypes.CDLL(name, use_errno=True)
    except OSError as exc:
        raise Unavailable(f"libseccomp not found ({exc})") from None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    return lib


def compile_filter(extra: tuple[str, ...] = ()) -> bytes:
    """The filter as a compiled BPF program (``struct sock_filter`` array); Unavailable without libseccomp.

    ``extra``: more system calls to refuse (process mode refuses ``setsid``
    and ``setpgid``, so nothing the child starts can leave its session).
    """
    lib = _library()
    ctx = lib.seccomp_init(_ALLOW)
    if not ctx:
        raise Unavailable("seccomp_init failed")
    try:
        def rule(action: int, name: str, *cmps: _Cmp) -> None:
            nr = lib.seccomp_syscall_resolve_name(name.encode())
            if nr < 0:
                return  # not a system call on this architecture
            array = (_Cmp * len(cmps))(*cmps) if cmps else None
            if lib.seccomp_rule_add_array(ctx, action, nr, len(cmps), array) != 0:
                raise Unavailable(f"seccomp rule for {name} refused")

        for name in REFUSED + tuple(extra):
            rule(_errno(errno.EPERM), name)
        rule(_errno(errno.ENOSYS), "clone3")
        for flag in _NAMESPACE_FLAGS:
            rule(_errno(errno.EPERM), "clone", _Cmp(0, _MASKED_EQ, flag, flag))
        read_fd, write_fd = os.pipe()
        try:
            if lib.seccomp_export_bpf(ctx, write_fd) != 0:
                raise Unavailable("seccomp_export_bpf failed")
            os.close(write_fd)
            write_fd = -1
            program = b""
            while chunk := os.read(read_fd, 65536):
                program += chunk
        finally:
            os.close(read_fd)
            if write_fd >= 0:
                os.close(write_fd)
        return program
    finally:
        lib.seccomp_release(ctx)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def load(program: bytes) -> None:
    """Install a compiled filter on this process (and everything it starts): for good."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "no_new_privs")
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "loading the seccomp filter")
