"""The reviews journal (durable, latest wins) and the rules that turn reviewers' levels into one standing."""
from __future__ import annotations

import json
import os

import pytest

from graders.errors import OutputError
from graders.results import Dimension, ReviewStatus, SubmissionResult, scorecard
from graders.review.journal import FILE_NAME, IMPORTED, Entry, ReviewJournal, problem, read_reviews
from graders.review.rubric import RubricItem
from graders.review.scores import ReviewBook

ITEM = RubricItem("idempotent-creates", "Idempotent creates", "How?", "answers.md", "Idempotent creates", (), 10.0,
                  Dimension.INTEGRATION, ("none", "vague", "names it", "fits it", "with evidence"), 11)


def _entry(level, reviewer="alice", comment="", learner="ana", at=""):
    return Entry(learner, "map-customer", ITEM.id, level, comment, reviewer, at)


def test_entries_are_appended_fsynced_and_the_latest_wins(tmp_path):
    journal = ReviewJournal(tmp_path / FILE_NAME)
    first = journal.append(_entry(1, comment="thin"))
    journal.append(_entry(3, comment="fits the AccountId key"))
    journal.close()
    assert first.at.endswith("Z")
    lines = (tmp_path / FILE_NAME).read_bytes().splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["schema"] == "iclab/review/v1"  # appended, never rewritten
    book = ReviewBook.load(tmp_path)
    standing = book.item("ana", "map-customer", ITEM, answered=True)
    assert (standing.status, standing.level, standing.points) == (ReviewStatus.REVIEWED, 3.0, 7.5)
    assert standing.comment == "alice: fits the AccountId key"


def test_a_torn_last_line_is_skipped_then_cut_and_junk_is_ignored(tmp_path):
    path = tmp_path / FILE_NAME
    journal = ReviewJournal(path)
    journal.append(_entry(2))
    journal.close()
    with path.open("ab") as fh:
        fh.write(b'{"schema": "iclab/review/v1", "nonsense": true}\n')  # valid JSON, not an entry
        fh.write(b'{"schema": "iclab/review/v1", "learner": "ana", "lab": "map-customer", "item": "x", "level": true, '
                 b'"comment": "", "reviewer": "eve"}\n')  # a bool is not a level
        fh.write(b'{"schema": "iclab/review/v1", "learner": "ana", "lab": "map-cu')  # a kill mid-write
    assert [e.level for e in read_reviews(path)] == [2]
    journal = ReviewJournal(path)  # reopening cuts the torn line, so the next starts on a line of its own
    journal.append(_entry(4))
    journal.close()
    assert [e.level for e in read_reviews(path)] == [2, 4]
    assert path.read_bytes().endswith(b"}\n")


def test_a_write_that_fails_is_an_output_error_and_nothing_is_half_written(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    (tmp_path / FILE_NAME).symlink_to("/dev/full")
    journal = ReviewJournal(tmp_path / FILE_NAME)
    with pytest.raises(OutputError, match="disk is full"):
        journal.append(_entry(2))
    journal.close()


@pytest.mark.parametrize("fields, why", [
    (("ana", "map-customer", "x", 5, "", "alice"), "level"),
    (("ana", "map-customer", "x", True, "", "alice"), "level"),
    (("ana", "map-customer", "x", "3", "", "alice"), "level"),
    (("ana", "map-customer", "x", 2, "c" * 5000, "alice"), "comment"),
    (("ana", "map-customer", "x", 2, "", ""), "reviewer"),
    (("", "map-customer", "x", 2, "", "alice"), "learner"),
])
def test_what_cannot_be_an_entry_says_why(fields, why):
    assert why in problem(*fields)


def test_nothing_entered_is_unreviewed_never_zero(tmp_path):
    standing = ReviewBook().item("ana", "map-customer", ITEM)
    assert standing.status is ReviewStatus.UNREVIEWED and standing.points is None and not standing.final
    sub = SubmissionResult("ana", (), reviews=(standing,))
    assert sub.review_score is None and sub.total_score is None and sub.review_status == "unreviewed"
    comment_only = ReviewBook()
    comment_only.add_own(_entry(None, comment="come back to this"))
    assert comment_only.item("ana", "map-customer", ITEM).status is ReviewStatus.UNREVIEWED


def test_two_reviewers_within_a_level_average_beyond_it_dispute(tmp_path):
    book = ReviewBook()
    book.add_imported(_entry(2, "alice", at="2025-01-01T10:00:00Z"))
    book.add_imported(_entry(3, "bob", at="2025-01-01T11:00:00Z"))
    near = book.item("ana", "map-customer", ITEM)
    assert (near.status, near.level, near.points, near.levels) == (ReviewStatus.REVIEWED, 2.5, 6.25,
                                                                  (("alice", 2), ("bob", 3)))
    book.add_imported(_entry(4, "bob", at="2025-01-02T09:00:00Z"))  # bob changed his mind: his latest counts
    far = book.item("ana", "map-customer", ITEM)
    assert far.status is ReviewStatus.DISPUTED and far.points is None and far.levels == (("alice", 2), ("bob", 4))
    book.add_imported(_entry(1, "bob", at="2024-12-31T09:00:00Z"))  # an older entry from another copy loses
    assert book.item("ana", "map-customer", ITEM).levels == (("alice", 2), ("bob", 4))


def test_a_level_entered_in_the_merged_folder_settles_a_dispute():
    book = ReviewBook()
    book.add_imported(_entry(0, "alice", comment="nothing on conflicts", at="2025-01-01T10:00:00Z"))
    book.add_imported(_entry(4, "bob", at="2025-01-01T10:00:00Z"))
    book.add_own(_entry(3, "carol", comment="key fits; conflicts thin", at="2025-01-03T10:00:00Z"))
    settled = book.item("ana", "map-customer", ITEM)
    assert (settled.status, settled.level, settled.points, settled.settled_by) == (ReviewStatus.REVIEWED, 3.0, 7.5,
                                                                                  "carol")
    assert settled.levels == (("alice", 0), ("bob", 4))
    assert settled.comment == "alice: nothing on conflicts\ncarol: key fits; conflicts thin"


def test_a_refused_lab_scores_its_items_zero():
    standing = ReviewBook().item("ana", "map-customer", ITEM, refused=True)
    assert standing.status is ReviewStatus.REFUSED and standing.points == 0 and standing.final


def test_the_scorecard_counts_reviewed_points_and_keeps_pending_apart():
    book = ReviewBook()
    book.add_own(_entry(2))
    other = RubricItem("logging", "Logging", "What?", "answers.md", "Logging", (), 10.0, Dimension.SECURITY,
                       ("a", "b", "c", "d", "e"), 12)
    items = (book.item("ana", "map-customer", ITEM), book.item("ana", "map-customer", other))
    card = {d.dimension: d for d in scorecard([], items)}
    assert card[Dimension.INTEGRATION].points == 5 and card[Dimension.INTEGRATION].review_max_points == 10
    assert card[Dimension.INTEGRATION].level == 2  # 5 of 10 points: 35% and up, below the 60% "meets" takes
    security = card[Dimension.SECURITY]
    assert (security.level, security.max_points, security.pending_points) == (0, 0, 10)  # pending, not a gap


def test_sources_are_the_own_journal_and_the_merged_ones(tmp_path):
    (tmp_path / IMPORTED).mkdir()
    for name, level in (("01-a.jsonl", 0), ("02-b.jsonl", 4)):
        journal = ReviewJournal(tmp_path / IMPORTED / name)
        journal.append(_entry(level, reviewer=name[:2]))
        journal.close()
    assert ReviewBook.load(tmp_path).item("ana", "map-customer", ITEM).status is ReviewStatus.DISPUTED
    own = ReviewJournal(tmp_path / FILE_NAME)
    own.append(_entry(2, reviewer="moderator"))
    own.close()
    assert ReviewBook.load(tmp_path).item("ana", "map-customer", ITEM).settled_by == "moderator"


def test_the_report_counts_learners_per_level_and_what_is_not_final():
    from graders.render.html_review import summarize_reviews

    book = ReviewBook()
    book.add_imported(_entry(2, "alice", learner="ana", at="1"))
    book.add_imported(_entry(3, "bob", learner="ana", at="1"))     # mean 2.5: counted at level 3
    book.add_imported(_entry(0, "alice", learner="bob", at="1"))
    book.add_imported(_entry(4, "bob", learner="bob", at="1"))     # disputed
    subs = [SubmissionResult(name, (), reviews=(book.item(name, "map-customer", ITEM, refused=name == "mal"),))
            for name in ("ana", "bob", "cy", "mal")]
    (summary,) = summarize_reviews(subs)
    assert (summary.at_level, summary.reviewed, summary.unreviewed, summary.disputed) == ((0, 0, 0, 1, 0), 1, 1, 1)
    assert summary.mean_points == 6.25
