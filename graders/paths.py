"""Where iclab's folders live: the repository checkout the package runs from."""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ROOT", "LABS", "FIXTURES", "SOLUTIONS", "SCHEMAS", "state_dir", "hidden_from_learners"]

ROOT = Path(os.environ.get("ICLAB_HOME") or Path(__file__).resolve().parent.parent)
LABS = ROOT / "labs"
FIXTURES = ROOT / "fixtures"
SOLUTIONS = ROOT / "solutions"
SCHEMAS = Path(__file__).resolve().parent / "schemas"


def state_dir() -> Path:
    """Folder for a learner's progress (hints shown, best scores)."""
    explicit = os.environ.get("ICLAB_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "iclab"


def hidden_from_learners() -> list[Path]:
    """Folders a sandboxed child must not read: solutions and the hidden checks."""
    return [SOLUTIONS, Path(__file__).resolve().parent, ROOT / "tests"]
