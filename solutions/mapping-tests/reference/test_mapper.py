"""Regression tests for the CRM -> ERP customer mapper, written from its contract.

Each test names the rule it protects, and each parametrized case a way that
rule can break. The lookups are inline so the tests depend on nothing but the
mapper's four public names.
"""
import copy

import pytest

from mapper import Rejected, load_lookups, map_account, map_batch

LOOKUPS = {
    "status": {"ACT": "ACTIVE", "PROS": "PROSPECT", "HOLD": "SUSPENDED", "CLSD": "CLOSED"},
    "country": {
        "GB": {"region": "EMEA", "dial_code": "44", "trunk_prefix": "0"},
        "US": {"region": "AMER", "dial_code": "1", "trunk_prefix": "1"},
        "AU": {"region": "APAC", "dial_code": "61", "trunk_prefix": "0"},
        "MX": {"region": "LATAM", "dial_code": "52", "trunk_prefix": ""},
        "IT": {"region": "EMEA", "dial_code": "39", "trunk_prefix": ""},
        "RU": {"region": "EMEA", "dial_code": "7", "trunk_prefix": "8"},
    },
}

ABSENT = "<absent>"  # marks a field to delete from the account


def account(**changes) -> dict:
    """A valid CRM account; keyword arguments replace fields (ABSENT deletes one)."""
    record = {
        "AccountId": "001X000123",
        "AccountName": "Harbour Lights Ltd",
        "Status": "ACT",
        "BillingCountry": "GB",
        "CreatedDate": "14/03/2024 09:05",
        "TimeZone": "Europe/London",
        "Email": "accounts@harbour.example",
        "Phone": "020 7946 0958",
    }
    record.update(changes)
    return {key: value for key, value in record.items() if value != ABSENT}


def rejection(changes: dict) -> tuple:
    """(code, field) of the Rejected that map_account raises for account(**changes)."""
    with pytest.raises(Rejected) as caught:
        map_account(account(**changes), LOOKUPS)
    return caught.value.code, caught.value.field


def test_padded_account_maps_to_the_exact_customer():
    padded = account(AccountId=" 001X000123 ", AccountName=" Harbour Lights Ltd ",
                     Email=" Accounts@Harbour.Example ", Industry="Retail")
    assert map_account(padded, LOOKUPS) == {
        "customer_id": "CRM-001X000123",
        "name": "Harbour Lights Ltd",
        "status": "ACTIVE",
        "country": "GB",
        "region": "EMEA",
        "created_at": "2024-03-14T09:05:00Z",
        "email": "accounts@harbour.example",
        "phone": "+442079460958",
    }


@pytest.mark.parametrize("created, zone, expected", [
    ("05/07/2024 14:30", "Europe/London", "2024-07-05T13:30:00Z"),          # northern summer time
    ("10/01/2024 16:45:30", "America/New_York", "2024-01-10T21:45:30Z"),    # western winter, with seconds
    ("15/08/2024 08:00", "Australia/Sydney", "2024-08-14T22:00:00Z"),       # southern winter, the day before
])
def test_created_at_is_local_time_converted_to_utc(created, zone, expected):
    assert map_account(account(CreatedDate=created, TimeZone=zone), LOOKUPS)["created_at"] == expected


@pytest.mark.parametrize("status, country, expected", [
    ("pros", "us", ("PROSPECT", "AMER", "US")),      # lower case
    (" HOLD ", "MX", ("SUSPENDED", "LATAM", "MX")),  # spaces around the status
    ("CLSD", " AU ", ("CLOSED", "APAC", "AU")),      # spaces around the country
])
def test_status_and_country_go_through_the_lookups(status, country, expected):
    customer = map_account(account(Status=status, BillingCountry=country), LOOKUPS)
    assert (customer["status"], customer["region"], customer["country"]) == expected


def test_load_lookups_reads_csv_with_bom_spaces_and_blank_lines(tmp_path):
    (tmp_path / "status_codes.csv").write_text("\ufeffcrm_status,erp_status\n act , ACTIVE\n\nhold,SUSPENDED\n",
                                               encoding="utf-8")
    (tmp_path / "countries.csv").write_text("\ufeffcountry,region,dial_code,trunk_prefix\ngb, EMEA ,44,0\n\n"
                                            "MX,LATAM,52,\n", encoding="utf-8")
    assert load_lookups(str(tmp_path)) == {
        "status": {"ACT": "ACTIVE", "HOLD": "SUSPENDED"},
        "country": {"GB": {"region": "EMEA", "dial_code": "44", "trunk_prefix": "0"},
                    "MX": {"region": "LATAM", "dial_code": "52", "trunk_prefix": ""}},
    }


@pytest.mark.parametrize("blank", [ABSENT, None, "", "   "])
def test_blank_optional_fields_become_null(blank):
    customer = map_account(account(Email=blank, Phone=blank), LOOKUPS)
    assert (customer["email"], customer["phone"]) == (None, None)


@pytest.mark.parametrize("changes, field", [
    ({"AccountId": None}, "AccountId"),
    ({"AccountName": "   "}, "AccountName"),
    ({"BillingCountry": ABSENT}, "BillingCountry"),
    ({"CreatedDate": ""}, "CreatedDate"),
    ({"TimeZone": " "}, "TimeZone"),
    ({"Status": "", "CreatedDate": "  "}, "Status"),  # two blanks: the first in table order, before any lookup
])
def test_blank_required_field_is_rejected_with_its_name(changes, field):
    assert rejection(changes) == ("MISSING_REQUIRED_FIELD", field)


@pytest.mark.parametrize("changes, expected", [
    ({"BillingCountry": "FR"}, ("UNKNOWN_COUNTRY", "BillingCountry")),
    ({"CreatedDate": "31/02/2024 10:00"}, ("INVALID_DATE", "CreatedDate")),
    ({"CreatedDate": "2024-03-14 09:05"}, ("INVALID_DATE", "CreatedDate")),
    ({"Phone": "020 7946 0958 ext 12"}, ("INVALID_PHONE", "Phone")),
    ({"Phone": "+1234 5678 9012 3456"}, ("INVALID_PHONE", "Phone")),                    # 16 digits
    ({"Phone": "+123 4567"}, ("INVALID_PHONE", "Phone")),                               # 7 digits
    ({"Phone": "+0 20 7946 0958"}, ("INVALID_PHONE", "Phone")),
    # several problems: the first in the contract's order wins
    ({"Status": "GOLD", "BillingCountry": "FR"}, ("UNKNOWN_STATUS", "Status")),
    ({"TimeZone": "Mars/Olympus_Mons", "CreatedDate": "31/02/2024 10:00"}, ("INVALID_DATE", "TimeZone")),
    ({"CreatedDate": "14/03/2024", "Phone": "call me"}, ("INVALID_DATE", "CreatedDate")),
])
def test_unusable_values_are_rejected_with_code_and_field(changes, expected):
    assert rejection(changes) == expected


@pytest.mark.parametrize("phone, country, expected", [
    ("(212) 555-0142", "US", "+12125550142"),      # no trunk prefix typed; a 1 inside stays
    ("55.1234.5678", "MX", "+525512345678"),       # dots, no trunk prefix
    ("0061 2 9374 4000", "GB", "+61293744000"),    # 00: another country's code
    ("+1 416 555 0199", "GB", "+14165550199"),     # +: kept as it is
    ("8 800 555 35 35", "RU", "+78005553535"),     # trunk prefix 8 dropped once
    ("06 6988 4857", "IT", "+390669884857"),       # no trunk prefix: the 0 stays
])
def test_phone_is_normalised_to_e164(phone, country, expected):
    assert map_account(account(Phone=phone, BillingCountry=country), LOOKUPS)["phone"] == expected


def test_batch_keeps_going_and_leaves_its_input_alone():
    batch = [account(AccountId="A1"), account(AccountId=" B2 ", Phone="call me"),
             account(AccountId=" C3 ", Email=" X@Harbour.Example ", Phone="+44 20 7946 0000"),
             account(AccountId="  ")]
    before = copy.deepcopy(batch)
    result = map_batch(batch, LOOKUPS)
    assert [c["customer_id"] for c in result["accepted"]] == ["CRM-A1", "CRM-C3"]
    assert result["rejected"] == [
        {"index": 1, "source_id": "B2", "code": "INVALID_PHONE", "field": "Phone"},
        {"index": 3, "source_id": None, "code": "MISSING_REQUIRED_FIELD", "field": "AccountId"},
    ]
    assert batch == before
