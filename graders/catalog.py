"""Find labs (in every lab pack) and their graders."""
from __future__ import annotations

from . import packs
from .errors import ManifestError, UnknownLab, UsageError
from .manifest import Flaw, Lab, load_flaw, load_lab

__all__ = ["lab_ids", "get_lab", "all_labs", "grader_for", "flaws", "reference", "require_labs"]


def _index() -> dict[str, packs.LabPack]:
    """Lab id -> its pack; the same id in two packs is an error naming both."""
    where: dict[str, packs.LabPack] = {}
    for pack in packs.discover():
        for lab_id in pack.lab_ids():
            if lab_id in where:
                raise ManifestError(f"lab id {lab_id!r} is in two lab packs: {where[lab_id].describe()} and "
                                    f"{pack.describe()}; rename one")
            where[lab_id] = pack
    return where


def lab_ids() -> list[str]:
    """Ids of every lab of every pack, sorted."""
    return sorted(_index())


def require_labs() -> list[str]:
    """Like ``lab_ids``, but finding none is a usage error that says where iclab looked."""
    ids = lab_ids()
    if not ids:
        raise UsageError(f"no labs found; looked in {packs.where_looked()}")
    return ids


def get_lab(lab_id: str) -> Lab:
    """The lab with this id, or UnknownLab naming the ones that exist."""
    index = _index()
    if lab_id not in index:
        known = ", ".join(sorted(index)) or "none"
        raise UnknownLab(f"unknown lab {lab_id!r} (labs: {known})")
    return load_lab(index[lab_id].labs / lab_id, index[lab_id])


def all_labs() -> list[Lab]:
    index = _index()
    return [load_lab(index[lab_id].labs / lab_id, index[lab_id]) for lab_id in sorted(index)]


def grader_for(lab: Lab):
    """The lab's hidden checks: its pack's module for the lab (``graders.labs.<lab_id>`` for the built-in pack)."""
    try:
        module = packs.load_checks_module(lab.pack or packs.builtin(), lab.module_name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.endswith(lab.module_name):
            raise ManifestError(f"{lab.id}: no hidden-check module {lab.module_name} in "
                                f"{(lab.pack or packs.builtin()).checks}") from None
        raise
    grader = getattr(module, "grader", None)
    if grader is None:
        raise ManifestError(f"{(lab.pack or packs.builtin()).checks / lab.module_name}: defines no `grader`")
    return grader


def reference(lab: Lab):
    return lab.solutions / "reference"


def flaws(lab: Lab) -> list[Flaw]:
    folder = lab.solutions / "flawed"
    if not folder.is_dir():
        return []
    return [load_flaw(p) for p in sorted(folder.iterdir()) if p.is_dir()]
