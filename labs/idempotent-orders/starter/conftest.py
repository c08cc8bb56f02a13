"""Test helpers: a stubbed ERP on a virtual clock, so the tests run offline and never really wait.

``erp(scenario)`` routes every request to ``config["base_url"]`` through the
iclab mock ERP (the same fake system ``iclab check`` talks to) with the
``responses`` library, and points ``time.sleep``, ``time.time``,
``time.monotonic`` and ``datetime.datetime.now`` at the mock's virtual clock.
Scenarios are the mock's named ones ("happy", "flaky", "drop-after-commit",
"conflict") or your own ``Scenario`` objects.
"""
from __future__ import annotations

import copy
import datetime
import json
import time
from pathlib import Path

import pytest
import responses

from mock_services import VirtualClock, build, register_responses

FIXTURES = Path(__file__).parent / "fixtures"
CONFIG = json.loads((FIXTURES / "config.json").read_text(encoding="utf-8"))


def use_virtual_time(monkeypatch: pytest.MonkeyPatch, clock: VirtualClock) -> None:
    """Make time.sleep/time.time/time.monotonic/datetime.now follow ``clock``."""

    class VirtualDatetime(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls.fromtimestamp(clock.now(), tz)

    monkeypatch.setattr(time, "sleep", clock.sleep)
    monkeypatch.setattr(time, "time", clock.now)
    monkeypatch.setattr(time, "monotonic", clock.monotonic)
    monkeypatch.setattr(datetime, "datetime", VirtualDatetime)


@pytest.fixture
def config() -> dict:
    """A fresh copy of fixtures/config.json."""
    return dict(CONFIG)


@pytest.fixture
def orders() -> list[dict]:
    """A fresh copy of fixtures/orders.json."""
    return json.loads((FIXTURES / "orders.json").read_text(encoding="utf-8"))


@pytest.fixture
def feed() -> dict:
    """fixtures/messages.json: {"messages": [...], "expected": {...}}."""
    return copy.deepcopy(json.loads((FIXTURES / "messages.json").read_text(encoding="utf-8")))


@pytest.fixture
def erp(monkeypatch):
    """``erp(scenario="happy", seed=0)``: start the stubbed ERP and return it (its .journal is the evidence)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as stubs:

        def start(scenario="happy", seed=0):
            service = build("erp", scenario, seed=seed)
            register_responses(stubs, service, CONFIG["base_url"])
            use_virtual_time(monkeypatch, service.clock)
            return service

        yield start
