"""Batch grading: parallel, resumable after SIGKILL, sharded and merged, hostile-proof."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[3]
SOL = ROOT / "solutions" / "map-customer"


def iclab(*args, **kw):
    return subprocess.run([sys.executable, "-m", "cli", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, **kw)


def _cohort(root: Path, n: int) -> dict[str, float]:
    """n learners cycling through the reference, every flaw and two hostile submissions; returns expected scores."""
    kinds = [("reference", SOL / "reference")] + [(f"flawed-{p.name}", p) for p in sorted((SOL / "flawed").iterdir())]
    expected = {"reference": 100.0, "flawed-ignores-timezone": 90.0, "flawed-mutates-input": 95.0}
    hostile = {"hostile-exit": "import os\nos._exit(0)\n", "hostile-loop": "while True:\n    pass\n"}
    out = {}
    for i in range(n):
        name = f"learner{i:03d}"
        dest = root / name / "map-customer"
        dest.mkdir(parents=True)
        j = i % (len(kinds) + len(hostile))
        if j < len(kinds):
            kind, src = kinds[j]
            shutil.copyfile(src / "mapper.py", dest / "mapper.py")
        else:
            kind = list(hostile)[j - len(kinds)]
            (dest / "mapper.py").write_text(hostile[kind])
            expected[kind] = 0.0
        if kind in expected:
            out[name] = expected[kind]
    return out


def _rows(db: Path):
    con = duckdb.connect(str(db), read_only=True)
    try:
        labs = con.execute("SELECT learner, lab, score, max_score, problems FROM lab_results ORDER BY 1, 2").fetchall()
        checks = con.execute("SELECT learner, lab, check_no, check_id, status, points, reason, evidence "
                             "FROM check_results ORDER BY 1, 2, 3").fetchall()
        return labs, checks
    finally:
        con.close()


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("cohort")
    expected = _cohort(root, 24)
    return root, expected


@pytest.fixture(scope="module")
def full_run(cohort, tmp_path_factory):
    root, _ = cohort
    out = tmp_path_factory.mktemp("full")
    result = iclab("batch", root, "--out", out, "--jobs", "2")
    assert result.returncode == 0, result.stderr
    return out


def test_batch_grades_everyone_and_hostile_submissions_harm_no_one(cohort, full_run):
    _, expected = cohort
    labs, _ = _rows(full_run / "gradebook.duckdb")
    scores = {sub: score for sub, lab, score, _, _ in labs}
    assert len(scores) == 24
    for name, score in expected.items():
        assert scores[name] == score, name


def test_exports_are_written(full_run):
    assert (full_run / "gradebook.csv").read_text().startswith("learner,lab,status,reason,score")
    doc = json.loads((full_run / "gradebook.json").read_text())
    assert len(doc) == 24 and doc[0]["labs"][0]["schema"] == "iclab/result/v1" and doc[0]["status"] == "graded"
    assert len(list((full_run / "junit").glob("*.xml"))) == 24


def test_gradebook_query(full_run):
    result = iclab("gradebook", "query", "SELECT count(*) AS n FROM learners WHERE percent = 100", "--out", full_run, "--csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == "3"
    bad = iclab("gradebook", "query", "SELEC nonsense", "--out", full_run)
    assert bad.returncode == 2 and "query failed" in bad.stderr


def test_a_killed_run_resumes_without_regrading_and_matches(cohort, full_run, tmp_path):
    root, _ = cohort
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "cli", "batch", str(root), "--out", str(out), "--jobs", "2"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    journal = out / "journal.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # poll the journal, the run's own progress record
        if journal.is_file() and journal.read_bytes().count(b"\n") >= 6:
            break
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = journal.read_bytes().count(b"\n")
    assert 0 < before < 24, "the run must be killed mid-way for this test to mean anything"

    import tempfile

    left = list(Path(tempfile.gettempdir()).glob(f"iclab-batch-{proc.pid}-*"))
    assert left, "kill -9 leaves the run's scratch folder behind (else this test proves no sweep)"
    resumed = iclab("batch", root, "--out", out, "--jobs", "2")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{before} already in the journal" in resumed.stdout
    # The resumed run says so before it starts, and counts only what is left.
    assert f"resuming: {before} gradings already in the journal, {24 - before} left to grade" in resumed.stderr
    assert f"graded {24 - before}/{24 - before}" in resumed.stderr
    assert not any(p.exists() for p in left), "the dead run's scratch folder was not cleaned up"
    units = [json.loads(line)["unit"] for line in journal.read_text().splitlines()]
    assert len(units) == len(set(units)) == 24, "nothing graded twice"
    assert _rows(out / "gradebook.duckdb") == _rows(full_run / "gradebook.duckdb")


def test_shards_split_deterministically_and_merge(cohort, full_run, tmp_path):
    root, _ = cohort
    outs = []
    for k in (1, 2, 3):
        out = tmp_path / f"shard{k}"
        result = iclab("batch", root, "--out", out, "--shard", f"{k}/3", "--jobs", "2")
        assert result.returncode == 0, result.stderr
        outs.append(out)
    units = [set(json.loads((o / "run.json").read_text())["units"]) for o in outs]
    assert not (units[0] & units[1]) and not (units[1] & units[2]) and sum(map(len, units)) == 24

    merged = tmp_path / "merged"
    result = iclab("merge", *outs, "--out", merged)
    assert result.returncode == 0, result.stderr
    assert _rows(merged / "gradebook.duckdb") == _rows(full_run / "gradebook.duckdb")

    missing = iclab("merge", outs[0], outs[2], "--out", tmp_path / "m2")
    assert missing.returncode == 2 and "missing shard 2/3" in missing.stderr
    twice = iclab("merge", outs[0], outs[0], outs[1], outs[2], "--out", tmp_path / "m3")
    assert twice.returncode == 2 and "given twice" in twice.stderr


def test_resume_with_other_arguments_is_refused(cohort, full_run):
    root, _ = cohort
    result = iclab("batch", root, "--out", full_run, "--shard", "1/2")
    assert result.returncode == 2 and "other arguments" in result.stderr


def test_bad_shard_and_missing_folder_are_usage_errors(tmp_path):
    assert "expected K/N" in iclab("batch", tmp_path, "--shard", "x").stderr
    assert iclab("batch", tmp_path / "nope").returncode == 2


def test_packed_and_hostile_zips_in_one_batch(tmp_path):
    import zipfile

    root = tmp_path / "subs"
    root.mkdir()
    ws = tmp_path / "ws"
    assert iclab("start", "map-customer", ws).returncode == 0
    shutil.copyfile(SOL / "reference" / "mapper.py", ws / "mapper.py")
    packed = iclab("submit", ws, "-o", root / "alice.zip")
    assert packed.returncode == 0, packed.stderr
    with zipfile.ZipFile(root / "mallory.zip", "w") as zf:
        zf.writestr("iclab-submission.json", json.dumps({"schema": "iclab/submission/v1", "labs": ["map-customer"]}))
        zf.writestr("../../escaped.py", "print('out')\n")
    (root / "bob" / "map-customer").mkdir(parents=True)
    shutil.copyfile(SOL / "flawed" / "ignores-timezone" / "mapper.py", root / "bob" / "map-customer" / "mapper.py")

    out = tmp_path / "out"
    result = iclab("batch", root, "--out", out, "--labs", "map-customer")
    assert result.returncode == 0, result.stderr
    labs, _ = _rows(out / "gradebook.duckdb")
    scores = {sub: (score, problems) for sub, _, score, _, problems in labs}
    assert scores["alice"][0] == 100 and scores["bob"][0] == 90
    assert scores["mallory"][0] == 0 and "refused" in scores["mallory"][1]
    # "refused" said once, with the learner's file name, never a path of the grading machine.
    assert scores["mallory"][1].count("refused") == 1 and scores["mallory"][1].startswith("mallory.zip was refused: ")
    assert str(tmp_path) not in scores["mallory"][1] and "/tmp" not in scores["mallory"][1]
    assert not (tmp_path / "escaped.py").exists() and not (root.parent / "escaped.py").exists()


@pytest.mark.parametrize("mode, says", [("process", "process isolation only"), ("namespace", "Linux namespaces")])
def test_batch_says_which_sandbox_grades_the_run(tmp_path, monkeypatch, mode, says):
    from graders.sandbox import isolation

    if mode == "namespace" and isolation.detect() != isolation.Isolation.NAMESPACE:
        pytest.skip("this machine has no usable namespaces")
    monkeypatch.setenv("ICLAB_SANDBOX", mode)
    (tmp_path / "subs").mkdir()
    result = iclab("batch", tmp_path / "subs", "--out", tmp_path / "out")
    assert f"sandbox: {says}" in result.stderr
