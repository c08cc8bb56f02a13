"""Join the outputs of N sharded batch runs (one per CI job), and reviewers' copies of them, into one gradebook.

Refuses, with the shard named, anything that would give a wrong gradebook:
a shard missing or given twice, shards of different runs (another cohort,
other --labs, another shard count or iclab: their fingerprints differ), a
shard that did not finish, two shards that graded the same unit, or an
output folder that is one of the shards.

**Reviewers' copies.** Two reviewers score the same cohort from their own copy
of a batch output (``iclab review``). The same shard given more than once is
taken for such copies when every copy holds a reviewer's ``reviews.jsonl`` and
all graded the same units: the gradings are taken once, every copy's reviews
are copied into ``OUT/reviews/``, and the gradebook shows each rubric item's
levels side by side, flagging those more than one level apart (``disputed``).
A level entered afterwards in the merged folder (``iclab review OUT``) settles
an item. The merged folder also keeps the joined journal, so it can be
reviewed and rebuilt like any batch output.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .. import gradebook
from ..atomic import atomic_open, ensure_folder, output_error, write_bytes
from ..errors import UsageError
from ..review.journal import FILE_NAME as REVIEWS, IMPORTED, read_reviews
from .journal import read_entries
from .runner import read_run

__all__ = ["Merged", "merge"]


@dataclass(frozen=True)
class Merged:
    """What ``merge`` built: the gradebook, and what the reviewers' copies brought."""

    info: gradebook.GradebookInfo
    shards: int
    copies: int                                    # folders given (a shard's reviewer copies each count)
    reviewers: tuple[str, ...] = ()
    disputed: tuple[tuple[str, str, str, str], ...] = ()  # learner, lab, item, "alice 1, bob 4"
    notes: tuple[str, ...] = ()


def _load(folder: Path) -> dict:
    path = folder / "run.json"
    if not path.is_file():
        raise UsageError(f"{folder}: not a batch output (no run.json)")
    return read_run(path)


def _units(folder: Path) -> set[str]:
    return {e["unit"] for e in read_entries(folder / "journal.jsonl")}


def merge(folders: list[Path], out: Path) -> Merged:
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
    groups: dict[int, list[Path]] = {}
    for folder, run in runs:
        groups.setdefault(run["shard"]["index"], []).append(folder)
    notes = []
    for k, copies in sorted(groups.items()):
        if len(copies) > 1:
            notes += _check_copies(k, total, copies)
    missing = sorted(set(range(1, total + 1)) - set(groups))
    if missing:
        raise UsageError(f"missing shard{'s' if len(missing) > 1 else ''} {', '.join(f'{k}/{total}' for k in missing)}")
    owner: dict[str, int] = {}
    planned_of = {folder: set(run.get("units", [])) for folder, run in runs}
    for k, copies in sorted(groups.items()):
        for folder in copies:
            done = _units(folder)
            planned = planned_of[folder]
            if planned - done:
                raise UsageError(f"shard {k}/{total} in {folder} is incomplete: {len(planned - done)} of "
                                 f"{len(planned)} gradings missing (rerun that job with the same arguments to resume it)")
        for unit in _units(copies[0]):
            if unit in owner:
                raise UsageError(f"shards {owner[unit]}/{total} and {k}/{total} both graded {unit}")
            owner[unit] = k
    ensure_folder(out)
    journal = _join_journals([groups[k][0] / "journal.jsonl" for k in sorted(groups)], out / "journal.jsonl")
    reviewers = _import_reviews(folders, out)
    info = gradebook.build(out, [journal])
    return Merged(info, total, len(folders), tuple(reviewers), _disputed(info.path), tuple(notes))


def _check_copies(k: int, total: int, copies: list[Path]) -> list[str]:
    """Copies of one shard are merged only as reviewers' copies: each reviewed, all with the same gradings."""
    if len({c.resolve() for c in copies}) < len(copies):
        raise UsageError(f"shard {k}/{total} given twice: {copies[0]} is named more than once")
    unreviewed = [c for c in copies if not (c / REVIEWS).is_file()]
    if unreviewed:
        raise UsageError(f"shard {k}/{total} given twice: {copies[0]} and {copies[1]} (copies of one shard are "
                         f"merged only as reviewers' copies, each holding a {REVIEWS}; {unreviewed[0]} has none)")
    units = _units(copies[0])
    for other in copies[1:]:
        if _units(other) != units:
            raise UsageError(f"{copies[0]} and {other} are copies of shard {k}/{total} with different gradings; "
                             "reviewers' copies must come from one batch output")
    names: dict[str, list[Path]] = {}
    for copy in copies:
        for who in sorted({e.reviewer for e in read_reviews(copy / REVIEWS)}):
            names.setdefault(who, []).append(copy)
    return [f"{', '.join(map(str, where))} hold reviews by the same name {who!r}: they count as one reviewer, the "
            "latest level winning (name each reviewer with `iclab review --reviewer NAME`)"
            for who, where in sorted(names.items()) if len(where) > 1]


def _join_journals(journals: list[Path], target: Path) -> Path:
    """One journal holding every shard's gradings, in shard order: the merged folder can be rebuilt and reviewed."""
    with atomic_open(target, "wb") as fh:
        for journal in journals:
            for entry in read_entries(journal):
                fh.write(json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n")
    return target


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _import_reviews(folders: list[Path], out: Path) -> list[str]:
    """Copy each folder's reviews.jsonl into ``out/reviews/`` (replacing an earlier merge's); the reviewers' names."""
    folder = ensure_folder(out / IMPORTED)
    wanted: dict[str, Path] = {}
    for n, source in enumerate(folders, 1):
        path = source / REVIEWS
        if path.is_file():
            name = f"{n:02d}-{_UNSAFE.sub('_', source.resolve().name)[:40] or 'copy'}.jsonl"
            wanted[name] = path
    try:
        for old in folder.glob("*.jsonl"):
            if old.name not in wanted:
                old.unlink()
    except OSError as exc:
        raise output_error(folder, exc) from None
    names: set[str] = set()
    for name, path in wanted.items():
        data = path.read_bytes()
        write_bytes(folder / name, data[: data.rfind(b"\n") + 1])  # a torn last line stays behind
        names |= {e.reviewer for e in read_reviews(folder / name)}
    return sorted(names)


def _disputed(db: Path) -> tuple[tuple[str, str, str, str], ...]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT learner, lab, item_id, reviewers FROM review_results WHERE status = 'disputed' "
                           "ORDER BY learner, lab, item_no").fetchall()
    finally:
        con.close()
    return tuple(tuple(r) for r in rows)
