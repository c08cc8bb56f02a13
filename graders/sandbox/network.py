"""Where a grading's mock services listen, so that its sandboxed child, and nothing else it can reach, answers.

Namespace mode: the thread's fork server lives in a network namespace of its
own whose loopback holds nothing but what the grader asks for;
``listener()`` gets a socket listening there (made by the fork server, served
by the grader), and every child of that thread (forked, or launched and
joined to that namespace) reaches it on 127.0.0.1 and reaches nothing else.

Process mode: the host's loopback, but the child's Landlock rules let it
connect only to this thread's ports: a small pool of sockets, bound once
per thread, that ``listener()`` hands out in turn.

Either way the mock is built with its ``/__admin`` API off.
"""
from __future__ import annotations

import itertools
import socket
import threading

from . import isolation, zygote

__all__ = ["listener", "process_ports"]

_POOL_SIZE = 16
_local = threading.local()


def _pool() -> list[socket.socket]:
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = []
        for _ in range(_POOL_SIZE):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sock.listen(128)
            pool.append(sock)
        _local.pool = pool
        _local.turn = itertools.cycle(range(_POOL_SIZE))
    return pool


def process_ports() -> list[int]:
    """The loopback ports a process-mode child of this thread may connect to."""
    return [s.getsockname()[1] for s in _pool()]


def listener() -> socket.socket | None:
    """A socket listening on 127.0.0.1 that this thread's sandboxed children can reach (None: bind your own).

    None only where no sandbox network exists: then the mock binds a loopback
    port itself, and the grading's result says the private network is missing.
    """
    if isolation.detect() == isolation.Isolation.NAMESPACE:
        from .child import _BASE_ENV, _sandbox_base
        from .. import paths

        try:
            server = zygote.for_this_thread(_sandbox_base(), _BASE_ENV, network=True,
                                            hidden=paths.hidden_from_learners())
            return server.listener()
        except zygote.ZygoteError:
            return None
    pool = _pool()
    # A duplicate: the mock closes its copy when it stops; the pool's stays, still listening, for the next one.
    return pool[next(_local.turn)].dup()
