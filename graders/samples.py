"""The bundled sample submissions: every lab's reference and flawed solutions."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import catalog

__all__ = ["Sample", "samples"]


@dataclass(frozen=True)
class Sample:
    lab: str
    name: str
    folder: Path


def samples(lab_ids: list[str] | None = None) -> list[Sample]:
    """Every shipped solution, reference first, for the given labs (default: all)."""
    out = []
    for lab_id in lab_ids or catalog.lab_ids():
        lab = catalog.get_lab(lab_id)
        out.append(Sample(lab.id, "reference", catalog.reference(lab)))
        out.extend(Sample(lab.id, f"flawed/{f.name}", f.folder) for f in catalog.flaws(lab))
    return out
