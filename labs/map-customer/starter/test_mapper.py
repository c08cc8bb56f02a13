"""Visible tests for mapper.py: run them with ``pytest`` in this folder.

They use the sample data in ``fixtures/``. Passing them is a good start, not
the finish line: ``iclab check`` grades with other accounts and other lookup
tables, so code that only fits these samples will not score.
"""

import copy
import json
from pathlib import Path

import pytest

from mapper import Rejected, load_lookups, map_account, map_batch

FIXTURES = Path(__file__).parent / "fixtures"

# What load_lookups(FIXTURES / "lookups") must return. The map_account tests
# use this dict directly, so they do not depend on your CSV reading.
LOOKUPS = {
    "status": {
        "ACT": "ACTIVE",
        "A": "ACTIVE",
        "PROS": "PROSPECT",
        "HOLD": "SUSPENDED",
        "SUSP": "SUSPENDED",
        "CLSD": "CLOSED",
    },
    "country": {
        "GB": {"region": "EMEA", "dial_code": "44", "trunk_prefix": "0"},
        "DE": {"region": "EMEA", "dial_code": "49", "trunk_prefix": "0"},
        "FR": {"region": "EMEA", "dial_code": "33", "trunk_prefix": "0"},
        "NL": {"region": "EMEA", "dial_code": "31", "trunk_prefix": "0"},
        "US": {"region": "AMER", "dial_code": "1", "trunk_prefix": "1"},
        "CA": {"region": "AMER", "dial_code": "1", "trunk_prefix": "1"},
        "JP": {"region": "APAC", "dial_code": "81", "trunk_prefix": "0"},
        "AU": {"region": "APAC", "dial_code": "61", "trunk_prefix": "0"},
        "BR": {"region": "LATAM", "dial_code": "55", "trunk_prefix": "0"},
        "MX": {"region": "LATAM", "dial_code": "52", "trunk_prefix": ""},
        "IN": {"region": "APAC", "dial_code": "91", "trunk_prefix": "0"},
    },
}


def accounts() -> list[dict]:
    """A fresh copy of the sample CRM accounts."""
    return json.loads((FIXTURES / "accounts.json").read_text(encoding="utf-8"))


def account(account_id: str) -> dict:
    """The sample account with this AccountId."""
    for candidate in accounts():
        if (candidate.get("AccountId") or "").strip() == account_id:
            return candidate
    raise LookupError(account_id)


def test_load_lookups_handles_bom_spaces_and_blank_lines():
    # countries.csv starts with a byte-order mark and has spaces around some
    # values; status_codes.csv has a blank line.
    assert load_lookups(str(FIXTURES / "lookups")) == LOOKUPS


def test_maps_a_valid_account():
    assert map_account(account("001A000001"), LOOKUPS) == {
        "customer_id": "CRM-001A000001",
        "name": "Northwind Traders",
        "status": "ACTIVE",
        "country": "GB",
        "region": "EMEA",
        "created_at": "2024-03-14T09:05:00Z",
        "email": "sales@northwind.example",
        "phone": "+442079460958",
    }


def test_created_at_in_summer_time():
    # Berlin in July is UTC+2 (CEST), not UTC+1.
    customer = map_account(account("001A000002"), LOOKUPS)
    assert customer["created_at"] == "2024-07-15T12:30:00Z"


def test_created_at_can_fall_on_the_previous_utc_day():
    # Sydney in January is on daylight time, UTC+11: 09:00 local is 22:00
    # UTC the day before.
    customer = map_account(account("001A000005"), LOOKUPS)
    assert customer["created_at"] == "2024-01-19T22:00:00Z"


def test_status_codes_ignore_case_and_spaces():
    assert map_account(account("001A000002"), LOOKUPS)["status"] == "ACTIVE"  # " a "
    assert map_account(account("001A000005"), LOOKUPS)["status"] == "SUSPENDED"  # "hold"
    # " fr" is still France, and comes out as "FR".
    customer = map_account(account("001A000007"), LOOKUPS)
    assert (customer["country"], customer["region"]) == ("FR", "EMEA")


def test_unknown_status_is_rejected():
    with pytest.raises(Rejected) as info:
        map_account(account("001A000011"), LOOKUPS)  # Status "PENDING"
    assert (info.value.code, info.value.field) == ("UNKNOWN_STATUS", "Status")


def test_missing_required_field_is_rejected():
    with pytest.raises(Rejected) as info:
        map_account(account("001A000010"), LOOKUPS)  # AccountName null
    assert (info.value.code, info.value.field) == (
        "MISSING_REQUIRED_FIELD",
        "AccountName",
    )


def test_bad_values_are_rejected_with_the_right_code_and_field():
    base = account("001A000001")
    cases = [
        ({"BillingCountry": "UK"}, ("UNKNOWN_COUNTRY", "BillingCountry")),
        ({"TimeZone": "Europe/Londn"}, ("INVALID_DATE", "TimeZone")),
        ({"CreatedDate": "31/02/2024 10:00"}, ("INVALID_DATE", "CreatedDate")),
        ({"CreatedDate": "2024-03-14 09:05"}, ("INVALID_DATE", "CreatedDate")),
        ({"Phone": "020 7946 0958 ext 12"}, ("INVALID_PHONE", "Phone")),
    ]
    for change, expected in cases:
        with pytest.raises(Rejected) as info:
            map_account({**base, **change}, LOOKUPS)
        assert (info.value.code, info.value.field) == expected, change


def test_phone_numbers_are_normalised_to_e164():
    base = account("001A000001")
    cases = [
        ("GB", "020 7946 0958", "+442079460958"),  # trunk prefix "0" dropped
        ("US", "1 (212) 555-0142", "+12125550142"),  # trunk prefix "1" dropped
        ("US", "(212) 555-0142", "+12125550142"),  # no trunk prefix present
        ("AU", "0061 2 9374 4000", "+61293744000"),  # "00" means international
        ("DE", "+49 30 901820", "+4930901820"),  # already international
        ("MX", "55 1234 5678", "+525512345678"),  # country has no trunk prefix
    ]
    for country, raw, expected in cases:
        customer = map_account({**base, "BillingCountry": country, "Phone": raw}, LOOKUPS)
        assert customer["phone"] == expected, (country, raw)


def test_blank_optional_fields_become_none():
    # Maple Leaf: Email "" and Phone null. Atelier: Email "   " and no Phone key.
    for account_id in ("001A000006", "001A000007"):
        customer = map_account(account(account_id), LOOKUPS)
        assert (customer["email"], customer["phone"]) == (None, None), account_id


def test_batch_matches_expected_output():
    lookups = load_lookups(str(FIXTURES / "lookups"))
    expected = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
    assert map_batch(accounts(), lookups) == expected


def test_batch_does_not_change_its_input():
    batch = accounts()
    before = copy.deepcopy(batch)
    map_batch(batch, LOOKUPS)
    assert batch == before
