"""What a batch run grades: submissions discovered on disk, the labs of each, this shard's share.

Sharding is by submission (a learner's labs stay together) and by a stable
hash of the submission's name, so N CI jobs given the same folder split it
the same way on every machine.
"""
from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .. import catalog
from ..errors import UsageError
from ..workspace import MARKER

__all__ = ["Unit", "Plan", "make_plan", "parse_shard", "submission_entries"]


@dataclass(frozen=True)
class Unit:
    """One lab of one submission: the grain of work, of the journal and of the gradebook."""

    submission: str
    lab: str
    path: Path

    @property
    def key(self) -> str:
        return f"{self.submission}::{self.lab}"


@dataclass(frozen=True)
class Plan:
    root: Path
    labs: tuple[str, ...] | None
    shard: tuple[int, int]
    units: tuple[Unit, ...]
    skipped: tuple[str, ...]

    def manifest(self) -> dict:
        """What identifies this run: a resumed or merged run must match it."""
        return {
            "schema": "iclab/batch-run/v1",
            "root": str(self.root),
            "labs": list(self.labs) if self.labs else None,
            "shard": {"index": self.shard[0], "count": self.shard[1]},
            "units": [u.key for u in self.units],
        }


def parse_shard(text: str | None) -> tuple[int, int]:
    if not text:
        return (1, 1)
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise UsageError(f"--shard {text!r}: expected K/N, e.g. 2/4") from None
    if not 1 <= k <= n:
        raise UsageError(f"--shard {text!r}: K must be between 1 and N")
    return (k, n)


def _in_shard(name: str, shard: tuple[int, int]) -> bool:
    k, n = shard
    digest = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")
    return digest % n == k - 1


def submission_entries(root: Path) -> list[Path]:
    """Each learner is one folder or one .zip directly under ``root``, in name order."""
    if not root.is_dir():
        raise UsageError(f"{root}: no such folder")
    return sorted(p for p in root.iterdir()
                  if not p.name.startswith(".") and (p.is_dir() or p.suffix.lower() == ".zip") and not p.is_symlink())


def _labs_in(entry: Path, known: list[str]) -> tuple[list[str], str | None]:
    """The labs a submission holds, read cheaply (folder names or the zip's manifest)."""
    if entry.is_dir():
        inner = [lab for lab in known if (entry / lab).is_dir()]
        if inner:
            return inner, None
        marker = entry / MARKER
        if marker.is_file():
            for line in marker.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith("lab") and "=" in line:
                    lab = line.split("=", 1)[1].strip().strip('"')
                    if lab in known:
                        return [lab], None
        return [], "holds no lab folder"
    try:
        with zipfile.ZipFile(entry) as zf:
            manifest = json.loads(zf.read("iclab-submission.json")[:1_000_000])
        labs = [lab for lab in manifest.get("labs", []) if lab in known]
        return (labs, None) if labs else ([], "its manifest names no known lab")
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, AttributeError):
        return [], "not a readable iclab submission zip"


def make_plan(root: Path, labs: list[str] | None = None, shard: str | None = None) -> Plan:
    """Discover the units this shard grades. With ``labs``, every submission is graded on those labs."""
    known = catalog.lab_ids()
    for lab in labs or []:
        catalog.get_lab(lab)
    shard_t = parse_shard(shard)
    root = root.resolve()
    units: list[Unit] = []
    skipped: list[str] = []
    for entry in submission_entries(root):
        name = entry.stem if entry.suffix.lower() == ".zip" else entry.name
        if not _in_shard(name, shard_t):
            continue
        if labs:
            chosen = list(labs)
        else:
            chosen, why = _labs_in(entry, known)
            if not chosen:
                skipped.append(f"{entry.name}: {why}")
                continue
        units.extend(Unit(name, lab, entry) for lab in chosen)
    return Plan(root, tuple(labs) if labs else None, shard_t, tuple(units), tuple(skipped))
