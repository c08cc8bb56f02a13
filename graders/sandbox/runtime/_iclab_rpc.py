"""The child's line back to the grader, for harness code that must ask the parent.

Example: virtual time. A harness installs ``time.sleep = lambda s: call("clock.sleep", s)``
so the learner's waiting advances the grader's clock instead of the wall clock.
"""
from __future__ import annotations

_channel = None


def bind(channel) -> None:
    """Attach the channel the child's main loop set up (called once, by the child)."""
    global _channel
    _channel = channel


def call(name: str, *args):
    """Ask the grader to run its handler ``name`` with ``args`` and return its value."""
    if _channel is None:
        raise RuntimeError("no grader is attached to this process")
    return _channel.rpc(name, list(args))
