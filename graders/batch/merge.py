"""Join the outputs of N sharded batch runs (one per CI job) into one gradebook.

Refuses, with the shard named, anything that would give a wrong gradebook:
a shard missing or given twice, shards of different runs, a shard that did
not finish, or two shards that graded the same unit.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import UsageError
from .. import gradebook
from .journal import read_entries

__all__ = ["merge"]


def _load(folder: Path) -> dict:
    path = folder / "run.json"
    if not path.is_file():
        raise UsageError(f"{folder}: not a batch output (no run.json)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise UsageError(f"{path}: unreadable run.json") from None


def merge(folders: list[Path], out: Path) -> gradebook.GradebookInfo:
    if not folders:
        raise UsageError("merge needs at least one batch output folder")
    runs = [(f, _load(f)) for f in folders]
    counts = {r["shard"]["count"] for _, r in runs}
    labs = {json.dumps(r.get("labs")) for _, r in runs}
    if len(counts) != 1 or len(labs) != 1:
        raise UsageError("these folders come from different runs (shard counts or --labs differ)")
    total = counts.pop()
    seen: dict[int, Path] = {}
    for folder, run in runs:
        k = run["shard"]["index"]
        if k in seen:
            raise UsageError(f"shard {k}/{total} given twice: {seen[k]} and {folder}")
        seen[k] = folder
    missing = sorted(set(range(1, total + 1)) - set(seen))
    if missing:
        raise UsageError(f"missing shard{'s' if len(missing) > 1 else ''} {', '.join(f'{k}/{total}' for k in missing)}")
    owner: dict[str, int] = {}
    for folder, run in runs:
        k = run["shard"]["index"]
        done = {e["unit"] for e in read_entries(folder / "journal.jsonl")}
        planned = set(run.get("units", []))
        if planned - done:
            raise UsageError(f"shard {k}/{total} in {folder} is incomplete: {len(planned - done)} of {len(planned)} "
                             "gradings missing (rerun that job with the same arguments to resume it)")
        for unit in done:
            if unit in owner:
                raise UsageError(f"shards {owner[unit]}/{total} and {k}/{total} both graded {unit}")
            owner[unit] = k
    journals = [folder / "journal.jsonl" for folder, _ in sorted(runs, key=lambda fr: fr[1]["shard"]["index"])]
    return gradebook.build(out, journals)
