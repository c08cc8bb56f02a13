"""Shared fixtures: every test gets its own learner state folder and never touches the user's."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from graders import catalog
from graders.sandbox import isolation

# Every isolation mode this machine supports: hostile-submission tests run in each.
ISOLATION_MODES = [isolation.Isolation.PROCESS] + (
    [isolation.Isolation.NAMESPACE] if isolation.detect() == isolation.Isolation.NAMESPACE else [])

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory, monkeypatch):
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("ICLAB_STATE_DIR", str(state))
    monkeypatch.setenv("NO_COLOR", "1")
    return state


@pytest.fixture
def map_lab():
    return catalog.get_lab("map-customer")


@pytest.fixture
def reference_copy(tmp_path, map_lab):
    """A writable copy of map-customer's reference solution."""
    dest = tmp_path / "submission"
    shutil.copytree(catalog.reference(map_lab), dest)
    return dest


@pytest.fixture(params=ISOLATION_MODES)
def mode(request, monkeypatch):
    """Run the test once per sandbox isolation mode (forced through ICLAB_SANDBOX)."""
    monkeypatch.setenv("ICLAB_SANDBOX", request.param)
    isolation.detect.cache_clear()
    yield request.param
    isolation.detect.cache_clear()
