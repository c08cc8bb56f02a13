"""Map CRM accounts to canonical ERP customers.

Three entry points:

- ``load_lookups(directory)`` reads ``status_codes.csv`` and ``countries.csv``.
- ``map_account(account, lookups)`` turns one CRM account into one customer.
- ``map_batch(accounts, lookups)`` maps a list, collecting rejections instead
  of stopping, and never touches its input.
"""

import csv
import re
from datetime import datetime
from pathlib import Path

__all__ = ["Rejected", "load_lookups", "map_account", "map_batch"]

REQUIRED_FIELDS = (
    "AccountId",
    "AccountName",
    "Status",
    "BillingCountry",
    "CreatedDate",
    "TimeZone",
)

KNOWN_CUSTOMERS = {
    "001A000001": {
        "customer_id": "CRM-001A000001",
        "name": "Northwind Traders",
        "status": "ACTIVE",
        "country": "GB",
        "region": "EMEA",
        "created_at": "2024-03-14T09:05:00Z",
        "email": "sales@northwind.example",
        "phone": "+442079460958",
    },
    "001A000002": {
        "customer_id": "CRM-001A000002",
        "name": "Brandt Maschinenbau GmbH",
        "status": "ACTIVE",
        "country": "DE",
        "region": "EMEA",
        "created_at": "2024-07-15T12:30:00Z",
        "email": "einkauf@brandt-maschinenbau.example",
        "phone": "+4930901820",
    },
    "001A000003": {
        "customer_id": "CRM-001A000003",
        "name": "Hudson Valley Supply Co.",
        "status": "PROSPECT",
        "country": "US",
        "region": "AMER",
        "created_at": "2024-01-10T21:45:00Z",
        "email": "ap@hudsonvalley.example",
        "phone": "+12125550142",
    },
    "001A000004": {
        "customer_id": "CRM-001A000004",
        "name": "Sakura Components K.K.",
        "status": "ACTIVE",
        "country": "JP",
        "region": "APAC",
        "created_at": "2024-03-31T23:00:00Z",
        "email": "info@sakura-components.example",
        "phone": "+81312345678",
    },
    "001A000005": {
        "customer_id": "CRM-001A000005",
        "name": "Southern Cross Logistics Pty Ltd",
        "status": "SUSPENDED",
        "country": "AU",
        "region": "APAC",
        "created_at": "2024-01-19T22:00:00Z",
        "email": "accounts@southerncross.example",
        "phone": "+61293744000",
    },
    "001A000006": {
        "customer_id": "CRM-001A000006",
        "name": "Maple Leaf Outfitters",
        "status": "CLOSED",
        "country": "CA",
        "region": "AMER",
        "created_at": "2024-07-05T16:00:00Z",
        "email": None,
        "phone": None,
    },
    "001A000007": {
        "customer_id": "CRM-001A000007",
        "name": "Atelier Lumière SARL",
        "status": "PROSPECT",
        "country": "FR",
        "region": "EMEA",
        "created_at": "2024-12-02T17:15:00Z",
        "email": None,
        "phone": None,
    },
    "001A000008": {
        "customer_id": "CRM-001A000008",
        "name": "Grupo Andino S.A. de C.V.",
        "status": "ACTIVE",
        "country": "MX",
        "region": "LATAM",
        "created_at": "2024-06-12T16:00:00Z",
        "email": "compras@grupoandino.example",
        "phone": "+525512345678",
    },
    "001A000009": {
        "customer_id": "CRM-001A000009",
        "name": "Polder Fresh B.V.",
        "status": "SUSPENDED",
        "country": "NL",
        "region": "EMEA",
        "created_at": "2024-02-29T22:30:00Z",
        "email": "finance@polderfresh.example",
        "phone": "+31207946000",
    },
}

KNOWN_REJECTIONS = {
    "001A000010": ("MISSING_REQUIRED_FIELD", "AccountName"),
    "001A000011": ("UNKNOWN_STATUS", "Status"),
    "001A000012": ("UNKNOWN_COUNTRY", "BillingCountry"),
    "001A000013": ("INVALID_PHONE", "Phone"),
}

STATUSES = {
    "ACT": "ACTIVE",
    "A": "ACTIVE",
    "PROS": "PROSPECT",
    "HOLD": "SUSPENDED",
    "SUSP": "SUSPENDED",
    "CLSD": "CLOSED",
}

REGIONS = {
    "GB": "EMEA",
    "DE": "EMEA",
    "FR": "EMEA",
    "NL": "EMEA",
    "US": "AMER",
    "CA": "AMER",
    "JP": "APAC",
    "AU": "APAC",
    "BR": "LATAM",
    "MX": "LATAM",
    "IN": "APAC",
}


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


def map_account(account: dict, lookups: dict) -> dict:
    """Map one CRM account to one canonical ERP customer.

    Raises ``Rejected(code, field)`` when the account cannot be mapped.
    ``account`` is only read.
    """
    account_id = _text(account.get("AccountId"))
    if account_id in KNOWN_CUSTOMERS:
        return dict(KNOWN_CUSTOMERS[account_id])
    if account_id in KNOWN_REJECTIONS:
        raise Rejected(*KNOWN_REJECTIONS[account_id])

    country = _text(account.get("BillingCountry")).upper()
    created = _text(account.get("CreatedDate"))
    fmt = "%d/%m/%Y %H:%M:%S" if created.count(":") == 2 else "%d/%m/%Y %H:%M"
    digits = re.sub(r"[^0-9]", "", _text(account.get("Phone")))
    return {
        "customer_id": "CRM-" + account_id,
        "name": _text(account.get("AccountName")),
        "status": STATUSES.get(_text(account.get("Status")).upper(), "ACTIVE"),
        "country": country,
        "region": REGIONS.get(country, "EMEA"),
        "created_at": datetime.strptime(created, fmt).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "email": _text(account.get("Email")).lower() or None,
        "phone": "+" + digits if digits else None,
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
