"""Mask personal data and secrets in log records.

- ``mask_text(text)`` applies every text rule to one string.
- ``PiiFilter`` masks a record's final message (template and args together)
  and its structured extras, without touching the caller's objects.
- ``JsonFormatter`` writes one JSON object per record.

Rules run from the most specific to the most general, so that a key name
decides before a shape does: the value of ``"password": "..."`` is a secret
whatever it looks like, while a bare digit run is a card only if it passes
the Luhn check.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
from decimal import Decimal

__all__ = ["mask_text", "PiiFilter", "JsonFormatter"]

MASK = "***"
SENSITIVE_KEYS = {"authorization", "client_secret", "password", "api_key"}

# A key or an e-mail may follow a percent-escape (%3F, %26, %3D) inside a URL-encoded value.
_START = r"(?:(?<![\w%.+-])|(?<=%[0-9A-Fa-f]{2}))"
_KEYS = r"(?:client_secret|password|api_key)"

_JSON_PAIR = re.compile(r"""(?i)(["'])(authorization|client_secret|password|api_key)\1(\s*:\s*)(["'])((?:\\.|(?!\4).)*)\4""")
_ESCAPED_JSON_PAIR = re.compile(r'(?i)(\\")(authorization|client_secret|password|api_key)\\"(\s*:\s*)\\"(.*?)\\"')
_AUTH_HEADER = re.compile(
    r"(?i)\b(authorization\s*[:=]\s*)((?:basic|bearer|digest|token|apikey|negotiate)\s+)?([^\s,;'\"&]+)")
_BEARER = re.compile(r"(?i)\b(bearer\s+)([A-Za-z0-9._~+/-]{8,}=*)")
_KEY_VALUE = re.compile(r"(?i)" + _START + r"(" + _KEYS + r")(=|%3D)((?:(?!%26)[^&\s\"',;<>])*)")
_EMAIL = re.compile(_START + r"[A-Za-z0-9._+-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")
_SSN = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])")
_NINO = re.compile(r"(?<!\w)(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D](?!\w)")
_PHONE = re.compile(r"(?<![\w+-])\+[1-9]\d{0,2}(?:[ -]?(?:\(\d{1,5}\)|\d{1,5})){1,7}(?![\w-])")
_CARD = re.compile(
    r"(?<![\w-])(?:\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?|\d{4}([ -])\d{6}\2\d{4,5}|\d{13,19})(?![\w-])")


def luhn_ok(digits: str) -> bool:
    """True when a digit string passes the Luhn checksum (every real card number does)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    # Order numbers, SSCCs and bank references are long digit runs too; only
    # a Luhn-valid run is a card.
    return f"[CARD ****{digits[-4:]}]" if luhn_ok(digits) else match.group(0)


def _phone(match: re.Match) -> str:
    digits = sum(ch.isdigit() for ch in match.group(0))
    return "[PHONE]" if 8 <= digits <= 15 else match.group(0)


def mask_text(text: str) -> str:
    """``text`` with every secret and personal datum the contract names replaced by its marker."""
    text = _JSON_PAIR.sub(lambda m: f"{m[1]}{m[2]}{m[1]}{m[3]}{m[4]}{MASK}{m[4]}", text)
    text = _ESCAPED_JSON_PAIR.sub(lambda m: f'\\"{m[2]}\\"{m[3]}\\"{MASK}\\"', text)
    text = _AUTH_HEADER.sub(lambda m: f"{m[1]}{m[2] or ''}{MASK}", text)
    text = _BEARER.sub(lambda m: f"{m[1]}{MASK}", text)
    text = _KEY_VALUE.sub(lambda m: f"{m[1]}{m[2]}{MASK}", text)
    text = _EMAIL.sub("[EMAIL]", text)
    text = _SSN.sub("[NATIONAL-ID]", text)
    text = _NINO.sub("[NATIONAL-ID]", text)
    text = _PHONE.sub(_phone, text)
    text = _CARD.sub(_card, text)
    return text


def _mask_value(value, key=None):
    """A masked copy of an extra's value; containers are rebuilt, never changed in place."""
    if isinstance(key, str) and key.lower() in SENSITIVE_KEYS:
        return MASK
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _mask_value(v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_mask_value(v) for v in value)
    return value


# Attributes every LogRecord has; anything else on a record came from `extra=`.
# (Only a standard Formatter adds message and asctime, and our handlers carry JsonFormatter.)
_STANDARD = set(vars(logging.makeLogRecord({})))


def _extras(record: logging.LogRecord) -> dict:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


class PiiFilter(logging.Filter):
    """Masks personal data and secrets before a record is written; never drops it."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record's message; keep the record."""
        if isinstance(record.msg, str):
            record.msg = mask_text(record.msg)
        return True


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)  # money keeps its exact digits
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, then every extra."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        created = dt.datetime.fromtimestamp(record.created, dt.timezone.utc)
        document = {
            "ts": created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created.microsecond // 1000:03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        # An extra named like a base key never overwrites it.
        document.update((k, v) for k, v in _extras(record).items() if k not in document)
        return json.dumps(document, default=_json_default, ensure_ascii=False)
