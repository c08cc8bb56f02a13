"""Smoke tests for the customer mapper: every path runs without crashing."""
from mapper import Rejected, load_lookups, map_account, map_batch

LOOKUPS = {
    "status": {"ACT": "ACTIVE", "PROS": "PROSPECT"},
    "country": {
        "GB": {"region": "EMEA", "dial_code": "44", "trunk_prefix": "0"},
        "US": {"region": "AMER", "dial_code": "1", "trunk_prefix": "1"},
    },
}

GOOD = {"AccountId": "001X000901", "AccountName": "Kestrel Analytics", "Status": "ACT", "BillingCountry": "GB",
        "CreatedDate": "03/04/2024 11:00", "TimeZone": "Europe/London", "Email": "hello@kestrel.example",
        "Phone": "020 7946 0111"}


def try_map(account):
    try:
        return map_account(account, LOOKUPS)
    except Rejected as problem:
        print("rejected:", problem)
        return None


def test_good_account():
    print(map_account(dict(GOOD), LOOKUPS))


def test_us_account():
    print(map_account(dict(GOOD, BillingCountry="US", Phone="(212) 555-0199", TimeZone="America/Chicago"), LOOKUPS))


def test_missing_name():
    try_map(dict(GOOD, AccountName=None))


def test_unknown_status():
    try_map(dict(GOOD, Status="GOLD"))


def test_bad_date():
    try_map(dict(GOOD, CreatedDate="2024-04-03"))


def test_bad_phone():
    try_map(dict(GOOD, Phone="n/a"))


def test_batch():
    print(map_batch([dict(GOOD), dict(GOOD, Status="GOLD")], LOOKUPS))


def test_lookups(tmp_path):
    (tmp_path / "status_codes.csv").write_text("crm_status,erp_status\nACT,ACTIVE\n", encoding="utf-8")
    (tmp_path / "countries.csv").write_text("country,region,dial_code,trunk_prefix\nGB,EMEA,44,0\n", encoding="utf-8")
    print(load_lookups(str(tmp_path)))
