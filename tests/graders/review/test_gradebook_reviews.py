"""Reviewed points in the gradebook: their own rows, apart from and together with the automatic ones, in every output."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

from pathlib import Path

import duckdb
import pytest
from lxml import etree, html as lhtml

from graders import gradebook
from graders.batch.journal import read_entries
from graders.review.journal import FILE_NAME, Entry, ReviewJournal

ROOT = Path(__file__).resolve().parents[3]


def _review(out, *levels, reviewer="alice"):
    """Append (learner, lab, item, level, comment) entries as ``reviewer``, then rebuild the gradebook."""
    journal = ReviewJournal(out / FILE_NAME)
    for learner, lab, item, level, comment in levels:
        journal.append(Entry(learner, lab, item, level, comment, reviewer))
    journal.close()
    gradebook.build(out, [out / "journal.jsonl"])


def _rows(out, sql):
    con = duckdb.connect(str(out / gradebook.DB_NAME), read_only=True)
    try:
        cursor = con.execute(sql)
        cols = [d[0] for d in cursor.description]
        return [dict(zip(cols, row)) for row in cursor.fetchall()]
    finally:
        con.close()


def _learners(out):
    return {r["learner"]: r for r in _rows(out, "SELECT * FROM learners")}


MAP = "map-customer"
SCORES = [("ana", MAP, "idempotent-creates", 4, "key from the AccountId, retries reuse it"),
          ("ana", MAP, "logging", 3, "no word on credentials"),
          ("bob", MAP, "idempotent-creates", 1, "'retry carefully' is no mechanism"),
          ("cy", MAP, "idempotent-creates", 0, "no answers.md"), ("cy", MAP, "logging", 0, "")]


def test_the_journal_carries_each_grading_s_rubric_and_answers(graded_cohort, hostile):
    entries = {e["submission"]: e for e in read_entries(graded_cohort / "journal.jsonl") if "result" in e}
    ana = {i["id"]: i for i in entries["ana"]["rubric"]}
    assert ana["idempotent-creates"]["answer"]["answered"] and hostile in ana["idempotent-creates"]["answer"]["text"]
    assert ana["idempotent-creates"]["levels"][4].startswith("As 3")
    assert {i["answer"]["note"] for i in entries["cy"]["rubric"]} == {"the submission has no answers.md"}
    assert entries["cy"]["result"]["score"] == 100  # no answer file: graded all the same
    assert {i["answer"]["note"] for i in entries["mal"]["rubric"]} == {"the submission was refused"}
    assert "rubric" not in json.dumps([e for e in read_entries(graded_cohort / "journal.jsonl") if "result" not in e])


def test_before_any_review_nobody_is_counted_as_zero(graded_cohort):
    learners = _learners(graded_cohort)
    for name in ("ana", "bob", "cy", "dee"):
        row = learners[name]
        assert (row["review_status"], row["review_score"], row["total_score"]) == ("unreviewed", None, None), name
        assert row["score"] is not None and row["review_max_score"] == 20 and row["total_max_score"] == 120
    assert (learners["mal"]["review_status"], learners["mal"]["total_score"]) == ("refused", 0)
    assert (learners["empty"]["review_status"], learners["empty"]["total_score"]) == ("", None)
    statuses = {(r["learner"], r["status"]) for r in _rows(graded_cohort, "SELECT learner, status FROM review_results")}
    assert statuses == {(n, "unreviewed") for n in ("ana", "bob", "cy", "dee")} | {("mal", "refused")}
    items = _rows(graded_cohort, "SELECT lab, item_id, criterion, points, level_0, level_4 FROM rubric_items ORDER BY 1, 2")
    assert [(r["lab"], r["item_id"], r["criterion"]) for r in items] == [
        ("log-triage", "escalation", 14), ("log-triage", "evidence-handover", 15),
        (MAP, "idempotent-creates", 11), (MAP, "logging", 12)]


@pytest.fixture
def reviewed(review_out):
    _review(review_out, *SCORES)
    return review_out


def test_reviews_land_as_their_own_rows(reviewed, hostile):
    rows = {(r["learner"], r["item_id"]): r for r in _rows(reviewed, "SELECT * FROM review_results")}
    ana = rows[("ana", "idempotent-creates")]
    assert (ana["status"], ana["level"], ana["points"], ana["reviewers"]) == ("reviewed", 4, 10, "alice 4")
    assert ana["comment"] == "alice: key from the AccountId, retries reuse it" and ana["reviewed_at"] is not None
    assert hostile in ana["answer"] and ana["answered"]
    assert rows[("ana", "logging")]["points"] == 7.5
    assert (rows[("bob", "logging")]["status"], rows[("bob", "logging")]["points"]) == ("unreviewed", None)
    assert rows[("bob", "logging")]["answer_note"] == "left blank (only the template's comments)"
    assert rows[("cy", "logging")]["points"] == 0 and rows[("cy", "logging")]["status"] == "reviewed"


def test_automatic_and_reviewed_points_apart_and_together(reviewed):
    learners = _learners(reviewed)
    ana, bob, cy, dee = (learners[n] for n in ("ana", "bob", "cy", "dee"))
    assert (ana["score"], ana["review_score"], ana["total_score"], ana["total_max_score"], ana["total_percent"]) == \
        (100, 17.5, 117.5, 120, 97.9)
    assert (ana["review_status"], ana["reviewed_item_count"], ana["review_item_count"]) == ("reviewed", 2, 2)
    # Partly reviewed: what is scored so far is shown, the total waits (never the missing item as 0).
    assert (bob["score"], bob["review_score"], bob["review_status"], bob["total_score"]) == (90, 2.5, "partial", None)
    assert (cy["review_score"], cy["total_score"], cy["total_percent"]) == (0, 100, 83.3)  # reviewed at 0: a real 0
    assert (dee["review_status"], dee["total_score"]) == ("unreviewed", None)
    labs = {r["learner"]: r for r in _rows(reviewed, "SELECT * FROM lab_results")}
    assert (labs["ana"]["review_score"], labs["ana"]["total_score"], labs["bob"]["review_status"]) == (17.5, 117.5, "partial")


def test_every_export_shows_both_parts_and_agrees(reviewed):
    rows = list(csv.DictReader(io.StringIO((reviewed / "gradebook.csv").read_text(encoding="utf-8"))))
    by = {(r["learner"], r["lab"]): r for r in rows}
    assert list(rows[0])[-6:] == ["review_status", "review_score", "review_max_score", "total_score", "total_max_score",
                                  "total_percent"]
    assert (by[("ana", MAP)]["score"], by[("ana", MAP)]["review_score"], by[("ana", MAP)]["total_score"]) == \
        ("100.0", "17.5", "117.5")
    assert (by[("bob", MAP)]["review_status"], by[("bob", MAP)]["total_score"]) == ("partial", "")
    wide = {r["learner"]: r for r in csv.DictReader(io.StringIO((reviewed / "gradebook-wide.csv").read_text()))}
    assert (wide["ana"][MAP], wide["ana"]["review_score"], wide["ana"]["total_percent"]) == ("100", "17.5", "97.9")
    assert wide["bob"]["total_score"] == "" and wide["bob"]["review_status"] == "partial"

    records = {r["learner"]: r for r in json.loads((reviewed / "gradebook.json").read_text(encoding="utf-8"))}
    assert (records["ana"]["score"], records["ana"]["review_score"], records["ana"]["total_score"]) == (100, 17.5, 117.5)
    assert records["bob"]["total_score"] is None and records["bob"]["review_status"] == "partial"
    reviews = {r["id"]: r for r in records["bob"]["reviews"]}
    assert reviews["logging"]["status"] == "unreviewed" and reviews["logging"]["points"] is None
    assert reviews["idempotent-creates"]["levels"] == [{"reviewer": "alice", "level": 1}]

    junit = etree.fromstring((reviewed / records["bob"]["junit"]).read_bytes())
    suite = junit.xpath("//testsuite[@name='map-customer (reviewed)']")[0]
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("2", "1", "1")
    cases = {c.get("name").split(":")[0]: c for c in suite.xpath("testcase")}
    assert "level 1 of 4" in cases["idempotent-creates"].xpath("failure/@message")[0]
    assert cases["logging"].xpath("skipped/@message")[0].startswith("not reviewed yet")
    ana_suite = etree.fromstring((reviewed / records["ana"]["junit"]).read_bytes()).xpath(
        "//testsuite[@name='map-customer (reviewed)']")[0]
    assert ana_suite.xpath("property[@name='review_score']/@value | properties/property[@name='review_score']/@value") \
        == ["17.5"]

    doc = lhtml.document_fromstring((reviewed / "report.html").read_text(encoding="utf-8"))
    rows = {r.xpath(".//bdi[@class='name']")[0].text_content(): r for r in doc.xpath("//table[@id='learners']/tbody/tr")}
    assert rows["ana"].xpath(".//td[contains(@class,'auto')]/@data-points") == ["100"]
    assert rows["ana"].xpath(".//td[contains(@class,'reviewed')]/@data-points") == ["17.5"]
    assert rows["ana"].xpath(".//td[contains(@class,'total')]/@data-percent") == ["97.9"]
    assert rows["bob"].xpath(".//td[contains(@class,'total')]/@data-pending") == ["true"]
    assert "1 of 2 reviewed" in rows["bob"].xpath(".//td[contains(@class,'reviewed')]")[0].text_content()
    assert doc.xpath("//tr[@data-item='idempotent-creates']/td[@data-level='4']")[0].text_content() == "1"
    assert "2 of 4 learners fully reviewed" in doc.xpath("//p[@id='review-progress']")[0].text_content()
    # Reviewed points feed the scorecard: cy's Security awareness is evidenced by the reviewed 0 alone.
    assert rows["cy"].xpath(".//span[@data-dimension='Security awareness']//@data-level") == ["1"]
    assert rows["dee"].xpath(".//span[@data-dimension='Collaboration']//@data-level") == ["pending"]
    assert "<script>window.__pwned" not in (reviewed / "report.html").read_text(encoding="utf-8")


def test_a_rerun_of_the_batch_keeps_the_reviews(reviewed, tmp_path):
    # The folder came from another place: point run.json at the same submissions, then run the same batch again.
    run = json.loads((reviewed / "run.json").read_text())
    result = subprocess.run([sys.executable, "-m", "cli", "batch", run["root"], "--out", str(reviewed)], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "graded 0 now" in result.stdout
    assert _learners(reviewed)["ana"]["total_score"] == 117.5


def test_an_older_gradebook_without_rubric_still_builds(review_out):
    # A journal from before rubric items: no "rubric" in any line; nothing to review, totals are the automatic ones.
    lines = [json.loads(x) for x in (review_out / "journal.jsonl").read_text(encoding="utf-8").splitlines()]
    (review_out / "journal.jsonl").write_text("".join(json.dumps({k: v for k, v in e.items() if k != "rubric"}) + "\n"
                                                      for e in lines), encoding="utf-8")
    gradebook.build(review_out, [review_out / "journal.jsonl"])
    ana = _learners(review_out)["ana"]
    assert (ana["review_status"], ana["total_score"], ana["total_max_score"]) == ("", 100, 100)
    assert _rows(review_out, "SELECT count(*) AS n FROM review_results")[0]["n"] == 0
