"""Instructor review: rubric items a person scores, beside the automatic results.

    rubric.py    what a lab asks a person to judge (lab.toml ``[[rubric]]``) and reading a learner's answer
    journal.py   reviews.jsonl: every level and comment as entered, appended and fsynced
    scores.py    one level per item from one or more reviewers (and a moderator), for the gradebook
    cohort.py    a batch output as the review page sees it: learners in an anonymous order, their answers
    server.py    ``iclab review``: the local page (127.0.0.1, a token in the URL) and its JSON API
    page.py      the page itself: HTML, CSS and script, no build step

Nothing here is imported by grading: a lab without rubric items grades as before.
"""
