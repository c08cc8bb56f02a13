"""Map CRM accounts to canonical ERP customers (reference solution).

Three entry points:

- ``load_lookups(directory)`` reads ``status_codes.csv`` and ``countries.csv``.
- ``map_account(account, lookups)`` turns one CRM account into one customer,
  or raises :class:`Rejected` naming the first problem found.
- ``map_batch(accounts, lookups)`` maps a list, collecting rejections instead
  of stopping, and never touches its input.

Every account is validated completely before anything is transformed, in the
order the contract fixes, so a record fails for one predictable reason.
"""

import csv
import re
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["Rejected", "load_lookups", "map_account", "map_batch"]

REQUIRED_FIELDS = (
    "AccountId",
    "AccountName",
    "Status",
    "BillingCountry",
    "CreatedDate",
    "TimeZone",
)

# [0-9] rather than \d: \d also matches non-ASCII digits such as "٣".
_CREATED_DATE = re.compile(
    r"([0-9]{2})/([0-9]{2})/([0-9]{4}) ([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?"
)
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")
_PHONE_SEPARATORS = re.compile(r"[ \-.()]")


class Rejected(Exception):
    """An account that cannot be mapped: a reason code and the source field."""

    def __init__(self, code: str, field: str) -> None:
        super().__init__(f"{code}: {field}")
        self.code = code
        self.field = field


# --------------------------------------------------------------------------
# Lookups
# --------------------------------------------------------------------------


def _read_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV file as dicts with stripped headers and values.

    "utf-8-sig" drops a byte-order mark if there is one; rows whose cells are
    all blank are skipped.
    """
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader, [])]
        rows = []
        for cells in reader:
            cells = [cell.strip() for cell in cells]
            if not any(cells):
                continue
            cells += [""] * (len(header) - len(cells))
            rows.append(dict(zip(header, cells)))
    return rows


def load_lookups(directory: str) -> dict:
    """Load the status and country lookup tables from ``directory``.

    Returns ``{"status": {CODE: erp_status}, "country": {CODE: {"region",
    "dial_code", "trunk_prefix"}}}`` with keys stripped and upper-cased and
    values stripped.
    """
    folder = Path(directory)
    status = {
        row["crm_status"].upper(): row["erp_status"]
        for row in _read_rows(folder / "status_codes.csv")
    }
    country = {
        row["country"].upper(): {
            "region": row["region"],
            "dial_code": row["dial_code"],
            "trunk_prefix": row["trunk_prefix"],
        }
        for row in _read_rows(folder / "countries.csv")
    }
    return {"status": status, "country": country}


# --------------------------------------------------------------------------
# One account
# --------------------------------------------------------------------------


def _text(value: object) -> str:
    """A source value as trimmed text; absent or null becomes ""."""
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value).strip()


def _zone(name: str) -> ZoneInfo:
    """The IANA time zone called ``name``, or Rejected(INVALID_DATE, TimeZone)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # ValueError: names that are not plain keys, e.g. "../x" or "/etc/x".
        raise Rejected("INVALID_DATE", "TimeZone") from None


def _created_at(text: str, zone: ZoneInfo) -> str:
    """Local wall time "DD/MM/YYYY HH:MM[:SS]" in ``zone`` as a UTC timestamp."""
    match = _CREATED_DATE.fullmatch(text)
    if match is None:
        raise Rejected("INVALID_DATE", "CreatedDate")
    day, month, year, hour, minute, second = match.groups(default="0")
    try:
        local = datetime(
            int(year), int(month), int(day),
            int(hour), int(minute), int(second),
            tzinfo=zone,
        )
        utc = local.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        # 31/02/2024, 25:00, year 0000, or a shift past datetime's range.
        raise Rejected("INVALID_DATE", "CreatedDate") from None
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def _phone(text: str, country: dict) -> str:
    """A phone number normalised to E.164, or Rejected(INVALID_PHONE, Phone).

    International forms ("+..." and "00...") keep their own country code;
    a national number loses its trunk prefix and gains the country's dial code.
    """
    number = _PHONE_SEPARATORS.sub("", text)
    if number.startswith("+"):
        candidate = number
    elif number.startswith("00"):
        candidate = "+" + number[2:]
    else:
        trunk = country["trunk_prefix"]
        if trunk and number.startswith(trunk):
            number = number[len(trunk):]
        candidate = "+" + country["dial_code"] + number
    if _E164.fullmatch(candidate) is None:
        raise Rejected("INVALID_PHONE", "Phone")
    return candidate


def map_account(account: dict, lookups: dict) -> dict:
    """Map one CRM account to one canonical ERP customer.

    Raises ``Rejected(code, field)`` for the first problem, checking in this
    order: required fields (table order), Status lookup, BillingCountry
    lookup, TimeZone, CreatedDate, Phone. ``account`` is only read.
    """
    # Read everything once, into new local values: the input is never changed.
    values = {field: _text(account.get(field)) for field in REQUIRED_FIELDS}
    for field in REQUIRED_FIELDS:
        if not values[field]:
            raise Rejected("MISSING_REQUIRED_FIELD", field)

    status = lookups["status"].get(values["Status"].upper())
    if status is None:
        raise Rejected("UNKNOWN_STATUS", "Status")

    country_code = values["BillingCountry"].upper()
    country = lookups["country"].get(country_code)
    if country is None:
        raise Rejected("UNKNOWN_COUNTRY", "BillingCountry")

    zone = _zone(values["TimeZone"])
    created_at = _created_at(values["CreatedDate"], zone)

    raw_phone = _text(account.get("Phone"))
    phone = _phone(raw_phone, country) if raw_phone else None
    email = _text(account.get("Email")).lower() or None

    return {
        "customer_id": "CRM-" + values["AccountId"],
        "name": values["AccountName"],
        "status": status,
        "country": country_code,
        "region": country["region"],
        "created_at": created_at,
        "email": email,
        "phone": phone,
    }


# --------------------------------------------------------------------------
# A batch
# --------------------------------------------------------------------------


def map_batch(accounts: list[dict], lookups: dict) -> dict:
    """Map every account, partitioning the batch into accepted and rejected.

    One bad record never stops the batch: its rejection is recorded with its
    0-based index and trimmed AccountId (None when blank), and mapping goes on.
    """
    accepted: list[dict] = []
    rejected: list[dict] = []
    for index, account in enumerate(accounts):
        try:
            accepted.append(map_account(account, lookups))
        except Rejected as problem:
            rejected.append(
                {
                    "index": index,
                    "source_id": _text(account.get("AccountId")) or None,
                    "code": problem.code,
                    "field": problem.field,
                }
            )
    return {"accepted": accepted, "rejected": rejected}
