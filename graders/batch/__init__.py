"""Grade many submissions: planned, sharded, parallel, journaled as it goes, resumable."""
from __future__ import annotations

from .plan import Plan, Unit, make_plan
from .runner import BatchSummary, run_batch

__all__ = ["Plan", "Unit", "make_plan", "BatchSummary", "run_batch"]
