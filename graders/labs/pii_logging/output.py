"""Read what the harness reports (untrusted, so shape-checked) and show it without repeating a secret."""
from __future__ import annotations

from dataclasses import dataclass

from ...evidence import show
from .planted import Secret

__all__ = ["LEAK_LABEL", "Masked", "Filtered", "Formatted", "read_masked", "read_filtered", "read_formatted",
           "hide", "excerpt"]

# Quoted, because iclab masks whatever follows "key=" or "Bearer " in evidence, and a
# quote is where its patterns stop: the label stays visible where the leak was.
LEAK_LABEL = '"<LEAKED {}>"'


@dataclass(frozen=True)
class Masked:
    """What mask_text returned for one text: the string, or why there is none."""

    value: str | None
    problem: str | None


@dataclass(frozen=True)
class Filtered:
    """What PiiFilter.filter did to one record, as the harness found it afterwards."""

    returned: object
    raised: str | None
    message: str | None
    message_error: str | None
    args: object
    extras: dict
    callers: dict

    @property
    def problem(self) -> str | None:
        """Why the record did not come through the filter, or None."""
        if self.raised:
            return f"your filter raised {self.raised}"
        if not self.returned:
            return f"filter() returned {show(self.returned, 30)}: the record was dropped (it must return True)"
        return None


@dataclass(frozen=True)
class Formatted:
    """What JsonFormatter.format wrote for one record: the line, or why there is none."""

    line: str | None
    problem: str | None


def _answer_list(record, n: int, what: str) -> tuple[list | None, str]:
    if not record.ok:
        return None, f"{what} failed: {record.problem()}"
    value = record.value
    if not isinstance(value, list) or len(value) != n or not all(isinstance(v, dict) for v in value):
        return None, f"the {what} harness gave an unreadable answer (was it replaced from your code?)"
    return value, ""


def read_masked(record, n: int) -> tuple[tuple | None, str]:
    """The mask_text answers, one per text, or None and a reason for the learner."""
    items, why = _answer_list(record, n, "calling your mask_text")
    if items is None:
        return None, why
    out = []
    for item in items:
        value = item.get("value")
        if isinstance(value, str):
            out.append(Masked(value, None))
        elif isinstance(item.get("raised"), str):
            out.append(Masked(None, f"mask_text raised {item['raised']}"))
        else:
            kind = item.get("returned")
            out.append(Masked(None, f"mask_text returned {kind if isinstance(kind, str) else 'something else'}, "
                                    "not a str"))
    return tuple(out), ""


def read_filtered(record, n: int) -> tuple[tuple | None, str]:
    """The filter's answers, one per record, or None and a reason for the learner."""
    items, why = _answer_list(record, n, "logging through your PiiFilter")
    if items is None:
        return None, why
    out = []
    for v in items:
        text = lambda k: v.get(k) if isinstance(v.get(k), str) else None  # noqa: E731
        extras = v.get("extras") if isinstance(v.get("extras"), dict) else {}
        callers = v.get("callers") if isinstance(v.get("callers"), dict) else {}
        out.append(Filtered(v.get("returned"), text("raised"), text("message"), text("message_error"), v.get("args"),
                            extras, callers))
    return tuple(out), ""


def read_formatted(record, n: int) -> tuple[tuple | None, str]:
    """The formatter's answers, one per record, or None and a reason for the learner."""
    items, why = _answer_list(record, n, "formatting with your JsonFormatter")
    if items is None:
        return None, why
    out = []
    for v in items:
        if isinstance(v.get("line"), str):
            out.append(Formatted(v["line"], None))
        elif isinstance(v.get("raised"), str):
            out.append(Formatted(None, f"format() raised {v['raised']}"))
        else:
            kind = v.get("returned")
            out.append(Formatted(None, f"format() returned {kind if isinstance(kind, str) else 'something else'}, "
                                       "not a str"))
    return tuple(out), ""


def hide(text: str, secrets) -> str:
    """``text`` with every planted secret replaced by a label, so evidence never repeats one."""
    for secret in secrets:
        if not isinstance(secret, Secret):
            continue
        for piece in sorted({secret.value, *secret.fragments}, key=lambda p: (-len(p), p)):
            text = text.replace(piece, LEAK_LABEL.format(secret.kind))
    return text


def excerpt(text: str, needle: str = "", width: int = 150) -> str:
    text = " ".join(text.split())
    at = max(0, text.find(needle) - width // 3) if needle and needle in text else 0
    cut = text[at:at + width]
    return ("..." if at else "") + cut + ("..." if at + width < len(text) else "")
