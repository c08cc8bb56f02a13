"""A learner's workspace: created from the starter, remembered in the learner's state."""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
import tomllib
from pathlib import Path

from . import paths
from .errors import WorkspaceError
from .manifest import Lab

__all__ = ["MARKER", "start", "find", "assemble", "workspace_files", "source_tree", "State"]

MARKER = ".iclab.toml"


_SKIP = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".git", ".DS_Store"}


def source_tree(folder: Path) -> list[Path]:
    """Every regular file under ``folder``, sorted, without caches or compiled files."""
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.suffix != ".pyc" and not any(part in _SKIP for part in p.relative_to(folder).parts)
    )


def workspace_files(lab: Lab) -> list[tuple[str, Path]]:
    """What a learner's workspace holds, as (name inside it, source file).

    The ticket and the contract's documents (schemas), the starter, and the
    visible fixtures under ``fixtures/``. `iclab start` and `iclab export` both
    lay out labs from this one list.
    """
    out: list[tuple[str, Path]] = []
    for doc in sorted(lab.folder.iterdir()):
        if doc.is_file() and (doc.name == "README.md" or doc.suffix in (".json", ".xsd")):
            out.append((doc.name, doc))
    if lab.starter.is_dir():
        out += [(p.relative_to(lab.starter).as_posix(), p) for p in source_tree(lab.starter)]
    if lab.fixtures.is_dir():
        out += [(f"fixtures/{p.relative_to(lab.fixtures).as_posix()}", p) for p in source_tree(lab.fixtures)]
    return out


def assemble(lab: Lab, dest: Path, overlay: Path | None = None) -> Path:
    """Build a workspace in ``dest``: the workspace files, then ``overlay``'s learner files on top."""
    for name, src in workspace_files(lab):
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest / name)
    if overlay is not None:
        for rel in lab.files:
            src = overlay / rel
            if src.is_file():
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest / rel)
    return dest


def start(lab: Lab, dest: Path) -> Path:
    """Copy the starter into ``dest``; never overwrite a learner's work."""
    dest = dest.resolve()
    if dest.exists() and any(dest.iterdir()):
        marker = dest / MARKER
        if marker.is_file() and _read_marker(marker).get("lab") == lab.id:
            raise WorkspaceError(f"{dest} already holds your {lab.id} work; run `iclab check {dest}` to grade it")
        raise WorkspaceError(f"{dest} is not empty; choose another folder (iclab never overwrites your files)")
    dest.mkdir(parents=True, exist_ok=True)
    assemble(lab, dest)
    started = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    (dest / MARKER).write_text(f'lab = "{lab.id}"\nstarted = "{started}"\n', encoding="utf-8")
    State.load().update(lab.id, workspace=str(dest), started=started)
    return dest


def _read_marker(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        raise WorkspaceError(f"{path}: unreadable workspace marker; recreate it with `iclab start`") from None


def find(start_dir: Path) -> tuple[str, Path]:
    """The lab id and root of the workspace containing ``start_dir``."""
    here = start_dir.resolve()
    for folder in (here, *here.parents):
        marker = folder / MARKER
        if marker.is_file():
            lab_id = _read_marker(marker).get("lab")
            if not isinstance(lab_id, str):
                raise WorkspaceError(f"{marker}: names no lab")
            return lab_id, folder
    raise WorkspaceError(f"{here} is not an iclab workspace; create one with `iclab start LAB`")


def _number(value) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class State:
    """The learner's progress: workspaces, checks run, best scores, what still fails, hints shown.

    One JSON file, written atomically. Per lab: ``workspace``, ``started``,
    ``attempts`` (gradings of the workspace: `iclab check` and each `iclab watch`
    run), ``best`` and ``max`` (the best score and its maximum), ``last`` and
    ``failing`` (the latest score and the checks it failed, as ``AC3 created-at-utc``),
    ``hints_shown``.
    """

    def __init__(self, path: Path, data: dict):
        self.path = path
        self.data = data

    @classmethod
    def load(cls) -> "State":
        path = paths.state_dir() / "state.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                data = {}
        except (OSError, ValueError):
            data = {}
        data.setdefault("labs", {})
        return cls(path, data)

    def lab(self, lab_id: str) -> dict:
        entry = self.data["labs"].get(lab_id)
        return entry if isinstance(entry, dict) else {}

    def update(self, lab_id: str, **fields) -> None:
        entry = dict(self.lab(lab_id))
        entry.update(fields)
        self.data["labs"][lab_id] = entry
        self._save()

    def record_score(self, lab_id: str, score: float, max_score: float) -> None:
        entry = self.lab(lab_id)
        best = entry.get("best")
        if not isinstance(best, (int, float)) or score > best:
            self.update(lab_id, best=score, max=max_score)

    def record_attempt(self, lab_id: str, score: float, max_score: float, failing: list[str]) -> None:
        """One grading of the learner's workspace: count it, keep what still fails, and the best score."""
        entry = self.lab(lab_id)
        attempts = entry.get("attempts")
        fields: dict = {"attempts": (attempts if isinstance(attempts, int) and attempts > 0 else 0) + 1,
                        "last": score, "failing": list(failing)}
        best = _number(entry.get("best"))
        if best is None or score > best:
            fields.update(best=score, max=max_score)
        self.update(lab_id, **fields)

    def solved(self, lab_id: str) -> bool:
        """True once the lab has scored full marks (its best score is its maximum)."""
        entry = self.lab(lab_id)
        best, top = _number(entry.get("best")), _number(entry.get("max"))
        return best is not None and top is not None and top > 0 and best >= top

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".state-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self.data, fh, indent=2, sort_keys=True)
        os.replace(tmp, self.path)
