"""What a batch run grades: submissions discovered on disk, the labs of each, this shard's share.

Every entry under the submissions folder is a learner, and every learner ends
up in the gradebook: as lab gradings (``Unit``), or, when nothing in it can be
graded, as an ``Ungradable`` with its status and reason. Nobody is dropped.

Sharding is by submission (a learner's labs stay together) and by a stable
hash of the submission's name, so N CI jobs given the same folder split it
the same way on every machine. The plan's fingerprint names the whole cohort
(every learner, not just this shard's) and the settings, so shards of
different cohorts or settings are never merged.
"""
from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .. import __version__, catalog
from ..errors import IclabError, ManifestError, SubmissionError, UsageError
from ..results import GradingStatus
from ..workspace import MARKER

__all__ = ["Unit", "Ungradable", "Plan", "make_plan", "parse_shard", "submission_entries", "load_labs"]

_LAB_LIKE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$")  # how lab ids look: words joined by hyphens


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
class Ungradable:
    """A discovered submission with no lab to grade: recorded with its status and reason, never dropped."""

    submission: str
    path: Path
    status: GradingStatus  # refused (a damaged or foreign zip) or ungradable (nothing named after a lab)
    reason: str

    @property
    def key(self) -> str:
        return f"{self.submission}::"


@dataclass(frozen=True)
class Plan:
    root: Path
    labs: tuple[str, ...] | None
    shard: tuple[int, int]
    units: tuple[Unit, ...]
    ungradable: tuple[Ungradable, ...] = ()
    fingerprint: str = ""
    learners: int = 0  # this shard's learners, ungradable ones included
    cohort: int = 0    # every learner found under root, whatever the shard
    cohort_gradable: bool = False  # whether any of them, in any shard, holds something to grade

    @property
    def skipped(self) -> tuple[str, ...]:
        """One line per learner with nothing to grade (kept for callers that print them)."""
        # A refusal already names the file ("bob.zip was refused: ..."); an ungradable folder is named here.
        return tuple(u.reason if u.status is GradingStatus.REFUSED else f"{u.path.name}: ungradable: {u.reason}"
                     for u in self.ungradable)

    def keys(self) -> list[str]:
        """Every journal key this plan must see recorded: its gradings and its ungradable learners."""
        return [u.key for u in self.units] + [u.key for u in self.ungradable]

    def manifest(self) -> dict:
        """What identifies this run: a resumed or merged run must match it."""
        return {
            "schema": "iclab/batch-run/v1",
            "root": str(self.root),
            "labs": list(self.labs) if self.labs else None,
            "shard": {"index": self.shard[0], "count": self.shard[1]},
            "fingerprint": self.fingerprint,
            "units": self.keys(),
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
    try:
        return sorted(p for p in root.iterdir()
                      if not p.name.startswith(".") and (p.is_dir() or p.suffix.lower() == ".zip") and not p.is_symlink())
    except OSError as exc:
        raise UsageError(f"{root}: cannot be read ({exc.strerror})") from None


def _names(entries: list[Path]) -> dict[Path, str]:
    """Each entry's learner name: the folder's name or the zip's stem, its full name where two would clash."""
    stems = [e.stem if e.suffix.lower() == ".zip" and e.is_file() else e.name for e in entries]
    return {e: (s if stems.count(s) == 1 else e.name) for e, s in zip(entries, stems)}


def _labs_here() -> str:
    return ", ".join(catalog.lab_ids()) or "none"


def _marker_lab(marker: Path) -> str | None:
    try:
        lab = tomllib.loads(marker.read_text(encoding="utf-8")).get("lab")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    return lab if isinstance(lab, str) else None


def _folder_labs(entry: Path, known: list[str]) -> tuple[list[str], str | None]:
    """The labs a learner's folder holds, or why it holds none (in words for the instructor and learner)."""
    try:
        children = sorted(p for p in entry.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX")
    except OSError as exc:
        return [], f"the folder cannot be read ({exc.strerror})"
    marker = entry / MARKER
    if marker.is_file():
        lab = _marker_lab(marker)
        if lab in known:
            return [lab], None
        if lab is None:
            return [], f"its {MARKER} is unreadable or names no lab"
        return [], f"its {MARKER} is for lab {lab!r}, which is not a lab here (labs: {_labs_here()})"
    folders = [p for p in children if p.is_dir() and not p.is_symlink()]
    labs = [p.name for p in folders if p.name in known]
    for sub in folders:
        if sub.name not in known and (sub / MARKER).is_file():
            lab = _marker_lab(sub / MARKER)
            if lab in known and lab not in labs:
                labs.append(lab)
    if labs:
        return sorted(labs), None
    if not children:
        return [], "the folder is empty"
    unknown = [p.name for p in folders if _LAB_LIKE.match(p.name)]
    if unknown:
        shown = ", ".join(f"{n}/" for n in unknown[:3]) + (f" and {len(unknown) - 3} more" if len(unknown) > 3 else "")
        return [], f"it holds a folder for an unknown lab: {shown} (labs here: {_labs_here()})"
    found = ", ".join(p.name + ("/" if p.is_dir() else "") for p in children[:4]) + (" ..." if len(children) > 4 else "")
    return [], (f"it holds no folder named after a lab (found {found}); put the work in a <lab-id>/ folder, "
                "or grade it with --labs LAB")


def _zip_labs(entry: Path, known: list[str]) -> tuple[list[str], Ungradable | None]:
    from ..packing import manifest_labs

    try:
        named = manifest_labs(entry)
    except SubmissionError as exc:
        return [], Ungradable("", entry, GradingStatus.REFUSED, exc.problem)
    labs = [lab for lab in named if lab in known]
    if labs:
        return labs, None
    shown = ", ".join(repr(n) for n in named[:3])
    return [], Ungradable("", entry, GradingStatus.UNGRADABLE,
                          f"its manifest names only labs that are not here: {shown} (labs here: {_labs_here()})")


def load_labs(lab_ids) -> None:
    """Load every lab a run will grade, with its hidden checks, before any grading starts.

    A malformed lab.toml or a grader module that cannot be imported is a fault of the lab
    pack: found now, it stops the run at once (exit 2) instead of after grading everything else.
    """
    for lab_id in sorted(set(lab_ids)):
        lab = catalog.get_lab(lab_id)
        try:
            catalog.grader_for(lab)
        except IclabError:
            raise
        except Exception as exc:  # noqa: BLE001 (an instructor's lab pack: say which module, not a traceback)
            where = f"graders/labs/{lab.module_name}"
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise ManifestError(f"{where}: the hidden checks of {lab.id} cannot be loaded: "
                                f"{type(exc).__name__}{': ' + detail if detail else ''}") from None


def _fingerprint(names: list[str], labs: list[str] | None, shard_count: int) -> str:
    doc = {"learners": sorted(names), "labs": labs, "shards": shard_count, "iclab": __version__,
           "catalog": catalog.lab_ids()}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


def make_plan(root: Path, labs: list[str] | None = None, shard: str | None = None) -> Plan:
    """Discover the units this shard grades. With ``labs``, every submission is graded on those labs."""
    known = catalog.lab_ids()
    for lab in labs or []:
        catalog.get_lab(lab)
    shard_t = parse_shard(shard)
    root = root.resolve()
    entries = submission_entries(root)
    names = _names(entries)
    units: list[Unit] = []
    ungradable: list[Ungradable] = []
    learners = 0
    elsewhere_gradable = False  # another shard's learner holds something (looked at until one is found)
    for entry in entries:
        name = names[entry]
        if not _in_shard(name, shard_t):
            if not elsewhere_gradable:
                elsewhere_gradable = bool(labs) or bool(
                    _folder_labs(entry, known)[0] if entry.is_dir() else _zip_labs(entry, known)[1] is None)
            continue
        learners += 1
        if labs:
            units.extend(Unit(name, lab, entry) for lab in labs)
            continue
        if entry.is_dir():
            chosen, why = _folder_labs(entry, known)
            if not chosen:
                ungradable.append(Ungradable(name, entry, GradingStatus.UNGRADABLE, why or "nothing to grade"))
                continue
        else:
            chosen, nothing = _zip_labs(entry, known)
            if nothing is not None:
                ungradable.append(Ungradable(name, entry, nothing.status, nothing.reason))
                continue
        units.extend(Unit(name, lab, entry) for lab in chosen)
    load_labs(u.lab for u in units)
    fingerprint = _fingerprint([e.name for e in entries], list(labs) if labs else None, shard_t[1])
    return Plan(root, tuple(labs) if labs else None, shard_t, tuple(units), tuple(ungradable), fingerprint, learners,
                len(entries), bool(units) or elsewhere_gradable)
