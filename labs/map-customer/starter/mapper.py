"""Map CRM accounts to canonical ERP customers.

Your task (see README.md for the full contract):

- ``load_lookups(directory)``: read ``status_codes.csv`` and ``countries.csv``
  into two dictionaries.
- ``map_account(account, lookups)``: turn one CRM account into one ERP
  customer, or raise ``Rejected(code, field)`` for the first problem found.
- ``map_batch(accounts, lookups)``: map a whole list, collecting rejections
  instead of stopping, without changing the input.

Use the standard library only. Run ``pytest`` for the visible tests and
``iclab check`` for the grader, which uses accounts and lookup tables you
have not seen.
"""

# Standard-library modules you will probably want:
import csv
import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class Rejected(Exception):
    """An account that cannot be mapped: a reason code and the source field.

    Example: ``raise Rejected("UNKNOWN_STATUS", "Status")``.
    This class is complete; you do not need to change it.
    """

    def __init__(self, code: str, field: str) -> None:
        super().__init__(f"{code}: {field}")
        self.code = code
        self.field = field


def load_lookups(directory: str) -> dict:
    """Load the status and country lookup tables from ``directory``.

    Reads ``status_codes.csv`` (header ``crm_status,erp_status``) and
    ``countries.csv`` (header ``country,region,dial_code,trunk_prefix``).
    The files are UTF-8 and may start with a byte-order mark; values may have
    spaces around them; blank lines are skipped.

    Returns::

        {"status": {"ACT": "ACTIVE", ...},
         "country": {"GB": {"region": "EMEA", "dial_code": "44",
                            "trunk_prefix": "0"}, ...}}

    Keys are stripped and upper-cased; values are stripped.
    """
    raise NotImplementedError("load_lookups")


def map_account(account: dict, lookups: dict) -> dict:
    """Map one CRM account to one canonical ERP customer.

    Returns a dict with exactly the keys customer_id, name, status, country,
    region, created_at, email and phone.

    Raises ``Rejected(code, field)`` for the first problem, checking in this
    order: blank required fields (AccountId, AccountName, Status,
    BillingCountry, CreatedDate, TimeZone), then the Status lookup, the
    BillingCountry lookup, TimeZone, CreatedDate and finally Phone.

    Must not change ``account``.
    """
    raise NotImplementedError("map_account")


def map_batch(accounts: list[dict], lookups: dict) -> dict:
    """Map every account in ``accounts``.

    Returns ``{"accepted": [customer, ...], "rejected": [{"index": i,
    "source_id": trimmed AccountId or None, "code": ..., "field": ...}, ...]}``,
    both lists in input order. A bad record is recorded, never raised.
    Must not change ``accounts`` or anything inside it.
    """
    raise NotImplementedError("map_batch")
