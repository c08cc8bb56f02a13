"""Run a workspace's visible tests with plain pytest and count the outcomes."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

__all__ = ["TestRun", "run_visible_tests"]


@dataclass(frozen=True)
class TestRun:
    passed: int
    failed: int
    errors: int
    skipped: int
    summary: str
    timed_out: bool = False

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.errors + self.skipped

    @property
    def ok(self) -> bool:
        return not self.timed_out and self.total > 0 and self.failed == 0 and self.errors == 0


def run_visible_tests(workspace: Path, timeout: float = 120.0) -> TestRun:
    """Run ``pytest`` in ``workspace`` (a child process) and read its JUnit report."""
    with tempfile.TemporaryDirectory(prefix="iclab-visible-") as tmp:
        report = Path(tmp) / "report.xml"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(workspace),
               f"--junitxml={report}", "-o", "junit_family=xunit2", str(workspace)]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "ICLAB_"))}
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        try:
            proc = subprocess.run(cmd, cwd=workspace, capture_output=True, text=True, timeout=timeout, env=env,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return TestRun(0, 0, 0, 0, f"visible tests did not finish within {timeout:g} s", timed_out=True)
        lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
        summary = lines[-1] if lines else proc.stderr.strip().splitlines()[-1:] or "no output"
        if not report.is_file():
            return TestRun(0, 0, 1, 0, str(summary))
        suite = etree.parse(str(report)).getroot()
        suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
        total = int(suite.get("tests", 0))
        failed = int(suite.get("failures", 0))
        errors = int(suite.get("errors", 0))
        skipped = int(suite.get("skipped", 0))
        return TestRun(total - failed - errors - skipped, failed, errors, skipped, str(summary))
