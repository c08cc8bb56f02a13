"""Run a workspace's visible tests with pytest and count the outcomes, honestly and fast.

Two things are kept out of the run, because both decide what pytest reports:

- **Plugins and configuration.** pytest loads every installed plugin by default
  (hypothesis, schemathesis and anyio come with iclab's test extra: about 3 s a run),
  and a ``pytest.ini``, ``pyproject.toml``, ``tox.ini`` or ``setup.cfg`` can add more.
  The run uses iclab's own empty ini (``-c``), autoload off, no cache, and only
  ``conftest.py`` files inside the workspace.
- **A conftest the starter did not ship.** A ``conftest.py`` can rewrite every
  outcome (a ``pytest_runtest_makereport`` wrapper turns "12 failed" into "12
  passed"). When the workspace holds one that is not byte for byte the starter's,
  the tests run in a scratch copy of the workspace holding the starter's conftest
  files instead (or none), and ``TestRun.notes`` says so. The grader never reads
  these outcomes: this keeps the learner's own line honest.

Code in a test module can still reach pytest's internals; ``notes`` names modules
that load plugins (``pytest_plugins``) or define hooks, where outcomes may not be
what they seem.
"""
from __future__ import annotations

import ast
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from .manifest import Lab
from .workspace import source_tree

__all__ = ["TestRun", "VisibleRun", "run_visible_tests", "set_aside"]

# iclab's own pytest configuration for the run: nothing, on purpose (see the module docstring).
_INI = "[pytest]\njunit_family = xunit2\n"


@dataclass(frozen=True)
class TestRun:
    passed: int
    failed: int
    errors: int
    skipped: int
    summary: str
    timed_out: bool = False
    notes: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.errors + self.skipped

    @property
    def ok(self) -> bool:
        return not self.timed_out and self.total > 0 and self.failed == 0 and self.errors == 0


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def set_aside(workspace: Path, lab: Lab | None) -> list[str]:
    """The workspace's ``conftest.py`` files (relative paths) that are not the starter's, byte for byte."""
    if lab is None:
        return []
    out = []
    for path in source_tree(workspace):
        if path.name != "conftest.py":
            continue
        rel = path.relative_to(workspace).as_posix()
        shipped = lab.starter / rel
        if not shipped.is_file() or _digest(shipped) != _digest(path):
            out.append(rel)
    return out


def _plugin_loaders(workspace: Path, lab: Lab | None) -> list[str]:
    """Python files (not conftest) that load pytest plugins or define hooks, which can rewrite outcomes."""
    out = []
    for path in source_tree(workspace):
        if path.suffix != ".py" or path.name == "conftest.py":
            continue
        rel = path.relative_to(workspace).as_posix()
        if lab is not None and (lab.starter / rel).is_file() and _digest(lab.starter / rel) == _digest(path):
            continue
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            continue
        for node in tree.body:
            names = []
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if any(n.startswith("pytest_") for n in names):  # pytest_plugins, or a hook
                out.append(rel)
                break
    return out


def _shadow(workspace: Path, lab: Lab, foreign: list[str], dest: Path) -> Path:
    """A copy of the workspace with the starter's conftest files in place of ``foreign`` ones."""
    for path in source_tree(workspace):
        rel = path.relative_to(workspace).as_posix()
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if rel in foreign:
            if (lab.starter / rel).is_file():
                shutil.copyfile(lab.starter / rel, target)
            continue
        shutil.copyfile(path, target)
    return dest


class VisibleRun:
    """The visible tests of one workspace, running in a child process while the caller does other work.

    ``VisibleRun(ws, lab)`` starts pytest at once; ``result()`` waits for it and
    reads its JUnit report. Use it as a context manager, or call ``close()``.
    """

    def __init__(self, workspace: Path, lab: Lab | None = None, timeout: float = 120.0):
        self.workspace = Path(workspace)
        self.timeout = timeout
        self._tmp = tempfile.TemporaryDirectory(prefix="iclab-visible-")
        tmp = Path(self._tmp.name)
        foreign = set_aside(self.workspace, lab)
        notes = []
        root = self.workspace
        if foreign:
            assert lab is not None
            root = _shadow(self.workspace, lab, foreign, tmp / "workspace")
            kept = [rel for rel in foreign if (lab.starter / rel).is_file()]
            instead = f"the starter's {', '.join(kept)}" if kept else "no conftest.py"
            notes.append(f"{', '.join(foreign)} {'is' if len(foreign) == 1 else 'are'} not the starter's: a conftest "
                         f"can change what pytest reports, so these counts come from a run with {instead} instead")
        loaders = _plugin_loaders(self.workspace, lab)
        if loaders:
            notes.append(f"{', '.join(loaders)} load{'s' if len(loaders) == 1 else ''} pytest plugins or define hooks, "
                         "which can change what pytest reports")
        self.notes = tuple(notes)
        ini = tmp / "iclab-pytest.ini"
        ini.write_text(_INI, encoding="utf-8")
        self._report = tmp / "report.xml"
        # -P: the workspace is not put on sys.path before pytest itself (a pytest.py there would shadow it);
        # test modules still import their neighbours through pytest's own rootdir handling.
        cmd = [sys.executable, "-P", "-m", "pytest", "-q", "-c", str(ini), "--rootdir", str(root),
               "--confcutdir", str(root), "-p", "no:cacheprovider", f"--junitxml={self._report}", str(root)]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "ICLAB_"))}
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # every pytest version honours it (the flag needs 8.4)
        self._proc = subprocess.Popen(cmd, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)

    def result(self) -> TestRun:
        """Wait for the run and count its outcomes."""
        try:
            out, err = self._proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.close()
            return TestRun(0, 0, 0, 0, f"visible tests did not finish within {self.timeout:g} s", timed_out=True,
                           notes=self.notes)
        report = self._report.read_bytes() if self._report.is_file() else b""
        self.close()
        lines = [ln for ln in out.splitlines() if ln.strip()]
        summary = lines[-1] if lines else (err.strip().splitlines()[-1:] or ["no output"])[0]
        if not report:
            return TestRun(0, 0, 1, 0, str(summary), notes=self.notes)
        suite = etree.fromstring(report)
        suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
        total = int(suite.get("tests", 0))
        failed = int(suite.get("failures", 0))
        errors = int(suite.get("errors", 0))
        skipped = int(suite.get("skipped", 0))
        return TestRun(total - failed - errors - skipped, failed, errors, skipped, str(summary), notes=self.notes)

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.communicate()
        self._tmp.cleanup()

    def __enter__(self) -> "VisibleRun":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run_visible_tests(workspace: Path, timeout: float = 120.0, lab: Lab | None = None) -> TestRun:
    """Run the visible tests in ``workspace`` (a child process) and count the outcomes.

    With ``lab``, a ``conftest.py`` that is not the starter's is set aside (see the module docstring).
    """
    with VisibleRun(workspace, lab, timeout) as run:
        return run.result()
