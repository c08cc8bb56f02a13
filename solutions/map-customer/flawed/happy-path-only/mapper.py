"""Map CRM accounts to canonical ERP customers.

Three entry points:

- ``load_lookups(directory)`` reads ``status_codes.csv`` and ``countries.csv``.
- ``map_account(account, lookups)`` turns one CRM account into one customer.
- ``map_batch(accounts, lookups)`` maps a list.
"""

import csv
import re
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

__all__ = ["Rejected", "load_lookups", "map_account", "map_batch"]

REQUIRED_FIELDS = (
    "AccountId",
    "AccountName",
    "Status",
    "BillingCountry",
    "CreatedDate",
    "TimeZone",
)

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


def _created_at(text: str, zone: ZoneInfo) -> str:
    """Local wall time "DD/MM/YYYY HH:MM[:SS]" in ``zone`` as a UTC timestamp."""
    fmt = "%d/%m/%Y %H:%M:%S" if text.count(":") == 2 else "%d/%m/%Y %H:%M"
    local = datetime.strptime(text, fmt).replace(tzinfo=zone)
    return local.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _phone(text: str, country: dict) -> str:
    """A phone number normalised to E.164.

    International forms ("+..." and "00...") keep their own country code;
    a national number loses its trunk prefix and gains the country's dial code.
    """
    number = _PHONE_SEPARATORS.sub("", text)
    if number.startswith("+"):
        return number
    if number.startswith("00"):
        return "+" + number[2:]
    trunk = country["trunk_prefix"]
    if trunk and number.startswith(trunk):
        number = number[len(trunk):]
    return "+" + country["dial_code"] + number


def map_account(account: dict, lookups: dict) -> dict:
    """Map one CRM account to one canonical ERP customer."""
    country_code = account["BillingCountry"].strip().upper()
    country = lookups["country"][country_code]
    zone = ZoneInfo(account["TimeZone"].strip())

    phone = account.get("Phone", "").strip()
    return {
        "customer_id": "CRM-" + account["AccountId"].strip(),
        "name": account["AccountName"].strip(),
        "status": lookups["status"][account["Status"].strip().upper()],
        "country": country_code,
        "region": country["region"],
        "created_at": _created_at(account["CreatedDate"].strip(), zone),
        "email": account.get("Email", "").strip().lower() or None,
        "phone": _phone(phone, country) if phone else None,
    }


# --------------------------------------------------------------------------
# A batch
# --------------------------------------------------------------------------


def map_batch(accounts: list[dict], lookups: dict) -> dict:
    """Map every account in ``accounts``, in input order."""
    accepted = [map_account(account, lookups) for account in accounts]
    return {"accepted": accepted, "rejected": []}
