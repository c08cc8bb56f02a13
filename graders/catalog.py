"""Find labs and their graders."""
from __future__ import annotations

import importlib
from pathlib import Path

from . import paths
from .errors import ManifestError, UnknownLab
from .manifest import Flaw, Lab, load_flaw, load_lab

__all__ = ["lab_ids", "get_lab", "all_labs", "grader_for", "flaws", "reference"]


def lab_ids() -> list[str]:
    """Ids of every lab folder that has a lab.toml, sorted."""
    if not paths.LABS.is_dir():
        return []
    return sorted(p.name for p in paths.LABS.iterdir() if (p / "lab.toml").is_file())


def get_lab(lab_id: str) -> Lab:
    """The lab with this id, or UnknownLab naming the ones that exist."""
    if lab_id not in lab_ids():
        known = ", ".join(lab_ids()) or "none"
        raise UnknownLab(f"unknown lab {lab_id!r} (labs: {known})")
    return load_lab(paths.LABS / lab_id)


def all_labs() -> list[Lab]:
    return [load_lab(paths.LABS / lab_id) for lab_id in lab_ids()]


def grader_for(lab: Lab):
    """The lab's hidden checks: module ``graders.labs.<lab_id>``'s ``grader``."""
    try:
        module = importlib.import_module(f"graders.labs.{lab.module_name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"graders.labs.{lab.module_name}":
            raise ManifestError(f"labs/{lab.id}: no grader module graders/labs/{lab.module_name}.py") from None
        raise
    grader = getattr(module, "grader", None)
    if grader is None:
        raise ManifestError(f"graders/labs/{lab.module_name}.py: defines no `grader`")
    return grader


def reference(lab: Lab) -> Path:
    return lab.solutions / "reference"


def flaws(lab: Lab) -> list[Flaw]:
    folder = lab.solutions / "flawed"
    if not folder.is_dir():
        return []
    return [load_flaw(p) for p in sorted(folder.iterdir()) if p.is_dir()]
