"""JUnit XML for CI test-report readers: a testsuite per lab, a testcase per check.

A learner's file (``to_junit_submission``) carries the learner's status: a lab
refused before any check ran is a suite whose every check is an error with the
refusal; a learner with no lab to grade is one suite holding one errored
testcase that says why, so CI shows them rather than nothing.
"""
from __future__ import annotations

from lxml import etree

from ..results import GradingStatus, LabResult, Status, SubmissionResult


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
