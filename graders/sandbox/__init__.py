"""Run learner code in an isolated child process and record what it returned."""
from __future__ import annotations

from .process import Call, Limits, Sandbox
from .records import CallError, CallRecord, CallStatus

__all__ = ["Call", "Limits", "Sandbox", "CallError", "CallRecord", "CallStatus"]
