"""The naive baseline: one pytest process per lab-grading, each check a test.

Run by bench/batch_throughput.py with ICLAB_NAIVE_LAB and ICLAB_NAIVE_SUBMISSION set.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from graders import catalog, engine

LAB = catalog.get_lab(os.environ["ICLAB_NAIVE_LAB"])
RESULT = engine.grade(LAB, Path(os.environ["ICLAB_NAIVE_SUBMISSION"]))


@pytest.mark.parametrize("check", RESULT.checks, ids=[c.id for c in RESULT.checks])
def test_check(check):
    assert check.status.value == "passed", check.reason
