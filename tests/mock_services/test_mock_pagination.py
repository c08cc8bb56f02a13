"""CRM cursor pagination (limit, starting_after, has_more) and seeded account data."""

from __future__ import annotations

import re

import pytest

from mock_services import build
from mock_services.services.crm import generate_accounts


def fetch_all(service, send, token, limit=10):
    """Follow the cursor to the end, as a correct client would."""
    seen, cursor, pages = [], None, 0
    while True:
        target = f"/v1/accounts?limit={limit}" + (f"&starting_after={cursor}" if cursor else "")
        response = send(service, "GET", target, {"Authorization": f"Bearer {token}"})
        assert response.status == 200, response.body
        page = response.json()
        assert page["object"] == "list" and page["url"] == "/v1/accounts"
        seen.extend(page["data"])
        pages += 1
        if not page["has_more"]:
            return seen, pages
        cursor = page["data"][-1]["id"]


def test_following_the_cursor_returns_every_account_once_in_order(crm, send, get_token) -> None:
    token = get_token(crm)
    seen, pages = fetch_all(crm, send, token, limit=7)
    assert seen == list(crm.accounts())
    assert pages == -(-len(seen) // 7)
    assert len({a["id"] for a in seen}) == len(seen)


def test_default_page_size_is_10_and_first_page_has_more(crm, send, get_token) -> None:
    page = send(crm, "GET", "/v1/accounts", {"Authorization": f"Bearer {get_token(crm)}"}).json()
    assert len(page["data"]) == 10 and page["has_more"] is True
    assert page["data"][0]["id"] == "acc_00001"


def test_last_page_says_has_more_false(crm, send, get_token) -> None:
    last = crm.accounts()[-2]["id"]
    page = send(crm, "GET", f"/v1/accounts?starting_after={last}", {"Authorization": f"Bearer {get_token(crm)}"}).json()
    assert [a["id"] for a in page["data"]] == [crm.accounts()[-1]["id"]]
    assert page["has_more"] is False


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "limit=abc", "limit=-1", "starting_after=17", "starting_after=acc_1"]
)
def test_bad_paging_parameters_are_400_problems(crm, send, get_token, query) -> None:
    response = send(crm, "GET", f"/v1/accounts?{query}", {"Authorization": f"Bearer {get_token(crm)}"})
    assert response.status == 400
    body = response.json()
    assert body["type"].endswith("/invalid-parameter")
    assert body["invalid_params"][0]["name"] == query.split("=")[0]


def test_cursor_pages_from_its_place_even_when_it_names_no_row(crm, send, get_token) -> None:
    page = send(
        crm, "GET", "/v1/accounts?starting_after=acc_00003&limit=2", {"Authorization": f"Bearer {get_token(crm)}"}
    ).json()
    assert [a["id"] for a in page["data"]] == ["acc_00004", "acc_00005"]
    beyond = send(
        crm, "GET", "/v1/accounts?starting_after=acc_99999", {"Authorization": f"Bearer {get_token(crm)}"}
    ).json()
    assert beyond["data"] == [] and beyond["has_more"] is False


def test_get_one_account_and_404_for_a_missing_one(crm, send, get_token) -> None:
    token = get_token(crm)
    first = crm.accounts()[0]
    assert send(crm, "GET", f"/v1/accounts/{first['id']}", {"Authorization": f"Bearer {token}"}).json() == first
    missing = send(crm, "GET", "/v1/accounts/acc_99999", {"Authorization": f"Bearer {token}"})
    assert missing.status == 404 and missing.header("Content-Type") == "application/problem+json"


def test_same_seed_same_accounts_other_seed_other_accounts() -> None:
    assert generate_accounts(7) == generate_accounts(7)
    assert generate_accounts(7) != generate_accounts(8)
    assert build("crm", seed=7).accounts() == tuple(generate_accounts(7))
    assert len({len(generate_accounts(seed)) for seed in range(10)}) > 1  # the count varies too


def test_account_records_have_the_documented_shape(crm) -> None:
    for account in crm.accounts():
        assert set(account) == {"id", "name", "status", "country", "email", "phone", "updated_at"}
        assert re.fullmatch(r"acc_\d{5}", account["id"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", account["updated_at"])
        assert account["email"].endswith(".example") and account["phone"].startswith("+")
    ids = [a["id"] for a in crm.accounts()]
    assert ids == sorted(ids)


def test_accounts_accessor_returns_copies(crm) -> None:
    crm.accounts()[0]["name"] = "tampered"
    assert crm.accounts()[0]["name"] != "tampered"
