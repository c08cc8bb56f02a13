"""Trusted helpers for the log-triage lab: call the learner's parser in ways a plain call cannot.

They report what happened (which exception, what came back), never a verdict;
the grader judges. findings.toml is not read here: the grader reads it from its
own copy of the submission.
"""
from __future__ import annotations

import os

MAX_BYTES = 256 * 1024


def unknown_source(line: str, source: str) -> str:
    """What ``triage.parse_line(line, source)`` does with a source the contract does not know.

    ``"ValueError"`` when it raises ValueError or a subclass of it (the contract
    asks for a ValueError, and a subclass is one); otherwise the name of what it
    raised, or ``"returned"``.
    """
    import triage  # the learner's module, imported only when this helper is called

    try:
        triage.parse_line(line, source)
    except ValueError:
        return "ValueError"
    except Exception as exc:  # the grader reports which exception came instead
        return type(exc).__name__
    return "returned"


def parse_in_zone(line: str, source: str, zone: str):
    """``triage.parse_line(line, source)`` with the machine's clock set to another time zone.

    ``zone`` is a POSIX TZ string such as ``"<-0330>3:30"``: no zone database
    needed. A parser that formats with local time shows it here; the zone is
    put back afterwards, whatever the call did.
    """
    import time

    import triage  # the learner's module, imported only when this helper is called

    before = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        return triage.parse_line(line, source)
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


def timeline_tolerant(bundle_dir: str, correlation_id: str):
    """``triage.timeline(...)`` with ``parse_line`` answering None wherever it would raise.

    The grader calls this only when ``timeline`` itself raised: if it then
    answers right, the raise came from ``parse_line`` (charged to its own
    check), not from merging, filtering or ordering.
    """
    import triage  # the learner's module, imported only when this helper is called

    original = triage.parse_line

    def tolerant(line, source):
        try:
            return original(line, source)
        except Exception:  # the parse check reports it; here only the timeline is judged
            return None

    triage.parse_line = tolerant
    try:
        return triage.timeline(bundle_dir, correlation_id)
    finally:
        triage.parse_line = original
