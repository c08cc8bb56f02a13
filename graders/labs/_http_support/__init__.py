"""Parent-side support for labs whose submissions talk HTTP to the mock services.

- ``stage``: a grading is a ``Stage``. It owns the RPC handlers the sandboxed
  child's time and log records go through (``_iclab_http`` patches
  ``time.sleep`` and friends, and sends each log record and printed line as
  it is written) and opens one ``Scene`` per probe: a fresh mock service with
  its own ``VirtualClock`` and scenario, served on a loopback port.
  ``Stage.play`` runs one entry point through the harness and returns
  ``Played``, frozen evidence recorded here, in the grader's process.
- ``journal``: reading journals: which requests are token requests, how a
  request ended (timeout, dropped, throttled, ...), when the server asked the
  client to come back, and how requests group into logical operations.
- ``faults``: faults the grading services add to the stock ones (a fixed
  answer, a connection closed before processing, every form of Retry-After,
  lower-case header names, faults by logical resource).
"""
from __future__ import annotations

from .faults import Answer, DropBeforeAnswer, LowercaseHeaders, PerKey, Throttle
from .journal import RETRY_KINDS, TRANSIENT, bearer, come_back_at, correlation, ended, is_token, kind, operations
from .stage import HARNESS, LogLine, Played, Scene, Stage, StopRun, environment

__all__ = ["HARNESS", "StopRun", "Scene", "Stage", "Played", "LogLine", "environment", "is_token", "bearer", "ended",
           "come_back_at", "kind", "operations", "correlation", "TRANSIENT", "RETRY_KINDS",
           "Answer", "DropBeforeAnswer", "Throttle", "LowercaseHeaders", "PerKey"]
