"""After each check and after solving: what `iclab list` and `iclab solution` tell a trainee."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from graders.trainee import SOLUTION_FOLDER

ROOT = Path(__file__).resolve().parent.parent


def iclab(*args, cwd=None, columns: int = 160):
    env = dict(os.environ, COLUMNS=str(columns))
    return subprocess.run([sys.executable, "-m", "cli", *map(str, args)], cwd=cwd or ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def _row(listing: str, lab_id: str) -> str:
    return next(line for line in listing.splitlines() if line.startswith(lab_id + " "))


def test_list_shows_attempts_best_score_and_what_still_fails(tmp_path):
    ws = tmp_path / "ws"
    assert iclab("start", "map-customer", ws).returncode == 0
    row = _row(iclab("list").stdout, "map-customer")
    assert "in progress" in row and row.split()[-1] == "-"

    flawed = ROOT / "solutions/map-customer/flawed/ignores-timezone/mapper.py"
    shutil.copyfile(flawed, ws / "mapper.py")
    assert "score: 90/100" in iclab("check", ws).stdout
    row = _row(iclab("list").stdout, "map-customer")
    assert "best 90/100" in row and " 1 " in row and row.endswith("AC3")

    state = json.loads((Path(os.environ["ICLAB_STATE_DIR"]) / "state.json").read_text())["labs"]["map-customer"]
    assert state["attempts"] == 1 and state["failing"] == ["AC3 created-at-utc"] and state["best"] == 90

    shutil.copyfile(ROOT / "solutions/map-customer/flawed/naive-phone/mapper.py", ws / "mapper.py")
    iclab("check", "--no-tests", ws)
    row = _row(iclab("list").stdout, "map-customer")
    assert "best 90/100" in row and " 2 " in row and row.endswith("AC7")  # the latest still-failing, the best kept

    shutil.copyfile(ROOT / "solutions/map-customer/reference/mapper.py", ws / "mapper.py")
    iclab("check", ws)
    row = _row(iclab("list").stdout, "map-customer")
    assert "best 100/100" in row and " 3 " in row and "iclab solution" in row
    assert "not started" in _row(iclab("list").stdout, "csv-batch")


def test_solution_says_what_is_left_until_the_lab_scores_full_marks(tmp_path):
    ws = tmp_path / "ws"
    iclab("start", "map-customer", ws)
    early = iclab("solution", "map-customer")
    assert early.returncode == 0 and "not checked yet" in early.stdout and "def map_account" not in early.stdout

    shutil.copyfile(ROOT / "solutions/map-customer/flawed/ignores-timezone/mapper.py", ws / "mapper.py")
    iclab("check", "--no-tests", ws)
    left = iclab("solution", "map-customer").stdout
    assert "your best is 90/100 after 1 check" in left and "AC3 created-at-utc" in left
    assert "def map_account" not in left and not (ws / SOLUTION_FOLDER).exists()


def test_solution_shows_the_reference_beside_the_learners_file_once_solved(tmp_path):
    ws = tmp_path / "ws"
    iclab("start", "map-customer", ws)
    reference = ROOT / "solutions/map-customer/reference/mapper.py"
    mine = reference.read_text().replace("def map_batch(", "# my own comment, not in the reference\ndef map_batch(")
    (ws / "mapper.py").write_text(mine)
    assert "score: 100/100" in iclab("check", "--no-tests", ws).stdout

    shown = iclab("solution", "map-customer", columns=160)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("yours: mapper.py") and "reference: mapper.py" in lines[0]
    assert any("my own comment" in line and line.rstrip().endswith("<") for line in lines)  # only in mine
    assert any("def map_batch(" in line and line.count("def map_batch(") == 2 for line in lines)  # aligned, beside
    assert "solved (100/100)" in lines[-1]
    assert (ws / SOLUTION_FOLDER / "mapper.py").read_bytes() == reference.read_bytes()


def test_the_written_reference_changes_neither_the_visible_tests_nor_the_submission(tmp_path):
    # mapping-tests' reference is test_mapper.py: in a folder pytest collected, it would clash with the learner's
    ws = tmp_path / "ws"
    iclab("start", "mapping-tests", ws)
    shutil.copyfile(ROOT / "solutions/mapping-tests/reference/test_mapper.py", ws / "test_mapper.py")
    before = iclab("check", ws).stdout
    assert "score: 100/100" in before
    assert iclab("solution", "mapping-tests").returncode == 0
    assert (ws / SOLUTION_FOLDER / "test_mapper.py").is_file()
    after = iclab("check", ws).stdout
    assert before.splitlines()[0].split("(")[0] == after.splitlines()[0].split("(")[0]  # same counts
    packed = iclab("submit", ws, "-o", tmp_path / "s.zip")
    assert packed.returncode == 0, packed.stderr
    with zipfile.ZipFile(tmp_path / "s.zip") as zf:
        assert sorted(zf.namelist()) == ["iclab-submission.json", "mapping-tests/test_mapper.py"]


def test_solution_for_another_labs_workspace_is_refused(tmp_path):
    ws = tmp_path / "ws"
    iclab("start", "map-customer", ws)
    refused = iclab("solution", "csv-batch", ws)
    assert refused.returncode == 2 and "is a map-customer workspace, not csv-batch" in refused.stderr


def test_check_grades_what_submit_would_hand_in(tmp_path):
    ws = tmp_path / "ws"
    iclab("start", "map-customer", ws)
    reference = (ROOT / "solutions/map-customer/reference/mapper.py").read_text()
    (ws / "phone_rules.py").write_text("TRUNK = '0'\n")           # beside mapper.py: handed in
    (ws / "helpers").mkdir()
    (ws / "helpers" / "__init__.py").write_text("")
    (ws / "helpers" / "unused.py").write_text("X = 1\n")         # in a folder: not handed in
    (ws / "mapper.py").write_text(reference + "\nimport phone_rules  # noqa\n")
    done = iclab("check", ws).stdout
    assert "score: 100/100" in done
    assert "note: helpers/unused.py is not handed in by `iclab submit`" in done
    assert "phone_rules.py is not handed in" not in done

    (ws / "mapper.py").write_text(reference + "\nimport helpers.unused  # noqa\n")
    done = iclab("check", ws).stdout
    assert "visible tests: 12 passed, 0 failed" in done       # pytest, in the workspace, finds the folder...
    assert "score: 0/100" in done and "helpers" in done       # ...a submission would not hold it
