"""The ticket's mapping, written from labs/map-customer/README.md, used only to compute expected values.

It follows the contract's words, not the reference's code: blank is absent, null, ``""`` or only
whitespace; the validation order is the ticket's six steps; a wall time is read with ``fold=0``
(the first of a repeated hour, the offset before a skipped one), as the ticket says.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["REQUIRED", "CODES", "Rejection", "blank", "oracle", "outcome", "normalise_phone"]

REQUIRED = ("AccountId", "AccountName", "Status", "BillingCountry", "CreatedDate", "TimeZone")
CODES = ("MISSING_REQUIRED_FIELD", "UNKNOWN_STATUS", "UNKNOWN_COUNTRY", "INVALID_DATE", "INVALID_PHONE")
_DATE = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4}) ([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?")
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")


@dataclass(frozen=True)
class Rejection:
    """``Rejected(code, field)`` as the ticket expects it."""

    code: str
    field: str

    @property
    def message(self) -> str:
        return f"{self.code}: {self.field}"


class _Stop(Exception):
    def __init__(self, code: str, field: str):
        super().__init__(code, field)
        self.rejection = Rejection(code, field)


def blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def normalise_phone(raw: str, country: dict) -> str | None:
    """The ticket's phone rule: the E.164 number, or None when it cannot be normalised."""
    number = re.sub(r"[ \-.()]", "", raw)
    if not number.startswith("+"):
        if number.startswith("00"):
            number = "+" + number[2:]
        else:
            trunk = country["trunk_prefix"]
            if trunk and number.startswith(trunk):
                number = number[len(trunk):]
            number = "+" + country["dial_code"] + number
    return number if _E164.fullmatch(number) else None


def _created_at(text: str, zone: ZoneInfo) -> str:
    match = _DATE.fullmatch(text)
    if match is None:
        raise _Stop("INVALID_DATE", "CreatedDate")
    day, month, year, hour, minute, second = (int(g or 0) for g in match.groups())
    try:
        local = dt.datetime(year, month, day, hour, minute, second, tzinfo=zone)  # fold=0
    except ValueError:
        raise _Stop("INVALID_DATE", "CreatedDate") from None
    return local.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def oracle(account: dict, lookups: dict) -> dict:
    """The customer for ``account``; raises _Stop at the first problem in the ticket's order."""
    for name in REQUIRED:
        if blank(account.get(name)):
            raise _Stop("MISSING_REQUIRED_FIELD", name)
    status = lookups["status"].get(account["Status"].strip().upper())
    if status is None:
        raise _Stop("UNKNOWN_STATUS", "Status")
    code = account["BillingCountry"].strip().upper()
    country = lookups["country"].get(code)
    if country is None:
        raise _Stop("UNKNOWN_COUNTRY", "BillingCountry")
    try:
        zone = ZoneInfo(account["TimeZone"].strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise _Stop("INVALID_DATE", "TimeZone") from None
    created = _created_at(account["CreatedDate"].strip(), zone)
    phone = None
    if not blank(account.get("Phone")):
        phone = normalise_phone(account["Phone"], country)
        if phone is None:
            raise _Stop("INVALID_PHONE", "Phone")
    email = None if blank(account.get("Email")) else account["Email"].strip().lower()
    return {
        "customer_id": "CRM-" + account["AccountId"].strip(), "name": account["AccountName"].strip(),
        "status": status, "country": code, "region": country["region"], "created_at": created,
        "email": email, "phone": phone,
    }


_MEMO: dict[tuple[str, str], object] = {}
_TABLES: dict[int, tuple[dict, str]] = {}  # id -> (the lookups, their JSON): the object is kept, so its id stays its own


def outcome(account: dict, lookups: dict) -> dict | Rejection:
    """The expected customer or Rejection for one account; memoised, as hidden data never changes."""
    if id(lookups) not in _TABLES:
        _TABLES[id(lookups)] = (lookups, json.dumps(lookups, sort_keys=True))
    key = (json.dumps(account, sort_keys=True), _TABLES[id(lookups)][1])
    if key not in _MEMO:
        try:
            _MEMO[key] = oracle(account, lookups)
        except _Stop as stop:
            _MEMO[key] = stop.rejection
    return _MEMO[key]
