"""Tests for the customer mapper: valid accounts in, customers out."""
import pytest

from mapper import load_lookups, map_account, map_batch

LOOKUPS = {
    "status": {"ACT": "ACTIVE", "PROS": "PROSPECT", "HOLD": "SUSPENDED"},
    "country": {
        "GB": {"region": "EMEA", "dial_code": "44", "trunk_prefix": "0"},
        "US": {"region": "AMER", "dial_code": "1", "trunk_prefix": "1"},
        "AU": {"region": "APAC", "dial_code": "61", "trunk_prefix": "0"},
    },
}


def account(**changes):
    record = {"AccountId": "001X000777", "AccountName": "Blue Fern Dental", "Status": "ACT", "BillingCountry": "GB",
              "CreatedDate": "02/03/2024 10:15", "TimeZone": "Europe/London", "Email": "desk@bluefern.example",
              "Phone": "020 7946 0321"}
    record.update(changes)
    return record


def test_account_maps_to_customer():
    assert map_account(account(), LOOKUPS) == {
        "customer_id": "CRM-001X000777", "name": "Blue Fern Dental", "status": "ACTIVE", "country": "GB",
        "region": "EMEA", "created_at": "2024-03-02T10:15:00Z", "email": "desk@bluefern.example",
        "phone": "+442079460321",
    }


@pytest.mark.parametrize("created, zone, expected", [
    ("05/07/2024 14:30", "Europe/London", "2024-07-05T13:30:00Z"),
    ("15/08/2024 08:00", "Australia/Sydney", "2024-08-14T22:00:00Z"),
])
def test_created_at_in_utc(created, zone, expected):
    assert map_account(account(CreatedDate=created, TimeZone=zone), LOOKUPS)["created_at"] == expected


def test_status_is_case_insensitive():
    assert map_account(account(Status=" pros "), LOOKUPS)["status"] == "PROSPECT"


def test_region_from_country():
    assert map_account(account(BillingCountry="US", Phone="(212) 555-0142"), LOOKUPS)["region"] == "AMER"


def test_us_phone_gets_dial_code():
    assert map_account(account(BillingCountry="US", Phone="1 (212) 555-0142"), LOOKUPS)["phone"] == "+12125550142"


def test_email_is_lower_cased():
    assert map_account(account(Email=" Desk@BlueFern.example "), LOOKUPS)["email"] == "desk@bluefern.example"


def test_batch_of_good_accounts():
    result = map_batch([account(AccountId="A1"), account(AccountId="A2")], LOOKUPS)
    assert [c["customer_id"] for c in result["accepted"]] == ["CRM-A1", "CRM-A2"]
    assert result["rejected"] == []


def test_load_lookups(tmp_path):
    (tmp_path / "status_codes.csv").write_text("crm_status,erp_status\nACT,ACTIVE\n", encoding="utf-8")
    (tmp_path / "countries.csv").write_text("country,region,dial_code,trunk_prefix\nGB,EMEA,44,0\n", encoding="utf-8")
    assert load_lookups(str(tmp_path)) == {
        "status": {"ACT": "ACTIVE"},
        "country": {"GB": {"region": "EMEA", "dial_code": "44", "trunk_prefix": "0"}},
    }
