"""Tests for the customer mapper: output shape and rejections."""
import pytest

from mapper import Rejected, load_lookups, map_account, map_batch

LOOKUPS = {
    "status": {"ACT": "ACTIVE", "PROS": "PROSPECT"},
    "country": {
        "GB": {"region": "EMEA", "dial_code": "44", "trunk_prefix": "0"},
        "US": {"region": "AMER", "dial_code": "1", "trunk_prefix": "1"},
    },
}
KEYS = {"customer_id", "name", "status", "country", "region", "created_at", "email", "phone"}


def account(**changes):
    record = {"AccountId": "001X000555", "AccountName": "Oakridge Logistics", "Status": "ACT", "BillingCountry": "GB",
              "CreatedDate": "02/02/2024 08:30", "TimeZone": "Europe/London", "Email": "ops@oakridge.example",
              "Phone": "+44 20 7946 0555"}
    record.update(changes)
    return record


def test_customer_has_exactly_the_target_keys():
    assert set(map_account(account(), LOOKUPS)) == KEYS


def test_customer_id_has_crm_prefix():
    assert map_account(account(), LOOKUPS)["customer_id"].startswith("CRM-")


def test_created_at_looks_like_utc():
    created = map_account(account(TimeZone="America/Chicago", BillingCountry="US"), LOOKUPS)["created_at"]
    assert created.endswith("Z") and len(created) == 20


def test_phone_starts_with_plus():
    assert map_account(account(), LOOKUPS)["phone"].startswith("+")


def test_missing_id_is_rejected():
    with pytest.raises(Rejected):
        map_account(account(AccountId=None), LOOKUPS)


def test_unknown_country_is_rejected():
    with pytest.raises(Rejected):
        map_account(account(BillingCountry="ZZ"), LOOKUPS)


def test_unreadable_date_is_rejected():
    with pytest.raises(Rejected):
        map_account(account(CreatedDate="next tuesday"), LOOKUPS)


def test_batch_returns_both_lists():
    result = map_batch([account(), account(BillingCountry="ZZ")], LOOKUPS)
    assert set(result) == {"accepted", "rejected"}


def test_lookups_have_both_tables(tmp_path):
    (tmp_path / "status_codes.csv").write_text("crm_status,erp_status\nACT,ACTIVE\n", encoding="utf-8")
    (tmp_path / "countries.csv").write_text("country,region,dial_code,trunk_prefix\nGB,EMEA,44,0\n", encoding="utf-8")
    assert set(load_lookups(str(tmp_path))) == {"status", "country"}
