"""The visible-test line tells the truth, fast: no lying conftest, no foreign config, no auto-loaded plugins."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from graders import catalog
from graders.visible_tests import run_visible_tests, set_aside
from graders.workspace import assemble

ROOT = Path(__file__).resolve().parents[2]

LIAR = '''import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    outcome.get_result().outcome = "passed"   # every test "passes"
'''

NO_PLUGINS = '''import sys


def test_no_plugin_was_loaded():
    loaded = [m for m in ("_hypothesis_pytestplugin", "schemathesis", "anyio.pytest_plugin") if m in sys.modules]
    assert loaded == []
'''


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "ICLAB_"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _plain_pytest(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=folder, env=_env(),
                          capture_output=True, text=True, timeout=300)


def _workspace(tmp_path: Path, lab_id: str) -> Path:
    return assemble(catalog.get_lab(lab_id), tmp_path / lab_id)


def test_a_lying_conftest_does_not_turn_failures_into_passes(tmp_path):
    lab = catalog.get_lab("map-customer")
    ws = _workspace(tmp_path, "map-customer")
    (ws / "conftest.py").write_text(LIAR)
    lied = _plain_pytest(ws)
    assert "12 passed" in lied.stdout, lied.stdout[-500:]  # the conftest really lies to plain pytest

    run = run_visible_tests(ws, lab=lab)
    assert (run.passed, run.failed) == (0, 12), run
    assert any("conftest.py is not the starter's" in note and "no conftest.py" in note for note in run.notes)
    assert (ws / "conftest.py").read_text() == LIAR  # the learner's file is left alone


def test_a_changed_starter_conftest_is_replaced_by_the_starters_own(tmp_path):
    lab = catalog.get_lab("api-sync")
    ws = _workspace(tmp_path, "api-sync")
    assert set_aside(ws, lab) == []
    honest = run_visible_tests(ws, lab=lab)
    assert honest.notes == () and honest.passed == 0 and honest.failed > 0 and honest.errors == 0, honest

    (ws / "conftest.py").write_text((ws / "conftest.py").read_text() + "\n" + LIAR)
    assert set_aside(ws, lab) == ["conftest.py"]
    run = run_visible_tests(ws, lab=lab)
    # the starter's fixtures (crm, config) still work: failures, not errors, and as many as before
    assert (run.passed, run.failed, run.errors) == (0, honest.failed, 0), run
    assert any("the starter's conftest.py instead" in note for note in run.notes)


def test_a_conftest_in_a_parent_folder_is_not_loaded(tmp_path):
    (tmp_path / "conftest.py").write_text(LIAR)
    ws = _workspace(tmp_path / "inner", "map-customer")
    run = run_visible_tests(ws, lab=catalog.get_lab("map-customer"))
    assert (run.passed, run.failed) == (0, 12), run


@pytest.mark.parametrize("name, text", [
    ("pytest.ini", "[pytest]\naddopts = -p no:junitxml\n"),
    ("pyproject.toml", "[tool.pytest.ini_options]\naddopts = '-p no:junitxml'\n"),
    ("tox.ini", "[pytest]\naddopts = --collect-only\n"),
])
def test_the_workspaces_own_pytest_configuration_is_ignored(tmp_path, name, text):
    ws = _workspace(tmp_path, "map-customer")
    (ws / "pytest.ini").unlink()
    (ws / name).write_text(text)
    run = run_visible_tests(ws, lab=catalog.get_lab("map-customer"))
    assert (run.passed, run.failed) == (0, 12), run


def test_no_installed_plugin_is_auto_loaded(tmp_path):
    ws = _workspace(tmp_path, "map-customer")
    (ws / "test_plugins.py").write_text(NO_PLUGINS)
    run = run_visible_tests(ws, lab=catalog.get_lab("map-customer"))
    assert (run.passed, run.failed) == (1, 12), run
    # the same test fails under plain pytest without the starter's ini: it would catch autoloading
    (ws / "pytest.ini").unlink()
    assert "test_no_plugin_was_loaded" in _plain_pytest(ws).stdout


def test_plain_pytest_in_a_started_workspace_loads_no_plugin(tmp_path):
    ws = _workspace(tmp_path, "api-sync")
    (ws / "test_plugins.py").write_text(NO_PLUGINS)
    shutil.copyfile(ROOT / "solutions/api-sync/reference/sync.py", ws / "sync.py")
    done = _plain_pytest(ws)
    assert done.returncode == 0 and " passed" in done.stdout, done.stdout[-1500:]  # responses works without plugins


@pytest.mark.parametrize("lab_id", catalog.lab_ids())
def test_every_starter_turns_plugin_autoload_off(lab_id):
    ini = (catalog.get_lab(lab_id).starter / "pytest.ini").read_text()
    assert "addopts = --disable-plugin-autoload" in ini and "minversion = 8.4" in ini


def test_a_pytest_module_in_the_workspace_does_not_shadow_pytest(tmp_path):
    ws = _workspace(tmp_path, "map-customer")
    (ws / "pytest.py").write_text("raise SystemExit('the workspace pytest.py ran')\n")
    run = run_visible_tests(ws, lab=catalog.get_lab("map-customer"))
    assert (run.passed, run.failed) == (0, 12), run


def test_a_test_module_loading_plugins_is_named(tmp_path):
    ws = _workspace(tmp_path, "map-customer")
    (ws / "test_more.py").write_text("pytest_plugins = []\n\ndef test_x():\n    assert True\n")
    run = run_visible_tests(ws, lab=catalog.get_lab("map-customer"))
    assert run.passed == 1 and any("test_more.py loads pytest plugins" in n for n in run.notes), run
