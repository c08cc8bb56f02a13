"""Process mode's allowlist: Linux Landlock, which any process may apply to itself. Standard library only.

Where namespaces are not available (containers, CI images, Gradescope) the
child still restricts itself before any learner code runs, with no privilege
needed and whatever its user id:

- file system: read (and execute) only beneath the named folders and files
  (interpreter, standard library, allowed libraries, system libraries, the
  runtime), read and write only beneath its work folder and a few devices;
  everything else, the grader's checkout and its hidden checks included,
  does not open;
- TCP (Landlock ABI 4+): connect only to the ports the grader names (its
  mock services), bind none;
- scope (ABI 6+): no signal to a process outside the sandbox (the grader
  cannot be killed), no connection to an abstract Unix socket outside it.

``restrict`` returns the ABI it could use; the grader reports what an older
kernel lacks.
"""
from __future__ import annotations

import ctypes
import os

__all__ = ["abi", "restrict"]

_CREATE, _ADD, _RESTRICT = 444, 445, 446  # the same numbers on every architecture
_RULE_PATH, _RULE_PORT = 1, 2
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR, MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = (
    1 << 4, 1 << 5, 1 << 6, 1 << 7, 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12)
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
BIND_TCP, CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX, SCOPE_SIGNAL = 1 << 0, 1 << 1
PR_SET_NO_NEW_PRIVS = 38

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class _Ruleset(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _Port(ctypes.Structure):
    _fields_ = [("allowed", ctypes.c_uint64), ("port", ctypes.c_uint64)]


def abi() -> int:
    """The Landlock ABI this kernel offers (0: none)."""
    version = _libc.syscall(_CREATE, None, 0, 1)  # LANDLOCK_CREATE_RULESET_VERSION
    return int(version) if version > 0 else 0


def _fs_rights(version: int) -> int:
    rights = (1 << 13) - 1
    if version >= 2:
        rights |= REFER
    if version >= 3:
        rights |= TRUNCATE
    if version >= 5:
        rights |= IOCTL_DEV
    return rights


def restrict(read: list[str], write: list[str], ports: list[int] | None, listed: list[str] = ()) -> int:
    """Allow only reading ``read``, writing ``write``, connecting to ``ports``; return the ABI used.

    ``listed``: folders whose entries may be listed (not read): a site-packages
    folder, which the import system lists to find the allowed libraries in it.
    ``ports`` None leaves TCP alone (a namespace-mode child's network already
    holds nothing but its mock services).

    Raises OSError when Landlock exists but refuses (the child then stops: it
    never runs learner code under less than it was told it would get).
    """
    version = abi()
    if version < 1:
        return 0
    handled = _fs_rights(version)
    size = ctypes.sizeof(ctypes.c_uint64) * (3 if version >= 6 else 2 if version >= 4 else 1)
    attr = _Ruleset(handled, BIND_TCP | CONNECT_TCP if version >= 4 and ports is not None else 0,
                    SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL if version >= 6 else 0)
    ruleset = _libc.syscall(_CREATE, ctypes.byref(attr), size, 0)
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset")
    try:
        reading = READ_FILE | READ_DIR | EXECUTE
        everything = handled & ~(MAKE_CHAR | MAKE_BLOCK)
        for paths, rights in ((listed, READ_DIR), (read, reading), (write, everything)):
            for path in paths:
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue  # not on this machine: nothing to allow
                try:
                    allowed = rights if os.path.isdir(path) else rights & (READ_FILE | WRITE_FILE | EXECUTE | TRUNCATE)
                    rule = _PathBeneath(allowed & handled, fd)
                    if _libc.syscall(_ADD, ruleset, _RULE_PATH, ctypes.byref(rule), 0) != 0:
                        raise OSError(ctypes.get_errno(), f"landlock rule for {path}")
                finally:
                    os.close(fd)
        if version >= 4 and ports is not None:
            for port in ports:
                rule = _Port(CONNECT_TCP, int(port))
                if _libc.syscall(_ADD, ruleset, _RULE_PORT, ctypes.byref(rule), 0) != 0:
                    raise OSError(ctypes.get_errno(), f"landlock rule for port {port}")
        if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "no_new_privs")
        if _libc.syscall(_RESTRICT, ruleset, 0) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return version
