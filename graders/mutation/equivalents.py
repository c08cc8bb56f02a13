"""A lab's reviewed equivalent mutants: ``solutions/<lab>/equivalent-mutants.toml``.

An equivalent mutant behaves like the reference on every input the ticket
allows, so no fair grader can kill it. Each judgement is written down with a
one-line reason a reviewer can check::

    [[equivalent]]
    id = "argument-cb8591975e"        # from `iclab verify --mutants` (stable across line moves)
    where = "mapper.py:60"            # for the reader; the id is what matches
    reason = "csv reads the same rows with newline=None: the lookup files hold no quoted newlines"
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..errors import ManifestError

__all__ = ["Equivalent", "load_equivalents", "FILE_NAME", "stanza"]

FILE_NAME = "equivalent-mutants.toml"
_PLACEHOLDERS = {"", "todo", "tbd", "?"}


@dataclass(frozen=True)
class Equivalent:
    id: str
    where: str
    reason: str


def load_equivalents(path: Path) -> dict[str, Equivalent]:
    """The reviewed list by mutant id (empty when the file does not exist); ManifestError when malformed."""
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ManifestError(f"{path}: invalid TOML: {exc}") from None
    entries = data.get("equivalent", [])
    unknown = sorted(set(data) - {"equivalent"})
    if unknown or not isinstance(entries, list):
        raise ManifestError(f"{path}: expected only [[equivalent]] tables, found {', '.join(unknown) or 'equivalent'}")
    out: dict[str, Equivalent] = {}
    for n, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise ManifestError(f"{path}: entry {n} has no id")
        reason = entry.get("reason")
        if not isinstance(reason, str) or reason.strip().lower() in _PLACEHOLDERS:
            raise ManifestError(f"{path}: entry {n} ({entry['id']}) has no reason: say why no grader could kill it")
        if entry["id"] in out:
            raise ManifestError(f"{path}: mutant {entry['id']} is listed twice")
        out[entry["id"]] = Equivalent(entry["id"], str(entry.get("where", "")), reason.strip())
    return out


def stanza(mutant_id: str, where: str, change: str) -> str:
    """A TOML entry to paste into the list once a survivor is judged equivalent (reason to fill in)."""
    change = " ".join(change.split())[:120]  # shown in a comment: no escaping needed
    return (f'[[equivalent]]\nid = "{mutant_id}"\nwhere = "{where}"\n'
            f'# mutant: {change}\nreason = "TODO: why no input the ticket allows tells it from the reference"\n')
