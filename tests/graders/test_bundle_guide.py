"""A candidate follows CANDIDATE.md literally, in a fresh virtual environment, offline, for every lab.

Each lab's bundle is unzipped into a temporary folder; every ```sh block of its guide runs in one
shell session, from the folder its first line names, exactly as printed. Two lines need the network
and are the guide's own alternatives: ``pip install -r requirements.txt`` is replaced by the guide's
offline install (``--no-index --find-links wheels``), with ``wheels/`` the wheelhouse `make test`'s
setup downloads once (.venv/wheelhouse), and the ``pip download`` that made it is not run again.
Between two runs of the visible tests the test plays the candidate: it copies the reference solution
in. The packed submission must then grade at full marks.

Why a wheelhouse rather than pointing the fresh venv at .venv's site-packages: the venv then holds
only what requirements.txt names, so a missing requirement fails here as it would for a candidate.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from graders import bundle, catalog, engine, packing
from graders.workspace import source_tree

ROOT = Path(__file__).resolve().parents[2]
WHEELHOUSE = ROOT / ".venv" / "wheelhouse"
LABS = catalog.lab_ids()
MARK = "@@iclab-step"


def _need_wheelhouse() -> Path:
    if not (WHEELHOUSE / "requirements.txt").is_file():
        message = f"no wheelhouse at {WHEELHOUSE}: `make test` downloads it once (its setup step)"
        if os.environ.get("ICLAB_MAKE_TEST"):
            pytest.fail(message)
        pytest.skip(message)
    return WHEELHOUSE


def sh_blocks(guide: str) -> list[list[str]]:
    """The guide's ```sh blocks, as lists of lines."""
    return [block.strip("\n").splitlines() for block in re.findall(r"```sh\n(.*?)```", guide, flags=re.S)]


def _shims(folder: Path) -> Path:
    """`python3` is the interpreter this project runs on; `iclab` is this checkout's (for the guide's alternative)."""
    folder.mkdir()
    (folder / "python3").symlink_to(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    (folder / "iclab").write_text(f"#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -m cli \"$@\"\n")
    (folder / "iclab").chmod(0o755)
    return folder


def _env(shims: Path) -> dict[str, str]:
    keep = ("HOME", "LANG", "LC_ALL", "TMPDIR", "ICLAB_STATE_DIR")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(PATH=f"{shims}:/usr/local/bin:/usr/bin:/bin", PYTHONDONTWRITEBYTECODE="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    return env


def _needs_network(line: str) -> bool:
    return "pip download" in line or ("pip install" in line and "--no-index" not in line)


class Session:
    """One shell session running guide lines; each line's output and exit status are kept apart."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.lines: list[str] = []
        self.steps: list[str] = []

    def run_block(self, block: list[str]) -> None:
        assert block[0] == bundle.HERE, f"a guide block must say where it runs: {block[0]!r}"
        self.lines.append(f'cd "{self.folder}"')  # the reader goes to the folder the block names
        for line in block[1:]:
            if line.strip() and not line.lstrip().startswith("#") and not _needs_network(line):
                self.step(line)

    def step(self, line: str) -> None:
        n = len(self.steps)
        self.steps.append(line)
        self.lines += [f"echo '{MARK} begin {n}'", line, f"echo \"{MARK} end {n} $?\""]

    def go(self, env: dict[str, str]) -> list[tuple[str, int, str]]:
        script = self.folder.parent / "session.sh"
        script.write_text("\n".join(self.lines) + "\n")
        done = subprocess.run(["sh", str(script)], cwd=self.folder, env=env, capture_output=True, text=True,
                              timeout=1800, stdin=subprocess.DEVNULL)
        out = done.stdout + done.stderr
        results = []
        for n, line in enumerate(self.steps):
            m = re.search(rf"{MARK} begin {n}\n(.*?){MARK} end {n} (\d+)", done.stdout, flags=re.S)
            assert m, f"step {n} ({line}) never finished:\n{out[-3000:]}"
            results.append((line, int(m.group(2)), m.group(1)))
        return results


def _serve(block: list[str], folder: Path, env: dict[str, str]) -> str:
    """Run the guide's mock-serving line in the activated venv until it prints its URL, then stop it."""
    line = next(ln for ln in block[1:] if ln.strip() and not ln.startswith("#"))
    venv = folder / ".venv"
    # PYTHONUNBUFFERED: its banner reaches the log file as printed (a terminal would get it line by line anyway)
    env = dict(env, PATH=f"{venv / 'bin'}:{env['PATH']}", VIRTUAL_ENV=str(venv), PYTHONUNBUFFERED="1")
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(["sh", "-c", line], cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None:
                log.seek(0)
                if "URL" in log.read():
                    break
                time.sleep(0.1)  # polling its output with a deadline
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        log.seek(0)
        return log.read()


@pytest.mark.slow
@pytest.mark.parametrize("lab_id", LABS)
def test_the_candidate_guide_works_exactly_as_printed(lab_id, tmp_path):
    wheels = _need_wheelhouse()
    lab = catalog.get_lab(lab_id)
    archive = bundle.export([lab_id], tmp_path / "bundle.zip").out
    folder = tmp_path / "take-home"
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(folder)  # our own bundle
    (folder / "wheels").symlink_to(wheels)  # "copy wheels/ across", as the guide says
    env = _env(_shims(tmp_path / "shims"))
    blocks = sh_blocks((folder / bundle.GUIDE).read_text())
    assert blocks and all(b[0] == bundle.HERE for b in blocks), "every block says which folder it runs from"

    by_role = {"setup": [b for b in blocks if any("-m venv" in ln for ln in b)],
               "offline": [b for b in blocks if any("--no-index" in ln for ln in b)],
               "tests": [b for b in blocks if any("pytest" in ln for ln in b)],
               "pack": [b for b in blocks if any("pack_submission.py" in ln for ln in b)],
               "iclab": [b for b in blocks if any(ln.startswith("iclab submit") for ln in b)],
               "serve": [b for b in blocks if any("serve_forever" in ln for ln in b)]}
    assert all(len(v) == 1 for k, v in by_role.items() if k != "serve"), by_role
    assert len(by_role["serve"]) == (1 if lab.services else 0)
    assert sum(len(v) for v in by_role.values()) == len(blocks), "a block the test does not follow"

    session = Session(folder)
    session.run_block(by_role["setup"][0])
    session.run_block(by_role["offline"][0])
    session.step("python -c 'import graders' 2>/dev/null && echo DEV-PACKAGES-VISIBLE || echo fresh")
    session.run_block(by_role["tests"][0])                     # on the untouched starter
    reference = catalog.reference(lab)
    for path in source_tree(reference):                          # the candidate does the work
        rel = path.relative_to(reference).as_posix()
        session.step(f'cp "{path}" "{folder / lab_id / rel}"')
    session.run_block(by_role["tests"][0])                     # on the finished work
    session.run_block(by_role["pack"][0])
    session.step("mv submission.zip packed-by-script.zip")
    session.run_block(by_role["iclab"][0])
    steps = session.go(env)

    def step(predicate, nth: int = 0):
        found = [s for s in steps if predicate(s[0])]
        return found[nth]

    for line, code, out in steps[:3]:
        assert code == 0, f"{line}\n{out[-3000:]}"
    assert "fresh" in step(lambda ln: ln.startswith("python -c 'import graders'"))[2]
    _, code, out = step(lambda ln: ln.startswith("python -m pytest"), 0)
    assert code == 1 and " failed" in out, out[-3000:]                    # the starter fails its tests...
    assert "ModuleNotFoundError" not in out and "error" not in out.splitlines()[-1], out[-3000:]  # ...by failing
    _, code, out = step(lambda ln: ln.startswith("python -m pytest"), 1)
    assert code == 0 and " passed" in out and "failed" not in out, out[-3000:]
    for prefix in ("python pack_submission.py", "iclab submit"):
        line, code, out = step(lambda ln: ln.startswith(prefix))
        assert code == 0, f"{line}\n{out[-3000:]}"

    for name in ("packed-by-script.zip", "submission.zip"):
        with tempfile.TemporaryDirectory() as work:
            found = packing.submission_labs(folder / name, [lab_id], Path(work))
            result = engine.grade(lab, found[lab_id], label=name)
        assert result.score == result.max_score, [(c.id, c.reason) for c in result.failed()]

    if lab.services:
        printed = _serve(by_role["serve"][0], folder, env)
        assert re.search(r"URL\s+http://127\.0\.0\.1:\d+", printed), printed[-2000:]
