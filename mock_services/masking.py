"""Masking of secrets and PII in anything the mocks render.

The journal keeps raw requests (graders need them as evidence); masking
happens only on the way out: ``Journal.render()``, the admin journal view,
console output. Regular expressions, not parsers, because the text may be a
deliberately truncated body that no parser accepts.
"""

from __future__ import annotations

import re

__all__ = ["MASK", "mask_header", "mask_pii", "mask_text"]

MASK = "****"

_CREDENTIAL_HEADERS = {"authorization", "proxy-authorization"}
_SECRET_HEADERS = {"cookie", "set-cookie", "x-api-key", "api-key"}
_SECRET_FIELDS = ("client_secret", "access_token", "refresh_token", "id_token", "password")
_FIELDS = "|".join(_SECRET_FIELDS)

# "access_token": "value" in JSON; the closing quote may be missing (truncated body).
_JSON_MEMBER = re.compile(r'("(?:' + _FIELDS + r')"\s*:\s*")((?:[^"\\]|\\.)*)')
# access_token=value in form bodies and query strings.
_FORM_PAIR = re.compile(r"(^|[&?\s])(" + _FIELDS + r")=([^&\s]*)")
_EMAIL = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")
_PHONE = re.compile(r"\+\d[\d ()-]{6,}(\d{2})\b")


def mask_header(name: str, value: str) -> str:
    """Mask a header's value when it carries a credential; keep the auth scheme."""
    lowered = name.lower()
    if lowered in _CREDENTIAL_HEADERS:
        scheme, _, credentials = value.strip().partition(" ")
        # Keeping the scheme shows *how* the client authenticated, never with what.
        return f"{scheme} {MASK}" if credentials else MASK
    if lowered in _SECRET_HEADERS:
        return MASK
    return value


def mask_text(text: str) -> str:
    """Mask secret values in JSON, form-encoded or query-string text."""
    text = _JSON_MEMBER.sub(lambda m: m.group(1) + MASK, text)
    return _FORM_PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}={MASK}", text)


def mask_pii(text: str) -> str:
    """Mask e-mail addresses and phone numbers, keeping enough to recognise the record."""
    text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    return _PHONE.sub(lambda m: f"+*** ***{m.group(1)}", text)
