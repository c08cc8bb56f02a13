"""Where iclab's folders live: its built-in lab pack (a checkout's top level, or the installed copy) and state."""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ROOT", "LABS", "FIXTURES", "SOLUTIONS", "SCHEMAS", "BUILTIN_CHECKS", "state_dir", "hidden_from_learners"]

_PACKAGE = Path(__file__).resolve().parent
_INSTALLED = _PACKAGE / "_builtin"  # a wheel carries labs/, fixtures/ and solutions/ here (setup.py copies them)


def _root() -> Path:
    explicit = os.environ.get("ICLAB_HOME")
    if explicit:
        return Path(explicit)
    if (_INSTALLED / "labs").is_dir():
        return _INSTALLED
    return _PACKAGE.parent  # a checkout (or an editable install of one)


ROOT = _root()                       # the built-in pack: labs/, fixtures/, solutions/
LABS = ROOT / "labs"
FIXTURES = ROOT / "fixtures"
SOLUTIONS = ROOT / "solutions"
SCHEMAS = _PACKAGE / "schemas"
BUILTIN_CHECKS = _PACKAGE / "labs"   # the built-in labs' hidden checks: the graders.labs package


def state_dir() -> Path:
    """Folder for a learner's progress (hints shown, best scores)."""
    explicit = os.environ.get("ICLAB_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "iclab"


def hidden_from_learners() -> list[Path]:
    """What a sandboxed child must never reach: every pack's solutions and checks, iclab's own code, tests, .git."""
    from . import packs
    from .errors import IclabError

    try:
        found = packs.discover()
    except IclabError:
        found = (packs.builtin(),)
    hidden = [_PACKAGE, ROOT / "tests", ROOT / ".git", _PACKAGE.parent / ".git"]
    for pack in found:
        hidden += [pack.solutions, pack.checks]
    return list(dict.fromkeys(hidden))
