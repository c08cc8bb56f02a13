"""Frozen records of what happened when the grader called learner code.

Checks read these; they never run learner code themselves.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CallStatus", "CallError", "CallRecord"]


class CallStatus(str, enum.Enum):
    RETURNED = "returned"
    RAISED = "raised"
    TIMED_OUT = "timed_out"
    CRASHED = "crashed"


@dataclass(frozen=True)
class CallError:
    """An exception the learner's code raised, as plain data."""

    type: str
    message: str
    stage: str = "call"  # import | lookup | call | return
    attrs: dict = field(default_factory=dict)
    traceback: str = ""

    def line(self) -> str:
        text = f"{self.type}: {self.message}" if self.message else self.type
        return text.splitlines()[0][:300] if text else self.type


@dataclass(frozen=True)
class CallRecord:
    """One call of a learner entry point: inputs as sent, and what came back."""

    target: str
    args: tuple
    kwargs: dict
    status: CallStatus
    value: Any = None
    error: CallError | None = None
    args_after: tuple | None = None
    kwargs_after: dict | None = None
    output: str = ""
    duration: float = 0.0
    detail: str = ""
    # With ``measure_memory``: how far the peak resident memory of the child's process tree rose
    # during the call, in KiB, read by the grader from the kernel (None when it could not be told).
    peak_growth_kb: int | None = None

    @property
    def ok(self) -> bool:
        return self.status is CallStatus.RETURNED

    @property
    def function(self) -> str:
        return self.target.partition(":")[2] or self.target

    def problem(self) -> str:
        """One line, written for the learner, saying why no value came back."""
        name = f"{self.function}()"
        if self.status is CallStatus.RETURNED:
            return ""
        if self.status is CallStatus.TIMED_OUT:
            return f"{name} did not return within {self.detail}"
        if self.status is CallStatus.CRASHED:
            return f"{name} never answered: {self.detail}"
        err = self.error
        if err is None:
            return f"{name} failed"
        if err.stage == "import":
            module = self.target.partition(":")[0]
            return f"importing {module}.py failed: {err.line()}"
        if err.stage in ("lookup", "return"):
            return err.line()
        return f"{name} raised {err.line()}"
