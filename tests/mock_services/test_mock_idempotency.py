"""Idempotency-Key on POST /v1/orders: replay, 409 in flight, 422 reuse, 400 missing, quoted keys."""

from __future__ import annotations

import threading

import pytest
import requests

from mock_services import Gate, Nth, Scenario, Slow, build, on
from mock_services.idempotency import parse_key

ORDER = {
    "customer_id": "acc_00017",
    "currency": "EUR",
    "external_ref": "PO-1",
    "lines": [{"sku": "SKU-1", "quantity": 2, "unit_price": "12.50"}],
}


def post(service, send, token, key, body=ORDER):
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return send(service, "POST", "/v1/orders", headers, body)


def test_first_request_creates_and_a_retry_replays(erp, send, get_token) -> None:
    token = get_token(erp)
    first = post(erp, send, token, "order-1")
    assert first.status == 201
    order = first.json()
    assert order["total"] == "25.00" and first.header("Location") == f"/v1/orders/{order['id']}"
    retry = post(erp, send, token, "order-1")
    assert retry.status == 201
    assert retry.body == first.body
    assert retry.header("Idempotent-Replayed") == "true"
    assert first.header("Idempotent-Replayed") is None
    assert len(erp.orders()) == 1


def test_replay_survives_a_token_refresh(erp, send, get_token) -> None:
    post(erp, send, get_token(erp), "k")
    assert post(erp, send, get_token(erp), "k").header("Idempotent-Replayed") == "true"
    assert len(erp.orders()) == 1


def test_retry_while_original_is_in_flight_gets_409(get_token, running) -> None:
    release, entered = threading.Event(), threading.Event()
    erp = build("erp", Scenario("race", (on("POST /v1/orders", Gate(release, entered), when=Nth(1)),)))
    server = running(erp)
    token = get_token(erp)
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "race-1"}
    outcome: dict[str, requests.Response] = {}

    def original() -> None:
        outcome["first"] = requests.post(f"{server.url}/v1/orders", json=ORDER, headers=headers, timeout=10)

    thread = threading.Thread(target=original)
    thread.start()
    try:
        assert entered.wait(5), "the original never reached the handler"
        racing = requests.post(f"{server.url}/v1/orders", json=ORDER, headers=headers, timeout=10)
    finally:
        release.set()
        thread.join(10)
    assert racing.status_code == 409
    assert racing.headers["Content-Type"] == "application/problem+json"
    assert racing.json()["type"].endswith("/idempotency-key-in-use")
    assert int(racing.headers["Retry-After"]) >= 1
    assert outcome["first"].status_code == 201
    after = requests.post(f"{server.url}/v1/orders", json=ORDER, headers=headers, timeout=10)
    assert after.status_code == 201 and after.headers["Idempotent-Replayed"] == "true"
    assert after.json() == outcome["first"].json()
    assert len(erp.orders()) == 1


def test_slow_original_stays_in_flight_until_its_virtual_completion(send, get_token) -> None:
    erp = build("erp", Scenario("slow", (on("POST /v1/orders", Slow(30), when=Nth(1)),)))
    token = get_token(erp)
    assert post(erp, send, token, "k").stall == 30
    erp.clock.advance(10)
    hasty = post(erp, send, token, "k")
    assert hasty.status == 409 and hasty.header("Retry-After") == "20"
    erp.clock.advance(20)
    patient = post(erp, send, token, "k")
    assert patient.status == 201 and patient.header("Idempotent-Replayed") == "true"


def test_conflict_scenario_is_the_slow_first_create(send, get_token) -> None:
    erp = build("erp", "conflict")
    token = get_token(erp)
    post(erp, send, token, "k")
    assert post(erp, send, token, "k").status == 409


def test_same_key_different_payload_is_422(erp, send, get_token) -> None:
    token = get_token(erp)
    post(erp, send, token, "k")
    other = dict(ORDER, currency="USD")
    response = post(erp, send, token, "k", other)
    assert response.status == 422
    assert response.json()["type"].endswith("/idempotency-key-reused")
    assert len(erp.orders()) == 1


def test_reserialised_same_payload_is_the_same_payload(erp, send, get_token) -> None:
    token = get_token(erp)
    post(erp, send, token, "k")
    reordered = (
        '{"lines": [{"unit_price": "12.50", "quantity": 2, "sku": "SKU-1"}],'
        ' "external_ref": "PO-1", "currency": "EUR", "customer_id": "acc_00017"}'
    )
    response = send(
        erp,
        "POST",
        "/v1/orders",
        {"Authorization": f"Bearer {token}", "Idempotency-Key": "k", "Content-Type": "application/json"},
        reordered,
    )
    assert response.status == 201 and response.header("Idempotent-Replayed") == "true"


def test_missing_key_is_400_and_creates_nothing(erp, send, get_token) -> None:
    response = post(erp, send, get_token(erp), None)
    assert response.status == 400
    assert response.json()["type"].endswith("/idempotency-key-missing")
    assert erp.orders() == ()


@pytest.mark.parametrize("raw", ["", "   ", "x" * 256, "caf\u00e9"], ids=["empty", "blank", "too-long", "non-ascii"])
def test_unusable_keys_are_400(erp, send, get_token, raw) -> None:
    response = post(erp, send, get_token(erp), raw)
    assert response.status == 400


def test_quoted_structured_field_key_names_the_same_key_as_bare(erp, send, get_token) -> None:
    token = get_token(erp)
    assert post(erp, send, token, '"8e03978e-40d5"').status == 201
    bare = post(erp, send, token, "8e03978e-40d5")
    assert bare.header("Idempotent-Replayed") == "true"
    assert len(erp.orders()) == 1


@pytest.mark.parametrize(
    "raw, key",
    [
        ('"abc"', "abc"),
        ("abc", "abc"),
        ('"a\\"b"', 'a"b'),
        ('"a\\\\b"', "a\\b"),
        ('"with space"', "with space"),
        ('"', '"'),
        ('"open', '"open'),
    ],
    ids=["quoted", "bare", "escaped-quote", "escaped-backslash", "inner-space", "lone-quote", "unclosed"],
)
def test_parse_key(raw, key) -> None:
    assert parse_key(raw) == key


def test_validation_failure_does_not_burn_the_key(erp, send, get_token) -> None:
    token = get_token(erp)
    bad = dict(ORDER, lines=[{"sku": "SKU-1", "quantity": 0, "unit_price": "12.50"}])
    rejected = post(erp, send, token, "k", bad)
    assert rejected.status == 422
    assert rejected.json()["errors"][0]["pointer"] == "/lines/0/quantity"
    assert post(erp, send, token, "k").status == 201
    assert len(erp.orders()) == 1


def test_keys_expire_after_24_virtual_hours(erp, send, get_token) -> None:
    token = get_token(erp)
    post(erp, send, token, "k")
    erp.clock.advance(24 * 3600 + 1)
    token = get_token(erp)  # the old one expired long ago
    assert post(erp, send, token, "k").header("Idempotent-Replayed") is None
    assert len(erp.orders()) == 2


def test_order_validation_and_media_type(erp, send, get_token) -> None:
    token = get_token(erp)
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "v", "Content-Type": "text/plain"}
    assert send(erp, "POST", "/v1/orders", headers, "hello").status == 415
    headers["Content-Type"] = "application/json"
    assert send(erp, "POST", "/v1/orders", headers, "{not json").status == 400
    missing = send(erp, "POST", "/v1/orders", headers, "{}")
    assert missing.status == 422 and len(missing.json()["errors"]) == 3


def test_list_and_get_orders(erp, send, get_token) -> None:
    token = get_token(erp)
    created = post(erp, send, token, "a").json()
    listing = send(erp, "GET", "/v1/orders", {"Authorization": f"Bearer {token}"}).json()
    assert listing["object"] == "list" and listing["data"] == [created] and listing["has_more"] is False
    assert send(erp, "GET", f"/v1/orders/{created['id']}", {"Authorization": f"Bearer {token}"}).json() == created
    assert send(erp, "GET", "/v1/orders/ord_99999", {"Authorization": f"Bearer {token}"}).status == 404
