"""iclab's grading engine: lab catalogue, sandboxed runner, checks, results and renderers."""
from __future__ import annotations

__version__ = "0.1.0"
