"""The admin surface under /__admin/: journal, reset, scenario, clock; never journaled itself."""

from __future__ import annotations

import json

import pytest
import requests

from mock_services import build


@pytest.fixture
def crm_server(running):
    crm = build("crm")
    return crm, running(crm, admin=True)


def token(crm, server) -> str:
    creds = crm.credentials
    return requests.post(
        f"{server.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(creds.client_id, creds.client_secret),
        timeout=5,
    ).json()["access_token"]


def test_journal_is_served_masked_and_admin_calls_are_not_journaled(crm_server) -> None:
    crm, server = crm_server
    secret_token = token(crm, server)
    requests.get(f"{server.url}/v1/accounts", headers={"Authorization": f"Bearer {secret_token}"}, timeout=5)
    reply = requests.get(f"{server.url}/__admin/journal", timeout=5)
    assert reply.status_code == 200
    entries = reply.json()["entries"]
    assert [e["path"] for e in entries] == ["/oauth/token", "/v1/accounts"]
    assert secret_token not in reply.text and crm.credentials.client_secret not in reply.text
    assert entries[1]["response"]["delivery"] == "written"
    requests.get(f"{server.url}/__admin/scenario", timeout=5)
    assert len(crm.journal) == 2


def test_reset_forgets_journal_and_tokens(crm_server) -> None:
    crm, server = crm_server
    old = token(crm, server)
    assert requests.post(f"{server.url}/__admin/reset", timeout=5).json()["reset"] is True
    assert len(crm.journal) == 0
    assert (
        requests.get(f"{server.url}/v1/accounts", headers={"Authorization": f"Bearer {old}"}, timeout=5).status_code
        == 401
    )


def test_scenario_can_be_read_and_switched_by_name(crm_server) -> None:
    crm, server = crm_server
    view = requests.get(f"{server.url}/__admin/scenario", timeout=5).json()
    assert view["scenario"]["name"] == "happy" and "throttled" in view["available"]
    switched = requests.put(f"{server.url}/__admin/scenario", json={"name": "throttled"}, timeout=5)
    assert switched.status_code == 200 and switched.json()["scenario"]["name"] == "throttled"
    headers = {"Authorization": f"Bearer {token(crm, server)}"}
    statuses = [requests.get(f"{server.url}/v1/accounts", headers=headers, timeout=5).status_code for _ in range(3)]
    assert statuses == [200, 429, 429]


def test_scenario_can_be_put_as_data(crm_server) -> None:
    crm, server = crm_server
    custom = {
        "name": "mine",
        "rules": [
            {"route": "GET /v1/accounts/{id}", "when": {"nth": [1]}, "faults": [{"type": "ServerError", "status": 502}]}
        ],
    }
    assert requests.put(f"{server.url}/__admin/scenario", json=custom, timeout=5).status_code == 200
    headers = {"Authorization": f"Bearer {token(crm, server)}"}
    assert requests.get(f"{server.url}/v1/accounts/acc_00001", headers=headers, timeout=5).status_code == 502
    assert requests.get(f"{server.url}/v1/accounts/acc_00001", headers=headers, timeout=5).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"name": "nope"},
        {"rules": [{"route": "GET /nowhere", "faults": [{"type": "Slow"}]}]},
        {"rules": [{"route": "GET /v1/accounts", "faults": [{"type": "Meteor"}]}]},
        {},
    ],
    ids=["unknown-name", "unknown-route", "unknown-fault", "empty"],
)
def test_bad_scenario_is_a_400_problem_and_changes_nothing(crm_server, body) -> None:
    crm, server = crm_server
    reply = requests.put(f"{server.url}/__admin/scenario", json=body, timeout=5)
    assert reply.status_code == 400 and reply.headers["Content-Type"] == "application/problem+json"
    assert crm.scenario.name == "happy"


def test_clock_advance_expires_tokens(crm_server) -> None:
    crm, server = crm_server
    headers = {"Authorization": f"Bearer {token(crm, server)}"}
    before = requests.get(f"{server.url}/__admin/clock", timeout=5).json()
    after = requests.post(f"{server.url}/__admin/clock/advance", json={"seconds": 3600}, timeout=5).json()
    assert after["now"] - before["now"] == 3600 and after["dilation"] == 100
    assert requests.get(f"{server.url}/v1/accounts", headers=headers, timeout=5).status_code == 401
    assert (
        requests.post(f"{server.url}/__admin/clock/advance?seconds=1.5", timeout=5).json()["now"] == after["now"] + 1.5
    )


@pytest.mark.parametrize(
    "body",
    [{"seconds": -1}, {"seconds": "soon"}, {}, {"seconds": float("inf")}],
    ids=["negative", "text", "missing", "infinite"],
)
def test_bad_clock_advance_is_400(crm_server, body) -> None:
    _, server = crm_server
    reply = requests.post(f"{server.url}/__admin/clock/advance", data=json.dumps(body), timeout=5)
    assert reply.status_code == 400


def test_unknown_admin_route_and_wrong_method(crm_server) -> None:
    _, server = crm_server
    assert requests.get(f"{server.url}/__admin/secrets", timeout=5).status_code == 404
    wrong = requests.get(f"{server.url}/__admin/reset", timeout=5)
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "POST"


def test_the_admin_api_is_off_unless_asked_for_and_probing_it_is_journaled(running) -> None:
    """In grading the mock is served without it: a submission cannot reset, rewind or re-script the evidence."""
    crm = build("crm")
    server = running(crm)
    for method, path in (("GET", "/__admin/journal"), ("POST", "/__admin/reset"),
                         ("PUT", "/__admin/scenario"), ("POST", "/__admin/clock/advance")):
        reply = requests.request(method, f"{server.url}{path}", json={"seconds": 3600, "name": "happy"}, timeout=5)
        assert reply.status_code in (404, 405)
    assert crm.clock.elapsed() < 60  # the clock did not jump an hour
    assert [e.path for e in crm.journal.entries()][-4:] == ["/__admin/journal", "/__admin/reset",
                                                            "/__admin/scenario", "/__admin/clock/advance"]
