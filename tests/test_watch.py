"""`iclab watch` in a real terminal (tmux): it checks on every save, in place, and answers h, c and q.

tmux is Debian's `tmux`, installed by `make test` where it may (root with apt-get). Under
`make test` (ICLAB_REQUIRE_TMUX=1) a missing tmux fails these tests; elsewhere it skips them.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graders.watch import SAFETY_SECONDS, Watcher

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 180.0  # seconds a screen may take to show up on a busy machine


def _need_tmux() -> str:
    tmux = shutil.which("tmux")
    if tmux is None:
        message = "tmux is not installed: `make test` installs Debian's tmux when run as root (apt-get install tmux)"
        if os.environ.get("ICLAB_MAKE_TEST"):
            pytest.fail(message)
        pytest.skip(message)
    return tmux


class Pane:
    """One tmux server of our own (its own socket), one window running a command; read and typed into."""

    def __init__(self, tmux: str, socket: str, command: str):
        self.base = [tmux, "-L", socket, "-f", "/dev/null"]
        subprocess.run(self.base + ["new-session", "-d", "-x", "120", "-y", "50", "-s", "w", command], check=True,
                       env=os.environ.copy())

    def screen(self) -> str:
        return subprocess.run(self.base + ["capture-pane", "-p", "-t", "w"], capture_output=True, text=True).stdout

    def wait_for(self, *texts: str) -> str:
        deadline = time.monotonic() + DEADLINE
        while True:
            screen = self.screen()
            if all(t in screen for t in texts):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"never saw {texts} on the screen:\n{screen}")
            time.sleep(0.2)  # polling the screen with a deadline, not waiting for a fixed time

    def keys(self, *keys: str) -> None:
        subprocess.run(self.base + ["send-keys", "-t", "w", *keys], check=True)

    def kill(self) -> None:
        subprocess.run(self.base + ["kill-server"], capture_output=True)


@pytest.fixture
def pane_factory(tmp_path):
    tmux = _need_tmux()
    panes = []

    def make(command: str) -> Pane:
        pane = Pane(tmux, f"iclab-test-{os.getpid()}-{len(panes)}", command)
        panes.append(pane)
        return pane

    yield make
    for pane in panes:
        pane.kill()


def _watch_command(ws: Path, *extra: str) -> str:
    env = f"ICLAB_STATE_DIR={shlex.quote(os.environ['ICLAB_STATE_DIR'])} NO_COLOR=1 PYTHONPATH={shlex.quote(str(ROOT))}"
    cli = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "cli", "watch", *extra])
    # After the watch ends, its exit status stays on the screen for the test to read.
    return f"cd {shlex.quote(str(ws))} && env {env} {cli}; echo WATCH-EXIT=$?; sleep 600"


def _start(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    subprocess.run([sys.executable, "-m", "cli", "start", "map-customer", str(ws)], cwd=ROOT, check=True,
                   capture_output=True)
    return ws


def test_watch_checks_on_every_save_in_place_and_answers_keys(tmp_path, pane_factory):
    ws = _start(tmp_path)
    pane = pane_factory(_watch_command(ws))
    first = pane.wait_for("run 1 at", "score: 0/100", "visible tests: 0 passed, 12 failed")
    assert first.splitlines()[0].startswith("iclab watch: map-customer")
    assert "h hint   c check now   q quit   saves seen by inotify" in first

    reference = ROOT / "solutions/map-customer/reference/mapper.py"
    (ws / "mapper.py").write_bytes(reference.read_bytes())  # the learner saves
    second = pane.wait_for("run 2 at", "(mapper.py saved)", "score: 100/100", "visible tests: 12 passed, 0 failed")
    assert second.splitlines()[0].startswith("iclab watch:")  # redrawn in place, not scrolled
    assert "score: 0/100" not in second and "run 1 at" not in second

    pane.keys("h")
    pane.wait_for("hint 1 of 5: 1. Time zones", "score: 100/100")
    pane.keys("c")
    pane.wait_for("run 3 at", "(c pressed)")
    pane.keys("q")
    pane.wait_for("WATCH-EXIT=0")


def test_watch_falls_back_to_polling_and_still_sees_saves(tmp_path, pane_factory):
    ws = _start(tmp_path)
    pane = pane_factory(_watch_command(ws, "--poll"))
    pane.wait_for("run 1 at", "saves seen by polling (asked for with --poll)")
    (ws / "mapper.py").write_bytes((ROOT / "solutions/map-customer/flawed/ignores-timezone/mapper.py").read_bytes())
    pane.wait_for("run 2 at", "(mapper.py saved)", "score: 90/100", "FAIL  AC3 created-at-utc")
    pane.keys("q")
    pane.wait_for("WATCH-EXIT=0")


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class _SilentInotify:
    """An inotify watch that is accepted and then never reports anything (WSL2 /mnt/c, network folders)."""

    def __init__(self, root):
        self.read_end, self.write_end = os.pipe()
        self.fd = self.read_end

    def read(self):
        return set()

    def close(self):
        os.close(self.read_end)
        os.close(self.write_end)


def test_a_watch_whose_events_never_arrive_switches_to_polling(tmp_path):
    (tmp_path / "mapper.py").write_text("x = 1\n")
    clock = _Clock()
    watcher = Watcher(tmp_path, clock=clock, make_inotify=_SilentInotify)
    assert watcher.mode == "inotify" and watcher.changes() == set()
    (tmp_path / "mapper.py").write_text("x = 2  # saved\n")
    assert watcher.changes() == set()  # before the safety scan is due, nothing is known
    clock.now += SAFETY_SECONDS
    assert watcher.changes() == {"mapper.py"}
    assert watcher.mode == "polling" and watcher.note == "no file event came for mapper.py"
    (tmp_path / "helper.py").write_text("y = 1\n")
    clock.now += 1.0
    assert watcher.changes() == {"helper.py"}
    watcher.close()


def test_inotify_reports_a_save_at_once_and_ignores_editor_droppings(tmp_path):
    (tmp_path / "mapper.py").write_text("x = 1\n")
    (tmp_path / "fixtures").mkdir()
    watcher = Watcher(tmp_path)
    assert watcher.mode == "inotify"
    for name in (".mapper.py.swp", "mapper.py~", "4913"):
        (tmp_path / name).write_text("editor state\n")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "mapper.cpython-311.pyc").write_bytes(b"\0")
    assert watcher.changes() == set()
    (tmp_path / "fixtures" / "accounts.json").write_text("[]\n")
    replacement = tmp_path / "mapper.py.new"
    replacement.write_text("x = 2\n")
    replacement.rename(tmp_path / "mapper.py")  # how many editors save: write a new file, rename it over
    deadline = time.monotonic() + 10
    seen: set[str] = set()
    while not {"mapper.py", "fixtures/accounts.json"} <= seen and time.monotonic() < deadline:
        seen |= watcher.changes()
        time.sleep(0.01)
    assert {"mapper.py", "fixtures/accounts.json"} <= seen
    (tmp_path / "helpers").mkdir()
    (tmp_path / "helpers" / "phone.py").write_text("TRUNK = '0'\n")  # quite possibly before its folder is watched
    deadline = time.monotonic() + 10
    while "helpers/phone.py" not in seen and time.monotonic() < deadline:
        seen |= watcher.changes()
        time.sleep(0.01)
    assert "helpers/phone.py" in seen and watcher.mode == "inotify"
    watcher.close()
