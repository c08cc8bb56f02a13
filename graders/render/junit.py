"""JUnit XML for CI test-report readers: a testsuite per lab, a testcase per check.

A learner's file (``to_junit_submission``) carries the learner's status: a lab
refused before any check ran is a suite whose every check is an error with the
refusal; a learner with no lab to grade is one suite holding one errored
testcase that says why, so CI shows them rather than nothing.

Rubric items people score (``iclab review``) are a suite of their own per lab,
``<lab> (reviewed)``, a testcase per item: full marks pass, fewer points fail
with the level and the reviewers' comments, and an item not scored yet (or
disputed) is *skipped*, never a failure: pending is not 0.
"""
from __future__ import annotations

from lxml import etree

from ..results import GradingStatus, LabResult, ReviewedItem, ReviewStatus, Status, SubmissionResult


def _num(x: float) -> str:
    return f"{x:g}"


def to_junit(result: LabResult, *, color: bool = False) -> str:
    return to_junit_many([result])


def to_junit_many(results, name: str = "iclab") -> str:
    """One testsuites document: a testsuite per lab result (one learner's labs, for CI viewers)."""
    root = etree.Element("testsuites", name=name)
    for result in results:
        _suite(root, result)
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8").decode("utf-8")


def to_junit_submission(submission: SubmissionResult, name: str = "iclab") -> str:
    """One learner's testsuites: a suite per lab, or one errored testcase saying why nothing was graded."""
    root = etree.Element("testsuites", name=name)
    for result in submission.labs:
        _suite(root, result)
    by_lab: dict[str, list[ReviewedItem]] = {}
    for item in submission.reviews:
        by_lab.setdefault(item.lab, []).append(item)
    for lab, items in by_lab.items():
        _review_suite(root, submission.submission, lab, items)
    if not submission.labs:
        kind = "Refused" if submission.status is GradingStatus.REFUSED else "Ungradable"
        suite = etree.SubElement(root, "testsuite", name="submission", tests="1", failures="0", errors="1",
                                 skipped="0", time="0.000")
        props = etree.SubElement(suite, "properties")
        for key, value in (("submission", submission.submission), ("source", submission.source),
                           ("status", submission.status.value), ("reason", submission.reason)):
            etree.SubElement(props, "property", name=key, value=value)
        case = etree.SubElement(suite, "testcase", classname="iclab.submission",
                                name=f"{submission.status.value}: nothing could be graded", time="0.000")
        etree.SubElement(case, "error", message=submission.reason, type=kind).text = submission.reason
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8").decode("utf-8")


def _suite(root, result: LabResult) -> None:
    suite = etree.SubElement(
        root, "testsuite",
        name=result.lab,
        tests=str(len(result.checks)),
        failures=str(sum(c.status is Status.FAILED for c in result.checks)),
        errors=str(sum(c.status is Status.ERRORED for c in result.checks)),
        skipped=str(sum(c.status is Status.SKIPPED for c in result.checks)),
        time=f"{result.duration:.3f}",
        timestamp=result.graded_at.replace("+00:00", "") if result.graded_at else "",
    )
    props = etree.SubElement(suite, "properties")
    for key, value in (("submission", result.submission), ("status", result.status.value),
                       ("score", _num(result.score)), ("max_score", _num(result.max_score)),
                       ("tool_version", result.tool_version)):
        etree.SubElement(props, "property", name=key, value=value)
    for c in result.checks:
        case = etree.SubElement(suite, "testcase", classname=f"iclab.{result.lab}", name=f"{c.id}: {c.title}",
                                time=f"{c.duration:.3f}")
        body = c.reason + ("\n" + c.evidence if c.evidence else "")
        if c.status is Status.FAILED:
            etree.SubElement(case, "failure", message=c.reason, type="CheckFailed").text = body
        elif c.status is Status.ERRORED:
            etree.SubElement(case, "error", message=c.reason, type="CheckErrored").text = body
        elif c.status is Status.SKIPPED:
            etree.SubElement(case, "skipped", message=c.reason)
        etree.SubElement(case, "system-out").text = f"points {_num(c.points)}/{_num(c.max_points)}; {c.dimension.value}; {c.skill}"


def _review_suite(root, learner: str, lab: str, items: list[ReviewedItem]) -> None:
    final = [i for i in items if i.final]
    suite = etree.SubElement(
        root, "testsuite", name=f"{lab} (reviewed)", tests=str(len(items)),
        failures=str(sum(i.status is ReviewStatus.REVIEWED and (i.points or 0) < i.max_points for i in items)),
        errors=str(sum(i.status is ReviewStatus.REFUSED for i in items)),
        skipped=str(len(items) - len(final)), time="0.000")
    props = etree.SubElement(suite, "properties")
    scored = round(sum(i.points or 0 for i in final), 2)
    for key, value in (("submission", learner), ("kind", "reviewed"),
                       ("review_score", _num(scored) if final else ""),
                       ("review_max_score", _num(sum(i.max_points for i in items))),
                       ("reviewed", f"{len(final)} of {len(items)}")):
        etree.SubElement(props, "property", name=key, value=value)
    for item in items:
        case = etree.SubElement(suite, "testcase", classname=f"iclab.{lab}.reviewed", name=f"{item.id}: {item.title}",
                                time="0.000")
        who = ", ".join(f"{r} {lvl}" for r, lvl in item.levels)
        if item.status is ReviewStatus.UNREVIEWED:
            etree.SubElement(case, "skipped", message="not reviewed yet (counts for nothing until it is)")
        elif item.status is ReviewStatus.DISPUTED:
            etree.SubElement(case, "skipped", message=f"reviewers disagree by more than one level ({who}); "
                                                      "not counted until settled")
        elif item.status is ReviewStatus.REFUSED:
            etree.SubElement(case, "error", message="the submission was refused", type="Refused")
        elif (item.points or 0) < item.max_points:
            message = f"level {item.level:g} of 4: {_num(item.points or 0)}/{_num(item.max_points)} points"
            etree.SubElement(case, "failure", message=message, type="ReviewedBelowFullMarks").text = (
                message + ("\n" + item.comment if item.comment else ""))
        level = "" if item.level is None else f"level {item.level:g}/4; "
        points = "" if item.points is None else f"points {_num(item.points)}/{_num(item.max_points)}; "
        etree.SubElement(case, "system-out").text = (
            f"{level}{points}{item.dimension.value}; reviewed by {who or 'nobody yet'}"
            + (f"; settled by {item.settled_by}" if item.settled_by else "") + (f"\n{item.comment}" if item.comment else ""))
