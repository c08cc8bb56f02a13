"""What process_file left behind: its summary and output files, parsed in the parent as untrusted data."""
from __future__ import annotations

import json
from dataclasses import dataclass

from ...evidence import show

__all__ = ["Seen"]


@dataclass(frozen=True)
class Seen:
    """One process_file call and its output files, parsed in the parent."""

    summary: dict | None
    problem: str  # why there is no usable summary ("" when there is one)
    accepted: list | None  # parsed accepted.jsonl; None when the file is absent
    accepted_raw: bytes | None
    rejects: list | None
    unreadable: str  # why an output file could not be parsed ("" when fine)

    @property
    def refused(self) -> bool:
        return bool(self.summary) and self.summary.get("refused") is True

    def verdict(self) -> str:
        if self.problem:
            return self.problem
        return f"refused ({self.summary.get('reason')})" if self.refused else "loaded"


def _jsonl(raw: bytes | None, name: str) -> tuple[list | None, str]:
    if raw is None:
        return None, ""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"{name} is not UTF-8 ({exc.reason} at byte {exc.start})"
    out = []
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError:
                return None, f"line {number} of {name} is not JSON: {show(line, 60)}"
    return out, ""


def _seen(pair) -> Seen:
    call, outputs = pair
    summary, problem = None, ""
    if not call.ok:
        problem = call.problem()
    elif not isinstance(call.value, dict) or not isinstance(call.value.get("refused"), bool):
        problem = f"process_file() returned {show(call.value, 80)}, expected the summary dict"
    else:
        summary = call.value
    files = outputs.value.get("files") if outputs.ok and isinstance(outputs.value, dict) else None
    files = files if isinstance(files, dict) else {}
    accepted_raw = files.get("accepted.jsonl") if isinstance(files.get("accepted.jsonl"), bytes) else None
    accepted, bad_a = _jsonl(accepted_raw, "accepted.jsonl")
    rejects_raw = files.get("rejects.jsonl")
    rejects, bad_r = _jsonl(rejects_raw if isinstance(rejects_raw, bytes) else None, "rejects.jsonl")
    return Seen(summary, problem, accepted, accepted_raw, rejects, bad_a or bad_r)
