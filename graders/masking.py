"""Mask secrets and personal data in anything iclab shows or stores.

Secrets (tokens, passwords, client secrets, Authorization values, JWTs) become
``***``, everywhere, always: a learner's own credentials must never reach a
result. Personal data keeps just enough shape to act on: ``j***@example.com``,
phone numbers keep their separators and last four digits, card numbers that
pass the Luhn check keep their last four. Identifiers, timestamps and amounts
are left readable on purpose: evidence must stay useful.

**Synthetic data is shown as it is.** Hidden data and fixtures are generated:
the e-mails, phones and cards in them belong to nobody, and hiding their digits
hides exactly what a learner needs (``+54*****9431`` against ``+54*******9431``
says nothing; ``+5491123459431`` against ``+54091123459431`` shows the trunk
zero). The check knows which values are grading data, so it marks them (with
``synthetic``, which ``evidence.show`` applies to every value it renders);
``mask`` leaves personal data inside marked spans alone and still masks secrets
in them. Text nobody vouched for (a learner's printed output, an exception
message, a refusal) is masked whole. The markers are Unicode noncharacters
(U+FDD0, U+FDD1), meant for exactly this internal use, and ``mask`` removes them.
"""
from __future__ import annotations

import re
from typing import Callable

__all__ = ["mask", "mask_secrets", "synthetic", "luhn_ok", "SYNTHETIC_OPEN", "SYNTHETIC_CLOSE"]

SYNTHETIC_OPEN = "\ufdd0"
SYNTHETIC_CLOSE = "\ufdd1"
_MARKERS = re.compile("[\ufdd0\ufdd1]")

_SECRET_KEYS = r"(?:client_secret|secret|password|passwd|pwd|api[_-]?key|access_token|refresh_token|id_token|token)"

_AUTH_HEADER = re.compile(r"(?i)\b(authorization|proxy-authorization)(\s*[:=]\s*\"?)([A-Za-z]+\s+)?([^\s\",}]+)")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+([A-Za-z0-9._~+/=-]{8,})")
_KV_JSON = re.compile(r"(?i)([\"']" + _SECRET_KEYS + r"[\"']\s*:\s*[\"'])([^\"']*)([\"'])")
_KV_PLAIN = re.compile(r"(?i)(\b" + _SECRET_KEYS + r"\s*[=:]\s*[\"']?)([^\s&,;\"'}]+)")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\b")
_EMAIL = re.compile(r"\b([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)\b")
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_PHONE = re.compile(r"(?<![\w/:.-])(\+?\(?\d[\d ().-]{7,18}\d)(?![\w/:-])")


def luhn_ok(digits: str) -> bool:
    """True when a digit string passes the Luhn checksum."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _mask_card(m: re.Match) -> str:
    raw = m.group(0)
    digits = re.sub(r"\D", "", raw)
    if 13 <= len(digits) <= 19 and luhn_ok(digits):
        return "**** " + digits[-4:]
    return raw


def _mask_phone(m: re.Match) -> str:
    raw = m.group(1)
    digits = re.sub(r"\D", "", raw)
    if not 9 <= len(digits) <= 15:
        return m.group(0)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", raw) or re.fullmatch(r"[\d.]+", raw) and "." in raw:
        return m.group(0)  # a date or a decimal amount, not a phone
    if not (raw.startswith("+") or raw.startswith("(") or re.search(r"[ ().-]", raw)):
        return m.group(0)  # a bare digit run is more likely an id than a phone
    keep = 4
    prefix = ""
    if raw.startswith("+") and len(digits) >= 10:
        # Keep "+CC": whether the dialling code is right is exactly what evidence must show.
        prefix, raw = raw[:3], raw[3:]
    out = []
    seen = 0
    for ch in reversed(raw):
        if ch.isdigit():
            out.append(ch if seen < keep else "*")
            seen += 1
        else:
            out.append(ch)
    return prefix + "".join(reversed(out))


_SECRET_RULES: tuple[tuple[re.Pattern, Callable[[re.Match], str]], ...] = (
    (_AUTH_HEADER, lambda m: f"{m.group(1)}{m.group(2)}{m.group(3) or ''}***"),
    (_BEARER, lambda m: f"{m.group(1)} ***"),
    (_KV_JSON, lambda m: f"{m.group(1)}***{m.group(3)}"),
    (_KV_PLAIN, lambda m: f"{m.group(1)}***"),
    (_JWT, lambda m: "***"),
)
_PII_RULES: tuple[tuple[re.Pattern, Callable[[re.Match], str]], ...] = (
    (_EMAIL, lambda m: f"{m.group(1)}***@{m.group(2)}"),
    (_CARD, _mask_card),
    (_PHONE, _mask_phone),
)

Span = tuple[int, int]


def _moved(point: int, edits: list[tuple[int, int, int]], end: bool) -> int:
    """Where ``point`` of the text before ``edits`` (start, end, new length) lands after them."""
    delta = 0
    for start, stop, length in edits:
        if stop <= point:
            delta += length - (stop - start)
        elif start < point:  # inside a replaced stretch: its start, or its end for a span's end
            return start + delta + (length if end else 0)
        else:
            break
    return point + delta


def _apply(text: str, rules, spans: list[Span], *, spare: bool) -> tuple[str, list[Span]]:
    """Apply ``rules`` in order; with ``spare``, a match touching a protected span is left as it is."""
    for pattern, repl in rules:
        edits: list[tuple[int, int, int]] = []

        def one(m: re.Match) -> str:
            if spare and any(m.start() < b and a < m.end() for a, b in spans):
                return m.group(0)
            new = repl(m)
            if new != m.group(0):
                edits.append((m.start(), m.end(), len(new)))
            return new

        text = pattern.sub(one, text)
        if edits and spans:
            spans = [(_moved(a, edits, False), _moved(b, edits, True)) for a, b in spans]
    return text, spans


def _split(text: str) -> tuple[str, list[Span]]:
    """The text without markers, and the spans (in it) that were marked synthetic."""
    plain: list[str] = []
    spans: list[Span] = []
    size, opened = 0, None
    for piece in re.split("([\ufdd0\ufdd1])", text):
        if piece == SYNTHETIC_OPEN:
            opened = size if opened is None else opened
        elif piece == SYNTHETIC_CLOSE:
            if opened is not None:
                spans.append((opened, size))
            opened = None
        else:
            plain.append(piece)
            size += len(piece)
    if opened is not None:  # cut short after the opening marker: protect to the end
        spans.append((opened, size))
    return "".join(plain), spans


def mask_secrets(text: str) -> str:
    """``text`` with secrets hidden and nothing else changed (markers removed)."""
    if not text:
        return text
    return _apply(_MARKERS.sub("", text), _SECRET_RULES, [], spare=False)[0]


def mask(text: str) -> str:
    """Return ``text`` with secrets hidden and personal data reduced to its shape, except in synthetic spans."""
    if not text:
        return text
    plain, spans = _split(text)
    plain, spans = _apply(plain, _SECRET_RULES, spans, spare=False)
    return _apply(plain, _PII_RULES, spans, spare=True)[0]


def synthetic(text: str) -> str:
    """Mark ``text`` as grading data (generated, nobody's): ``mask`` shows personal data in it, never secrets."""
    return SYNTHETIC_OPEN + _MARKERS.sub("", text) + SYNTHETIC_CLOSE
