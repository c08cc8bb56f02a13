"""Scenarios: named and loadable, built in code, selectors count right, reproducible from the seed."""

from __future__ import annotations

import random

import pytest

from mock_services import (
    Always,
    Chance,
    Every,
    From,
    Nth,
    RateLimited,
    Scenario,
    ScenarioError,
    ServerError,
    UnknownScenario,
    UnknownService,
    build,
    list_services,
    on,
)

REQUIRED = {
    "crm": {"happy", "flaky", "throttled", "token-expiry", "drift"},
    "erp": {"happy", "flaky", "drop-after-commit", "conflict"},
}
ALL_NAMED = [(info.name, name) for info in list_services() for name in info.scenarios]
ORDER = {
    "customer_id": "acc_00001",
    "currency": "GBP",
    "lines": [{"sku": "SKU-9", "quantity": 1, "unit_price": "3.00"}],
}


@pytest.mark.parametrize("service_name", sorted(REQUIRED))
def test_required_named_scenarios_exist(service_name) -> None:
    info = next(info for info in list_services() if info.name == service_name)
    assert REQUIRED[service_name] <= set(info.scenarios)


@pytest.mark.parametrize("service_name, scenario", ALL_NAMED, ids=[f"{s}-{n}" for s, n in ALL_NAMED])
def test_every_named_scenario_loads_and_round_trips_as_data(service_name, scenario) -> None:
    service = build(service_name, scenario)
    assert service.scenario.name == scenario
    assert service.scenario.summary
    assert Scenario.from_dict(service.scenario.to_dict()) == service.scenario


def drive(service, send, get_token, requests: int = 30) -> list[tuple[int, tuple[str, ...]]]:
    """A fixed, naive client script: the same script must meet the same faults."""
    token = get_token(service)
    out = []
    for i in range(requests):
        headers = {"Authorization": f"Bearer {token}"}
        if service.name == "crm":
            response = send(service, "GET", "/v1/accounts?limit=5" if i % 3 else "/v1/accounts/acc_00002", headers)
        else:
            response = send(service, "POST", "/v1/orders", {**headers, "Idempotency-Key": f"k{i}"}, ORDER)
        if response.status == 401:
            token = get_token(service)
        out.append((response.status, response.faults))
    return out


@pytest.mark.parametrize("service_name, scenario", ALL_NAMED, ids=[f"{s}-{n}" for s, n in ALL_NAMED])
def test_same_seed_same_journal(service_name, scenario, send, get_token) -> None:
    first, second = build(service_name, scenario, seed=11), build(service_name, scenario, seed=11)
    assert drive(first, send, get_token) == drive(second, send, get_token)
    assert first.journal.render() == second.journal.render()


def test_reset_replays_the_same_schedule(send, get_token) -> None:
    crm = build("crm", "flaky", seed=5)
    once = drive(crm, send, get_token)
    crm.reset()
    assert drive(crm, send, get_token) == once


def test_chance_draws_come_from_the_seed(send) -> None:
    scenario = Scenario("coin", (on("GET /v1/accounts", ServerError(503), when=Chance(0.5)),))

    def pattern(seed: int) -> list[int]:
        crm = build("crm", scenario, seed=seed)
        return [send(crm, "GET", "/v1/accounts").status for _ in range(40)]

    assert pattern(1) == pattern(1)
    assert pattern(1) != pattern(2)
    assert set(pattern(1)) == {401, 503}  # faults come before authentication, like a gateway


@pytest.mark.parametrize(
    "selector, chosen",
    [
        (Nth(2, 3), [2, 3]),
        (Every(4), [4, 8, 12]),
        (From(10), [10, 11, 12]),
        (Always(), list(range(1, 13))),
        (Chance(0.0), []),
        (Chance(1.0), list(range(1, 13))),
    ],
    ids=["nth", "every", "from", "always", "never", "certain"],
)
def test_selectors_pick_the_right_requests(selector, chosen) -> None:
    rng = random.Random(0)
    assert [n for n in range(1, 13) if selector.selects(n, rng)] == chosen


def test_rules_count_only_their_own_route(send, get_token) -> None:
    crm = build("crm", Scenario("t", (on("GET /v1/accounts", RateLimited(1), when=Nth(2)),)))
    token = {"Authorization": f"Bearer {get_token(crm)}"}
    statuses = [
        send(crm, "GET", target, token).status
        for target in ["/v1/accounts/acc_00001", "/v1/accounts", "/v1/accounts/acc_00001", "/v1/accounts"]
    ]
    assert statuses == [200, 200, 200, 429]


def test_graders_build_custom_scenarios_in_code(send) -> None:
    scenario = Scenario("mine", (on("GET /v1/accounts/{id}", ServerError(502), when=Every(2)),))
    crm = build("crm", scenario)
    statuses = [send(crm, "GET", "/v1/accounts/acc_00001").status for _ in range(4)]
    assert statuses == [401, 502, 401, 502]


def test_scenario_targeting_a_missing_route_fails_at_build() -> None:
    with pytest.raises(ScenarioError, match="GET /v1/acounts"):
        build("crm", Scenario("typo", (on("GET /v1/acounts", ServerError()),)))


def test_unknown_names_are_clear_errors() -> None:
    with pytest.raises(UnknownScenario, match="flaky"):
        build("crm", "flakey")
    with pytest.raises(UnknownService):
        build("sap")


@pytest.mark.parametrize(
    "data",
    [
        {"rules": "x"},
        {"rules": [{"faults": [{"type": "Slow"}]}]},
        {"rules": [{"route": "GET /v1/accounts", "faults": []}]},
        {"rules": [{"route": "GET /v1/accounts", "when": {"sometimes": 1}, "faults": [{"type": "Slow"}]}]},
        {"rules": [{"route": "GET /v1/accounts", "when": {"nth": [0]}, "faults": [{"type": "Slow"}]}]},
    ],
    ids=["rules-not-list", "no-route", "no-faults", "unknown-when", "nth-zero"],
)
def test_malformed_scenario_data_is_refused(data) -> None:
    with pytest.raises(ScenarioError):
        Scenario.from_dict(data)
