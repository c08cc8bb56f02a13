"""Join the outputs of N sharded batch runs (one per CI job) into one gradebook.

Refuses, with the shard named, anything that would give a wrong gradebook:
a shard missing or given twice, shards of different runs (another cohort,
other --labs, another shard count or iclab: their fingerprints differ), a
shard that did not finish, two shards that graded the same unit, or an
output folder that is one of the shards.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import UsageError
from .. import gradebook
from .journal import read_entries
from .runner import read_run

__all__ = ["merge"]


def _load(folder: Path) -> dict:
    path = folder / "run.json"
    if not path.is_file():
        raise UsageError(f"{folder}: not a batch output (no run.json)")
    return read_run(path)


def merge(folders: list[Path], out: Path) -> gradebook.GradebookInfo:
    if not folders:
        raise UsageError("merge needs at least one batch output folder")
    target = out.resolve()
    for folder in folders:
        if folder.resolve() == target:
            raise UsageError(f"--out {out} is one of the shards being merged; give a new folder for the merged gradebook")
    runs = [(f, _load(f)) for f in folders]
    counts = {r["shard"]["count"] for _, r in runs}
    labs = {json.dumps(r.get("labs")) for _, r in runs}
    if len(counts) != 1 or len(labs) != 1:
        raise UsageError("these folders come from different runs (shard counts or --labs differ)")
    first_folder, first = runs[0]
    for folder, run in runs[1:]:
        if run.get("fingerprint") != first.get("fingerprint"):
            raise UsageError(f"{folder} was graded from another cohort or with other settings than {first_folder} "
                             f"(fingerprints {run.get('fingerprint') or 'none'} and {first.get('fingerprint') or 'none'}); "
                             "grade every shard from the same submissions folder with the same iclab and options")
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
