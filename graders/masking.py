"""Mask secrets and personal data in anything iclab shows or stores.

Secrets (tokens, passwords, client secrets, Authorization values) become
``***``. Personal data keeps just enough shape to act on: ``j***@example.com``,
phone numbers keep their separators and last four digits, card numbers that
pass the Luhn check keep their last four. Identifiers, timestamps and amounts
are left readable on purpose: evidence must stay useful.
"""
from __future__ import annotations

import re

__all__ = ["mask", "luhn_ok"]

_SECRET_KEYS = r"(?:client_secret|secret|password|passwd|pwd|api[_-]?key|access_token|refresh_token|id_token|token)"

_AUTH_HEADER = re.compile(r"(?i)\b(authorization|proxy-authorization)(\s*[:=]\s*\"?)([A-Za-z]+\s+)?([^\s\",}]+)")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+([A-Za-z0-9._~+/=-]{8,})")
_KV_JSON = re.compile(r"(?i)([\"']" + _SECRET_KEYS + r"[\"']\s*:\s*[\"'])([^\"']*)([\"'])")
_KV_PLAIN = re.compile(r"(?i)(\b" + _SECRET_KEYS + r"\s*[=:]\s*)([^\s&,;\"'}]+)")
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
        return raw
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", raw) or re.fullmatch(r"[\d.]+", raw) and "." in raw:
        return raw  # a date or a decimal amount, not a phone
    if not (raw.startswith("+") or raw.startswith("(") or re.search(r"[ ().-]", raw)):
        return raw  # a bare digit run is more likely an id than a phone
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


def mask(text: str) -> str:
    """Return ``text`` with secrets hidden and personal data reduced to its shape."""
    if not text:
        return text
    text = _AUTH_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3) or ''}***", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} ***", text)
    text = _KV_JSON.sub(lambda m: f"{m.group(1)}***{m.group(3)}", text)
    text = _KV_PLAIN.sub(lambda m: f"{m.group(1)}***", text)
    text = _JWT.sub("***", text)
    text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    text = _CARD.sub(_mask_card, text)
    text = _PHONE.sub(_mask_phone, text)
    return text
