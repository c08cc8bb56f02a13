"""Test helpers: a stubbed CRM on a virtual clock, so the tests run offline and never really wait.

``crm(scenario)`` routes every request to ``config["base_url"]`` through the
iclab mock CRM (the same fake system ``iclab check`` talks to) with the
``responses`` library, and points ``time.sleep``, ``time.time``,
``time.monotonic`` and ``datetime.datetime.now`` at the mock's virtual clock:
sleeping 30 seconds moves the clock 30 seconds and returns at once.
Scenarios are the mock's named ones ("happy", "flaky", "throttled",
"token-expiry", "slow", "growing", ...) or your own ``Scenario`` objects.
"""
from __future__ import annotations

import datetime
import json
import time
from pathlib import Path

import pytest
import responses

from mock_services import VirtualClock, build, register_responses

CONFIG = json.loads((Path(__file__).parent / "fixtures" / "config.json").read_text(encoding="utf-8"))


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
def crm(monkeypatch):
    """``crm(scenario="happy", seed=0)``: start the stubbed CRM and return it (its .journal is the evidence)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as stubs:

        def start(scenario="happy", seed=0):
            service = build("crm", scenario, seed=seed)
            register_responses(stubs, service, CONFIG["base_url"])
            use_virtual_time(monkeypatch, service.clock)
            return service

        yield start
