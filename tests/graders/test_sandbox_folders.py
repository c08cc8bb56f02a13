"""What a killed grading leaves in the temporary folder is removed by the next one."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from graders.sandbox import folders

ROOT = Path(__file__).resolve().parents[2]


def test_folders_of_dead_processes_go_and_live_ones_stay(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    gone_pid = int(dead.stdout)
    stale = tmp_path / "sb-stale"
    stale.mkdir()
    (stale / ".owner").write_text(f"{gone_pid} 12345")
    mine = tmp_path / "sb-mine"
    mine.mkdir()
    (mine / ".owner").write_text(folders._me())
    fresh = tmp_path / "sb-unmarked-fresh"
    fresh.mkdir()
    old = tmp_path / "sb-unmarked-old"
    old.mkdir()
    os.utime(old, (time.time() - 86400, time.time() - 86400))
    assert folders.sweep_stale(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sb-mine", "sb-unmarked-fresh"]


def test_a_grading_killed_mid_way_leaves_nothing_for_long(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "mapper.py").write_text("def load_lookups(directory):\n    while True:\n        pass\n")
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from graders import catalog, engine
        engine.grade(catalog.get_lab("map-customer"), Path({str(sub)!r}))
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)

    def made() -> set[str]:  # the folders the killed grading marked as its own (other graders may be running)
        out = set()
        for folder in folders.base().iterdir():
            try:
                if (folder / ".owner").read_text().split()[0] == str(proc.pid):
                    out.add(folder.name)
            except (OSError, IndexError):
                continue
        return out

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(n.startswith("sb-") and (folders.base() / n / "work").is_dir()
                                                  for n in made()):
        time.sleep(0.05)  # polling the file system for the other process's folder, not synchronising with it
    left = made()
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert any(n.startswith("sb-") for n in left), "the grading never made its sandbox folder"
    assert left <= {p.name for p in folders.base().iterdir()}, "it cleaned up after all: nothing to test"
    # Its sandboxes die with it, a moment later (their parent-death signal): sweep as a later run would.
    deadline = time.monotonic() + 20
    while left & {p.name for p in folders.base().iterdir()} and time.monotonic() < deadline:
        folders.sweep_stale(folders.base())
        time.sleep(0.1)
    assert not left & {p.name for p in folders.base().iterdir()}
