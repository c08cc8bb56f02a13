"""A virtual clock: one timeline shared by the mock server and the learner's code.

Sleeping advances virtual time and costs no real time, so a lab full of
30-second Retry-After headers grades in well under a second. The only real
waiting anywhere is a *dilated* stall: to make a response slower than a
client's timeout, the server holds it for ``virtual / dilation`` real seconds
(never more than ``MAX_REAL_STALL``) and the grading harness divides the
client's timeout by the same ``dilation``.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

__all__ = ["DEFAULT_EPOCH", "MAX_REAL_STALL", "VirtualClock"]

# 2025-01-06T09:00:00Z, a Monday morning: fixed so journals are reproducible.
DEFAULT_EPOCH = 1_736_154_000.0
# No stall ever holds a server thread longer than this in real time.
MAX_REAL_STALL = 2.0
# Real monotonic clocks start at an arbitrary value; starting well above zero
# keeps code that treats 0 as "unset" honest.
_MONOTONIC_ORIGIN = 1_000.0


class VirtualClock:
    """A thread-safe virtual timeline that moves only when told to."""

    def __init__(self, start: float = DEFAULT_EPOCH, dilation: float = 100.0) -> None:
        if dilation <= 0:
            raise ValueError("dilation must be positive")
        self._start = float(start)
        self._now = float(start)
        self._lock = threading.Lock()
        self.dilation = float(dilation)

    def now(self) -> float:
        """Return virtual wall-clock time, in epoch seconds (what time.time() would)."""
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        """Return a virtual monotonic reading (what time.monotonic() would)."""
        with self._lock:
            return _MONOTONIC_ORIGIN + (self._now - self._start)

    def sleep(self, seconds: float) -> None:
        """Advance virtual time by ``seconds`` without waiting; mirrors time.sleep's checks."""
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        self.advance(seconds)

    def advance(self, seconds: float) -> float:
        """Move virtual time forward by ``seconds`` and return the new now()."""
        if seconds < 0:
            raise ValueError("virtual time never goes backwards")
        with self._lock:
            self._now += float(seconds)
            return self._now

    def advance_to(self, when: float) -> float:
        """Move virtual time forward to ``when`` if it is later; never backwards."""
        with self._lock:
            self._now = max(self._now, float(when))
            return self._now

    def elapsed(self) -> float:
        """Return virtual seconds since the clock started."""
        with self._lock:
            return self._now - self._start

    def real_stall(self, virtual_seconds: float) -> float:
        """Return the bounded real seconds a server holds a ``virtual_seconds`` stall."""
        if virtual_seconds <= 0:
            return 0.0
        return min(virtual_seconds / self.dilation, MAX_REAL_STALL)

    def isoformat(self, when: float | None = None) -> str:
        """Render a virtual instant (default: now) as ISO 8601 UTC to the second."""
        instant = self.now() if when is None else when
        return datetime.fromtimestamp(instant, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def __repr__(self) -> str:
        return f"VirtualClock(now={self.isoformat()!r}, dilation={self.dilation:g})"
