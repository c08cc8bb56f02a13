"""Regression tests for the CRM -> ERP customer mapper, written from its contract.

Each test names the rule it protects. The lookups are inline so the tests
depend on nothing but the mapper's four public names.
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


def test_messy_valid_account_maps_to_the_exact_customer():
    messy = account(AccountId=" 001X000123 ", AccountName=" Harbour Lights Ltd ", Status=" act ",
                    BillingCountry=" gb ", Email=" Accounts@Harbour.Example ", Industry="Retail")
    assert map_account(messy, LOOKUPS) == {
        "customer_id": "CRM-001X000123",
        "name": "Harbour Lights Ltd",
        "status": "ACTIVE",
        "country": "GB",
        "region": "EMEA",
        "created_at": "2024-03-14T09:05:00Z",
        "email": "accounts@harbour.example",
        "phone": "+442079460958",
    }


@pytest.mark.parametrize("created, zone, country, expected", [
    ("05/07/2024 14:30", "Europe/London", "GB", "2024-07-05T13:30:00Z"),         # summer time, day <= 12
    ("10/01/2024 16:45:30", "America/New_York", "US", "2024-01-10T21:45:30Z"),   # winter, with seconds
    ("15/08/2024 08:00", "Australia/Sydney", "AU", "2024-08-14T22:00:00Z"),       # southern winter, day before
])
def test_created_at_is_local_time_converted_to_utc(created, zone, country, expected):
    customer = map_account(account(CreatedDate=created, TimeZone=zone, BillingCountry=country, Phone=None), LOOKUPS)
    assert customer["created_at"] == expected


@pytest.mark.parametrize("status, country, erp_status, region", [
    ("pros", "us", "PROSPECT", "AMER"),
    (" Hold ", "MX", "SUSPENDED", "AMER"),
    ("CLSD", " au ", "CLOSED", "APAC"),
])
def test_status_and_region_come_from_the_lookups(status, country, erp_status, region):
    customer = map_account(account(Status=status, BillingCountry=country, Phone=None), LOOKUPS)
    assert (customer["status"], customer["region"], customer["country"]) == (erp_status, region, country.strip().upper())


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


@pytest.mark.parametrize("field, blank", [
    ("AccountId", None), ("AccountName", "   "), ("Status", ""),
    ("BillingCountry", ABSENT), ("CreatedDate", " "), ("TimeZone", ""),
])
def test_blank_required_field_is_rejected_with_its_name(field, blank):
    with pytest.raises(Rejected) as caught:
        map_account(account(**{field: blank}), LOOKUPS)
    assert (caught.value.code, caught.value.field) == ("MISSING_REQUIRED_FIELD", field)


@pytest.mark.parametrize("changes, code, field", [
    ({"Status": "GOLD"}, "UNKNOWN_STATUS", "Status"),
    ({"BillingCountry": "FR"}, "UNKNOWN_COUNTRY", "BillingCountry"),
    ({"CreatedDate": "31/02/2024 10:00"}, "INVALID_DATE", "CreatedDate"),
    ({"TimeZone": "Mars/Olympus_Mons"}, "INVALID_DATE", "TimeZone"),
    ({"Phone": "020 7946 0958 ext 12"}, "INVALID_PHONE", "Phone"),
    ({"Status": "GOLD", "Phone": "call me"}, "UNKNOWN_STATUS", "Status"),  # the first problem wins
])
def test_unusable_values_are_rejected_with_code_and_field(changes, code, field):
    with pytest.raises(Rejected) as caught:
        map_account(account(**changes), LOOKUPS)
    assert (caught.value.code, caught.value.field) == (code, field)


@pytest.mark.parametrize("phone, country, expected", [
    ("020 7946 0958", "GB", "+442079460958"),
    ("1 (212) 555-0142", "US", "+12125550142"),
    ("(212) 555-0142", "US", "+12125550142"),
    ("0061 2 9374 4000", "GB", "+61293744000"),
    ("55.1234.5678", "MX", "+525512345678"),
])
def test_phone_is_normalised_to_e164(phone, country, expected):
    assert map_account(account(Phone=phone, BillingCountry=country), LOOKUPS)["phone"] == expected


def test_batch_keeps_going_after_rejections():
    batch = [account(AccountId="A1"), account(AccountId=" B2 ", Status="GOLD"), account(AccountId="C3"),
             account(AccountId="  ")]
    result = map_batch(batch, LOOKUPS)
    assert [c["customer_id"] for c in result["accepted"]] == ["CRM-A1", "CRM-C3"]
    assert result["rejected"] == [
        {"index": 1, "source_id": "B2", "code": "UNKNOWN_STATUS", "field": "Status"},
        {"index": 3, "source_id": None, "code": "MISSING_REQUIRED_FIELD", "field": "AccountId"},
    ]


def test_batch_leaves_its_input_unchanged():
    batch = [account(AccountId=" A1 ", Status=" act ", BillingCountry="gb", Email=ABSENT, Phone=ABSENT),
             account(Status="gold")]
    before = copy.deepcopy(batch)
    map_batch(batch, LOOKUPS)
    assert batch == before
