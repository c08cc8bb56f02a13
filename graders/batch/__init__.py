"""Grade many submissions: planned, sharded, parallel, journaled as it goes, resumable."""
from __future__ import annotations

from .plan import Plan, Ungradable, Unit, make_plan
from .runner import BatchSummary, Interrupted, run_batch

__all__ = ["Plan", "Unit", "Ungradable", "make_plan", "BatchSummary", "Interrupted", "run_batch"]
