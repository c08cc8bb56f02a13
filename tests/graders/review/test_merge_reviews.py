"""Two reviewers score one cohort from their own copies; merge joins them and flags disagreements beyond one level."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from graders import gradebook
from graders.review.journal import FILE_NAME, Entry, ReviewJournal

ROOT = Path(__file__).resolve().parents[3]
MAP = "map-customer"


def iclab(*args):
    return subprocess.run([sys.executable, "-m", "cli", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def _copy(graded_cohort, where: Path, reviewer: str | None, *levels) -> Path:
    shutil.copytree(graded_cohort, where)
    if reviewer:
        journal = ReviewJournal(where / FILE_NAME)
        for learner, item, level in levels:
            journal.append(Entry(learner, MAP, item, level, f"{reviewer} on {item}", reviewer))
        journal.close()
    return where


def _review_rows(out: Path) -> dict:
    con = duckdb.connect(str(out / gradebook.DB_NAME), read_only=True)
    try:
        rows = con.execute("SELECT learner, item_id, status, level, points, reviewers, settled_by FROM review_results"
                           ).fetchall()
        learners = dict(con.execute("SELECT learner, total_score FROM learners").fetchall())
    finally:
        con.close()
    return {(r[0], r[1]): r[2:] for r in rows}, learners


@pytest.fixture
def copies(graded_cohort, tmp_path):
    alice = _copy(graded_cohort, tmp_path / "alice", "alice", ("ana", "idempotent-creates", 0), ("ana", "logging", 3),
                  ("cy", "idempotent-creates", 1))
    bob = _copy(graded_cohort, tmp_path / "bob", "bob", ("ana", "idempotent-creates", 4), ("ana", "logging", 2),
                ("bob", "logging", 3))
    return alice, bob


def test_merge_joins_two_reviewers_and_flags_what_is_more_than_a_level_apart(copies, tmp_path):
    merged = tmp_path / "merged"
    result = iclab("merge", *copies, "--out", merged)
    assert result.returncode == 0, result.stderr
    assert "merged 2 folders (1 shard, reviewers' copies)" in result.stdout
    assert "reviews by alice, bob: 1 rubric item where reviewers disagree by more than one level" in result.stdout
    assert "disputed: ana map-customer idempotent-creates (alice 0, bob 4)" in result.stdout
    rows, learners = _review_rows(merged)
    assert rows[("ana", "idempotent-creates")] == ("disputed", None, None, "alice 0, bob 4", "")
    assert rows[("ana", "logging")] == ("reviewed", 2.5, 6.25, "alice 3, bob 2", "")  # within a level: the mean
    assert rows[("cy", "idempotent-creates")][:3] == ("reviewed", 1, 2.5)  # one reviewer only: theirs
    assert learners["ana"] is None  # a disputed item is not final: no total, never a 0
    assert sorted(p.name for p in (merged / "reviews").iterdir()) == ["01-alice.jsonl", "02-bob.jsonl"]
    assert (merged / "journal.jsonl").is_file()  # reviewable and rebuildable like any batch output

    # A level entered in the merged folder settles the dispute.
    journal = ReviewJournal(merged / FILE_NAME)
    journal.append(Entry("ana", MAP, "idempotent-creates", 3, "moderated", "carol"))
    journal.close()
    gradebook.build(merged, [merged / "journal.jsonl"])
    rows, learners = _review_rows(merged)
    assert rows[("ana", "idempotent-creates")] == ("reviewed", 3, 7.5, "alice 0, bob 4", "carol")
    assert learners["ana"] == 100 + 7.5 + 6.25
    record = next(r for r in json.loads((merged / "gradebook.json").read_text()) if r["learner"] == "ana")
    assert {r["id"]: r["settled_by"] for r in record["reviews"]}["idempotent-creates"] == "carol"

    # Merging again (the reviewers went on) keeps the moderation and replaces the imported copies.
    again = iclab("merge", *copies, "--out", merged)
    assert again.returncode == 0, again.stderr
    assert "0 rubric items where reviewers disagree" in again.stdout


def test_copies_of_one_shard_are_merged_only_as_reviewed_copies(graded_cohort, copies, tmp_path):
    plain = _copy(graded_cohort, tmp_path / "plain", None)
    result = iclab("merge", copies[0], plain, "--out", tmp_path / "m1")
    assert result.returncode == 2 and "given twice" in result.stderr and "reviews.jsonl" in result.stderr
    assert not (tmp_path / "m1").exists()
    result = iclab("merge", copies[0], copies[0], "--out", tmp_path / "m2")
    assert result.returncode == 2 and "given twice" in result.stderr
    lines = (copies[1] / "journal.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (copies[1] / "journal.jsonl").write_text("".join(lines[1:]), encoding="utf-8")
    result = iclab("merge", *copies, "--out", tmp_path / "m3")
    assert result.returncode == 2 and "different gradings" in result.stderr


def test_two_copies_reviewed_under_one_name_count_as_one_reviewer_with_a_note(graded_cohort, tmp_path):
    one = _copy(graded_cohort, tmp_path / "one", "root", ("ana", "logging", 0))
    two = _copy(graded_cohort, tmp_path / "two", "root", ("ana", "logging", 4))
    result = iclab("merge", one, two, "--out", tmp_path / "m")
    assert result.returncode == 0, result.stderr
    assert "same name 'root'" in result.stderr and "--reviewer NAME" in result.stderr
    rows, _ = _review_rows(tmp_path / "m")
    assert rows[("ana", "logging")][:3] == ("reviewed", 4, 10)  # the latest level wins, no false dispute
