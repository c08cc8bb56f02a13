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
from graders.scratch import sweep

ROOT = Path(__file__).resolve().parents[2]


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

    def made() -> set[str]:  # the killed grading's folders (other graders may be running): <prefix><pid>-XXXX
        return {f.name for f in folders.base().iterdir()
                if any(f.name.startswith(f"{prefix}{proc.pid}-") for prefix in folders.PREFIXES)}

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
        for prefix in folders.PREFIXES:
            sweep(prefix, folders.base())
        time.sleep(0.1)
    assert not left & {p.name for p in folders.base().iterdir()}
