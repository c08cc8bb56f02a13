"""One test per fault: each makes the service misbehave exactly as documented."""

from __future__ import annotations

import json
import threading
from email.utils import parsedate_to_datetime

import pytest

from mock_services import (
    DropAfterCommit,
    ExpireToken,
    Gate,
    InsertRowsBeforeFetch,
    MalformedBody,
    Nth,
    RateLimited,
    RenameField,
    Scenario,
    ScenarioError,
    ServerError,
    Slow,
    build,
    on,
)
from mock_services.faults import fault_from_dict

ORDER = {
    "customer_id": "acc_00001",
    "currency": "EUR",
    "lines": [{"sku": "SKU-1", "quantity": 2, "unit_price": "12.50"}],
}


def crm_with(*faults, when=None, route="GET /v1/accounts"):
    return build("crm", Scenario("test", (on(route, *faults, when=when),)))


def erp_with(*faults, when=None):
    return build("erp", Scenario("test", (on("POST /v1/orders", *faults, when=when),)))


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def test_rate_limited_seconds_form(send, get_token) -> None:
    crm = crm_with(RateLimited(30, "seconds"), when=Nth(2))
    token = get_token(crm)
    assert send(crm, "GET", "/v1/accounts", auth(token)).status == 200
    response = send(crm, "GET", "/v1/accounts", auth(token))
    assert response.status == 429
    assert response.header("Retry-After") == "30"
    assert response.header("Content-Type") == "application/problem+json"
    assert crm.journal.entries()[-1].response.faults == ("RateLimited(retry_after=30, form='seconds')",)
    assert send(crm, "GET", "/v1/accounts", auth(token)).status == 200


def test_rate_limited_http_date_form_is_relative_to_virtual_now(send, get_token) -> None:
    crm = crm_with(RateLimited(10, "http-date"))
    crm.clock.advance(0.4)  # a fractional now: the date must round up, never shorten the wait
    response = send(crm, "GET", "/v1/accounts", auth(get_token(crm)))
    assert response.status == 429
    retry_at = parsedate_to_datetime(response.header("Retry-After")).timestamp()
    assert retry_at - crm.clock.now() >= 10
    assert retry_at - crm.clock.now() < 11
    assert response.header("Date")  # Date is virtual too, so a client can compare the two


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_error_statuses(send, get_token, status) -> None:
    crm = crm_with(ServerError(status))
    response = send(crm, "GET", "/v1/accounts", auth(get_token(crm)))
    assert response.status == status
    assert response.json()["status"] == status
    assert response.header("Retry-After") is None


def test_server_error_with_retry_after_commits_nothing(send, get_token) -> None:
    erp = erp_with(ServerError(503, retry_after=5), when=Nth(1))
    token = get_token(erp)
    failed = send(erp, "POST", "/v1/orders", {**auth(token), "Idempotency-Key": "k1"}, ORDER)
    assert failed.status == 503 and failed.header("Retry-After") == "5"
    assert erp.orders() == ()
    retried = send(erp, "POST", "/v1/orders", {**auth(token), "Idempotency-Key": "k1"}, ORDER)
    assert retried.status == 201 and retried.header("Idempotent-Replayed") is None  # processed, not replayed
    assert len(erp.orders()) == 1


def test_slow_schedules_a_stall_for_the_transport(send, get_token) -> None:
    crm = crm_with(Slow(30))
    response = send(crm, "GET", "/v1/accounts", auth(get_token(crm)))
    assert response.status == 200 and response.stall == 30
    assert crm.journal.entries()[-1].response.stall == 30


def test_drop_after_commit_writes_then_drops(send, get_token) -> None:
    erp = erp_with(DropAfterCommit(), when=Nth(1))
    response = send(erp, "POST", "/v1/orders", {**auth(get_token(erp)), "Idempotency-Key": "k1"}, ORDER)
    assert response.drop is True
    assert len(erp.orders()) == 1  # the write happened
    assert erp.journal.entries()[-1].response.delivery.value == "dropped"


def test_expire_token_expires_the_presented_token_for_good(send, get_token) -> None:
    crm = crm_with(ExpireToken(), when=Nth(2))
    token = get_token(crm)
    assert send(crm, "GET", "/v1/accounts", auth(token)).status == 200
    expired = send(crm, "GET", "/v1/accounts", auth(token))
    assert expired.status == 401 and 'error="invalid_token"' in expired.header("WWW-Authenticate")
    assert send(crm, "GET", "/v1/accounts", auth(token)).status == 401  # still expired
    assert send(crm, "GET", "/v1/accounts", auth(get_token(crm))).status == 200  # a new token works


def test_malformed_body_is_truncated_json(send, get_token) -> None:
    crm = crm_with(MalformedBody())
    response = send(crm, "GET", "/v1/accounts", auth(get_token(crm)))
    assert response.status == 200 and response.header("Content-Type") == "application/json"
    with pytest.raises(ValueError):
        json.loads(response.body)


def test_rename_field_drifts_the_contract(send, get_token) -> None:
    crm = crm_with(RenameField("email", "email_address"))
    page = send(crm, "GET", "/v1/accounts", auth(get_token(crm))).json()
    assert all("email_address" in row and "email" not in row for row in page["data"])
    assert page["data"][0]["email_address"] == crm.accounts()[0]["email"]


def test_insert_rows_before_fetch_grows_the_data_between_pages(send, get_token) -> None:
    crm = crm_with(InsertRowsBeforeFetch(3), when=Nth(2))
    token = get_token(crm)
    before = len(crm.accounts())
    seen, cursor = [], None
    while True:
        page = send(
            crm, "GET", "/v1/accounts?limit=25" + (f"&starting_after={cursor}" if cursor else ""), auth(token)
        ).json()
        seen.extend(page["data"])
        if not page["has_more"]:
            break
        cursor = page["data"][-1]["id"]
    assert len(crm.accounts()) == before + 3
    assert seen == list(crm.accounts())  # the cursor client saw every row, inserted ones too, once each
    assert crm.accounts()[-1]["updated_at"] == crm.clock.isoformat()


def test_faults_compose_a_slow_503(send, get_token) -> None:
    crm = crm_with(ServerError(503), Slow(12))
    response = send(crm, "GET", "/v1/accounts", auth(get_token(crm)))
    assert (response.status, response.stall) == (503, 12)


def test_insert_rows_needs_rows(send) -> None:
    with pytest.raises(ScenarioError):
        erp_with(InsertRowsBeforeFetch(1))


@pytest.mark.parametrize(
    "fault",
    [
        RateLimited(30, "http-date"),
        ServerError(502, retry_after=3),
        Slow(5),
        DropAfterCommit(),
        ExpireToken(),
        MalformedBody(),
        RenameField("a", "b"),
        InsertRowsBeforeFetch(2),
    ],
    ids=lambda f: type(f).__name__,
)
def test_faults_round_trip_through_data(fault) -> None:
    assert fault_from_dict(json.loads(json.dumps(fault.to_dict()))) == fault


@pytest.mark.parametrize(
    "data",
    [
        {"type": "Nope"},
        {"type": "Slow", "virtual_seconds": -1},
        {"type": "ServerError", "status": 404},
        {"type": "RateLimited", "form": "minutes"},
        {"type": "Slow", "bogus": 1},
        "Slow",
    ],
    ids=["unknown", "negative-slow", "404-is-not-a-server-error", "bad-form", "unknown-field", "not-an-object"],
)
def test_bad_fault_data_is_a_scenario_error(data) -> None:
    with pytest.raises(ScenarioError):
        fault_from_dict(data)


def test_gate_is_shown_but_not_loadable() -> None:
    shown = Gate(threading.Event()).to_dict()
    assert shown["type"] == "Gate"
    with pytest.raises(ScenarioError):
        fault_from_dict(shown)
