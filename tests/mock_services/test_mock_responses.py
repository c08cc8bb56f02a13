"""register_responses: learners' visible tests stub the same routes with `responses`."""

from __future__ import annotations

import pytest
import requests
import responses

from mock_services import (
    Delivery,
    DropAfterCommit,
    Nth,
    Scenario,
    Slow,
    build,
    on,
    register_responses,
)

BASE = "https://crm.example.test"


def token(service, base=BASE) -> str:
    creds = service.credentials
    reply = requests.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(creds.client_id, creds.client_secret),
        timeout=5,
    )
    assert reply.status_code == 200
    return reply.json()["access_token"]


def test_stubbed_routes_drive_the_same_handler() -> None:
    crm = build("crm")
    with responses.RequestsMock() as rsps:
        register_responses(rsps, crm, BASE)
        page = requests.get(
            f"{BASE}/v1/accounts", params={"limit": 4}, headers={"Authorization": f"Bearer {token(crm)}"}, timeout=5
        )
        missing = requests.get(f"{BASE}/v2/nothing", timeout=5)
        wrong_method = requests.delete(f"{BASE}/v1/accounts", timeout=5)
    assert page.status_code == 200 and page.json()["data"] == list(crm.accounts()[:4])
    assert wrong_method.status_code == 405 and wrong_method.headers["Allow"] == "GET"
    assert missing.status_code == 404 and missing.headers["Content-Type"] == "application/problem+json"
    assert [e.target for e in crm.journal.entries()] == [
        "/oauth/token",
        "/v1/accounts?limit=4",
        "/v2/nothing",
        "/v1/accounts",
    ]
    assert all(e.response.delivery is Delivery.WRITTEN for e in crm.journal.entries())


def test_base_url_with_a_path_prefix() -> None:
    crm = build("crm")
    base = "https://gateway.example.test/crm/api"
    with responses.RequestsMock() as rsps:
        register_responses(rsps, crm, base + "/")
        reply = requests.get(
            f"{base}/v1/accounts/acc_00003", headers={"Authorization": f"Bearer {token(crm, base)}"}, timeout=5
        )
    assert reply.json()["id"] == "acc_00003"


def test_drop_raises_connection_error() -> None:
    erp = build("erp", Scenario("d", (on("POST /v1/orders", DropAfterCommit(), when=Nth(1)),)))
    base = "https://erp.example.test"
    order = {
        "customer_id": "acc_00001",
        "currency": "EUR",
        "lines": [{"sku": "SKU-1", "quantity": 1, "unit_price": "1.00"}],
    }
    with responses.RequestsMock() as rsps:
        register_responses(rsps, erp, base)
        headers = {"Authorization": f"Bearer {token(erp, base)}", "Idempotency-Key": "k"}
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.post(f"{base}/v1/orders", json=order, headers=headers, timeout=5)
        replay = requests.post(f"{base}/v1/orders", json=order, headers=headers, timeout=5)
    assert replay.headers["Idempotent-Replayed"] == "true" and len(erp.orders()) == 1


def test_stall_past_the_timeout_raises_read_timeout_in_virtual_time() -> None:
    crm = build("crm", Scenario("s", (on("GET /v1/accounts", Slow(30), when=Nth(1, 2)),)))
    with responses.RequestsMock() as rsps:
        register_responses(rsps, crm, BASE)
        headers = {"Authorization": f"Bearer {token(crm)}"}
        start = crm.clock.now()
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.get(f"{BASE}/v1/accounts", headers=headers, timeout=(3, 10))
        assert crm.clock.now() == start + 10  # the client waited its read timeout, virtually
        assert requests.get(f"{BASE}/v1/accounts", headers=headers).status_code == 200  # no timeout: waits it out
        assert crm.clock.now() == start + 40
    entries = crm.journal.entries()
    assert entries[1].client_gone and entries[1].response.waited == 10
    assert entries[2].response.delivery is Delivery.WRITTEN and entries[2].response.waited == 30
