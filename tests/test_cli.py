"""The command line end to end: what a trainee, candidate and instructor type, and its exit codes."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def iclab(*args, cwd=None, env_extra=None):
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "cli", *map(str, args)], cwd=cwd or ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_help_lists_every_command():
    out = iclab("--help").stdout
    for command in ("list", "start", "check", "hint", "grade", "verify", "demo", "batch", "merge", "gradebook",
                    "export", "submit", "gradescope", "mock"):
        assert command in out


def test_every_command_has_help_and_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    from cli import cli
    for name, command in cli.commands.items():
        assert command.help, f"{name} has no help text"
        assert f"iclab {name}" in readme, f"README does not mention `iclab {name}`"


def test_trainee_flow_start_check_hint_list(tmp_path):
    ws = tmp_path / "ws"
    started = iclab("start", "map-customer", ws)
    assert started.returncode == 0, started.stderr
    assert (ws / "mapper.py").is_file() and (ws / "fixtures" / "accounts.json").is_file()
    assert (ws / "README.md").is_file()

    again = iclab("start", "map-customer", ws)
    assert again.returncode == 2 and "already holds your map-customer work" in again.stderr

    listed = iclab("list").stdout
    assert "map-customer" in listed and "in progress" in listed

    checked = iclab("check", ws)
    assert checked.returncode == 0, checked.stderr
    assert "visible tests: 0 passed" in checked.stdout
    assert "score: 0/100" in checked.stdout and "NotImplementedError" in checked.stdout

    shutil.copyfile(ROOT / "solutions/map-customer/reference/mapper.py", ws / "mapper.py")
    checked = iclab("check", ws)
    assert "score: 100/100" in checked.stdout
    assert "best 100/100" in iclab("list").stdout

    first = iclab("hint", "map-customer").stdout
    second = iclab("hint", "map-customer").stdout
    assert first.startswith("hint 1 of") and second.startswith("hint 2 of")
    iclab("hint", "map-customer", "--reset")
    assert iclab("hint", "map-customer").stdout.startswith("hint 1 of")


def test_start_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "mine.txt").write_text("learner work")
    result = iclab("start", "map-customer", tmp_path)
    assert result.returncode == 2 and "not empty" in result.stderr
    assert (tmp_path / "mine.txt").read_text() == "learner work"


def test_check_outside_a_workspace_is_a_clear_error(tmp_path):
    result = iclab("check", tmp_path)
    assert result.returncode == 2
    assert "not an iclab workspace" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("fmt, probe", [("json", '"schema": "iclab/result/v1"'), ("junit", "<testsuites"),
                                        ("gradescope", '"execution_time"'), ("text", "score: 90/100")])
def test_grade_formats(fmt, probe):
    result = iclab("grade", "map-customer", "solutions/map-customer/flawed/ignores-timezone", "--format", fmt)
    assert result.returncode == 0, result.stderr
    assert probe in result.stdout


def test_grade_writes_output_file_and_fail_under(tmp_path):
    out = tmp_path / "r.json"
    result = iclab("grade", "map-customer", "solutions/map-customer/flawed/ignores-timezone",
                   "--format", "json", "--output", out, "--fail-under", 95)
    assert result.returncode == 1 and "under --fail-under 95" in result.stderr
    assert json.loads(out.read_text())["score"] == 90
    ok = iclab("grade", "map-customer", "solutions/map-customer/reference", "--fail-under", 95)
    assert ok.returncode == 0


@pytest.mark.parametrize("args, message", [
    (["grade", "no-such-lab", "."], "unknown lab 'no-such-lab'"),
    (["grade", "map-customer", "does/not/exist"], "no such file or folder"),
    (["start", "nope"], "unknown lab"),
    (["hint", "nope"], "unknown lab"),
    (["grade", "map-customer", "README.md"], "not a zip file"),
])
def test_usage_errors_exit_2_with_one_line(args, message):
    result = iclab(*args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_grading_a_submission_without_the_file_is_a_verdict_not_a_crash(tmp_path):
    result = iclab("grade", "map-customer", tmp_path, "--format", "json")
    assert result.returncode == 0
    doc = json.loads(result.stdout)
    assert doc["score"] == 0 and "has no mapper.py" in doc["checks"][0]["reason"]


def _broken_home(tmp_path, manifest: str) -> Path:
    home = tmp_path / "home"
    shutil.copytree(ROOT / "labs" / "map-customer", home / "labs" / "map-customer")
    (home / "labs" / "map-customer" / "lab.toml").write_text(manifest)
    return home


@pytest.mark.parametrize("manifest, field", [
    ('id = "map-customer"\ntitle = "x"\n', "summary"),
    ((ROOT / "labs/map-customer/lab.toml").read_text().replace("minutes = 60", 'minutes = "sixty"'), "minutes"),
    ((ROOT / "labs/map-customer/lab.toml").read_text().replace('difficulty = "foundation"', 'difficulty = "easy"'), "difficulty"),
    ("id = [broken", "invalid TOML"),
])
def test_malformed_manifest_is_one_line_naming_file_and_field(tmp_path, manifest, field):
    home = _broken_home(tmp_path, manifest)
    result = iclab("list", env_extra={"ICLAB_HOME": str(home)})
    assert result.returncode == 2
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in line
    assert "labs/map-customer/lab.toml" in line and field in line


def test_verify_and_demo():
    verified = iclab("verify", "map-customer", "--skip-visible")
    assert verified.returncode == 0, verified.stdout
    assert "flaw:ignores-timezone: loses exactly created-at-utc" in verified.stdout
    demo = iclab("demo", "--lab", "map-customer")
    assert demo.returncode == 0
    assert "reference" in demo.stdout and "100/100" in demo.stdout and "flawed/ignores-timezone" in demo.stdout


def test_mock_list_and_a_bad_mock_name():
    listed = iclab("mock", "list")
    assert listed.returncode == 0
    assert "crm" in listed.stdout and "erp" in listed.stdout and "throttled" in listed.stdout
    bad = iclab("mock", "serve", "nosuch")
    assert bad.returncode == 2 and "nosuch" in bad.stderr and "Traceback" not in bad.stderr


def test_batch_help_states_the_jobs_default_it_uses():
    from graders.batch.runner import default_jobs

    out = " ".join(iclab("batch", "--help").stdout.split())
    assert "two per core" in out and f"{default_jobs()} on this machine" in out
    assert "the machine's cores" not in out


def test_the_readme_labs_table_agrees_with_each_lab_toml():
    from graders import catalog

    readme = (ROOT / "README.md").read_text()
    import re

    rows = {m.group(1): int(m.group(2))
            for m in re.finditer(r"^\| `([a-z0-9-]+)` \|[^|]*\|[^|]*\| (\d+) \|", readme, flags=re.M)}
    labs = {lab.id: lab.minutes for lab in catalog.all_labs()}
    assert rows == labs, "README's Labs table (minutes) disagrees with labs/*/lab.toml"


@pytest.mark.parametrize("args, message", [
    (["gradebook", "query", ""], "give one SQL query"),
    (["gradebook", "query", "SELECT 1", "--out", "no/such/folder"], "no gradebook here"),
    (["batch", "no/such/folder"], "no such folder"),
])
def test_instructor_usage_errors_exit_2_with_one_line(args, message):
    result = iclab(*args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
