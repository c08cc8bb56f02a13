"""The public API: list_services, build, and what the package exports."""

from __future__ import annotations

import pytest

import mock_services
from mock_services import MockService, ServiceInfo, VirtualClock, build, list_services
from mock_services.services import CrmService, ErpService


def test_list_services_describes_each_system() -> None:
    infos = {info.name: info for info in list_services()}
    assert set(infos) == {"crm", "erp"}
    for info in infos.values():
        assert isinstance(info, ServiceInfo)
        assert info.summary and "happy" in info.scenarios
        assert info.credentials is not None and info.credentials.client_id and info.credentials.client_secret
        assert info.default_port > 1024
    assert len({info.default_port for info in infos.values()}) == len(infos)


def test_build_gives_fresh_services_with_their_accessors() -> None:
    clock = VirtualClock()
    crm, erp = build("crm", seed=1, clock=clock), build("erp", "flaky", clock=clock)
    assert isinstance(crm, CrmService) and isinstance(erp, ErpService)
    assert crm.clock is erp.clock is clock  # one timeline for every mock in a grading run
    assert len(crm.accounts()) >= 40 and erp.orders() == ()
    assert build("crm").journal is not build("crm").journal


def test_reset_keeps_the_clock_but_rebuilds_state(send, get_token) -> None:
    crm = build("crm", "growing")
    token = get_token(crm)
    for _ in range(2):
        send(crm, "GET", "/v1/accounts", {"Authorization": f"Bearer {token}"})
    grown = len(crm.accounts())
    crm.clock.advance(5)
    now = crm.clock.now()
    crm.reset()
    assert len(crm.accounts()) == grown - 3 and len(crm.journal) == 0
    assert crm.clock.now() == now


@pytest.mark.parametrize("name", mock_services.__all__)
def test_everything_in_all_is_importable(name) -> None:
    assert getattr(mock_services, name) is not None


def test_mock_service_is_a_plain_handler() -> None:
    assert callable(MockService.handle)
    assert {"build", "list_services", "serve", "serve_forever", "register_responses", "VirtualClock"} <= set(
        mock_services.__all__
    )
