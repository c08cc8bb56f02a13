"""Requests nothing matches get RFC 9457 problem details: 404, or 405 with Allow; never 500."""

from __future__ import annotations

import pytest

from mock_services import Request, build
from mock_services.problems import PROBLEM_TYPE_BASE

PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance"}


@pytest.mark.parametrize("service_name", ["crm", "erp"])
@pytest.mark.parametrize(
    "method, target",
    [
        ("GET", "/"),
        ("GET", "/v2/accounts"),
        ("POST", "/v1/nothing/here"),
        ("DELETE", "/x?y=1"),
        ("GET", "/v1/accounts/acc_00001/extra"),
    ],
)
def test_unknown_route_is_404_problem_json(service_name, method, target) -> None:
    service = build(service_name)
    response = service.handle(Request.build(method, target))
    assert response.status == 404
    assert response.header("Content-Type") == "application/problem+json"
    body = response.json()
    assert PROBLEM_MEMBERS <= set(body)
    assert body["status"] == 404 and body["type"].startswith(PROBLEM_TYPE_BASE)
    assert body["instance"] == target.split("?")[0]
    assert service.journal.entries()[-1].route is None  # journaled all the same


def test_known_path_wrong_method_is_405_with_allow(crm, send) -> None:
    response = send(crm, "DELETE", "/v1/accounts")
    assert response.status == 405
    assert response.header("Allow") == "GET"
    assert response.json()["status"] == 405


def test_correlation_id_is_echoed_in_problem_and_header(crm, send) -> None:
    response = send(crm, "GET", "/v1/accounts", {"X-Correlation-ID": "req-7f3a"})
    assert response.json()["correlation_id"] == "req-7f3a"
    assert response.header("X-Correlation-ID") == "req-7f3a"
    assert "correlation_id" not in send(crm, "GET", "/v1/accounts").json()


def test_a_bug_in_a_handler_is_a_500_problem_not_a_crash(crm, send, get_token, monkeypatch) -> None:
    token = get_token(crm)
    monkeypatch.setattr(crm, "_accounts", None)  # list(None) will raise inside the handler
    response = send(crm, "GET", "/v1/accounts", {"Authorization": f"Bearer {token}"})
    assert response.status == 500
    assert response.json()["type"].endswith("/mock-bug")
