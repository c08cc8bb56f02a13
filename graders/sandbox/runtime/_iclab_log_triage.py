"""Trusted helper for the log-triage lab: hand the grader the learner's findings.toml as text.

The grader parses the text itself (tomllib, plain data); this side only reads.
"""
from __future__ import annotations

import os

MAX_BYTES = 256 * 1024


def read_findings() -> str:
    """The UTF-8 text of findings.toml in the submission's working folder."""
    folder = os.environ.get("ICLAB_WORK") or os.getcwd()
    with open(os.path.join(folder, "findings.toml"), "rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValueError(f"findings.toml is larger than {MAX_BYTES // 1024} KB")
    return data.decode("utf-8")
