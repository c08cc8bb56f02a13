"""Progressive hints: one per '## ' heading in a lab's hints.md, shown one at a time."""
from __future__ import annotations

from dataclasses import dataclass

from .errors import ManifestError
from .manifest import Lab
from .workspace import State

__all__ = ["Hint", "load_hints", "next_hint", "reset_hints"]


@dataclass(frozen=True)
class Hint:
    number: int
    total: int
    title: str
    body: str
    fresh: bool


def load_hints(lab: Lab) -> list[tuple[str, str]]:
    try:
        text = lab.hints_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(f"labs/{lab.id}/hints.md: file not found") from None
    hints: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("## "):
            hints.append((line[3:].strip(), []))
        elif hints:
            hints[-1][1].append(line)
    if not hints:
        raise ManifestError(f"labs/{lab.id}/hints.md: no '## ' hint headings")
    return [(title, "\n".join(body).strip()) for title, body in hints]


def next_hint(lab: Lab) -> Hint:
    """The next unseen hint; once all are seen, the last one again (marked not fresh)."""
    hints = load_hints(lab)
    state = State.load()
    shown = state.lab(lab.id).get("hints_shown", 0)
    shown = shown if isinstance(shown, int) and shown >= 0 else 0
    if shown >= len(hints):
        title, body = hints[-1]
        return Hint(len(hints), len(hints), title, body, fresh=False)
    title, body = hints[shown]
    state.update(lab.id, hints_shown=shown + 1)
    return Hint(shown + 1, len(hints), title, body, fresh=True)


def reset_hints(lab: Lab) -> None:
    State.load().update(lab.id, hints_shown=0)
