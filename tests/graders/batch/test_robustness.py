"""No traceback, nothing half-written, nothing left behind: the batch under bad disks, bad input, kills and Ctrl+C."""
from __future__ import annotations

import errno
import fcntl
import json
import os
import pty
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

import pytest

from graders import atomic
from graders.scratch import BUILD_PREFIX, RUN_PREFIX
from graders.errors import OutputError

ROOT = Path(__file__).resolve().parents[3]
REFERENCE = ROOT / "solutions" / "map-customer" / "reference" / "mapper.py"
CAN_MOUNT = os.geteuid() == 0 and shutil.which("unshare") is not None and sys.platform == "linux"
OUTPUTS = ("gradebook.duckdb", "gradebook.csv", "gradebook-wide.csv", "gradebook.json", "report.html", "junit")


def iclab_argv(*args) -> list[str]:
    return [sys.executable, "-m", "cli", *map(str, args)]


def run(argv, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600, **kw)


def _cohort(root: Path, n: int, body: str | None = None) -> Path:
    for i in range(n):
        dest = root / f"learner{i:02d}" / "map-customer"
        dest.mkdir(parents=True)
        if body is None:
            shutil.copyfile(REFERENCE, dest / "mapper.py")
        else:
            (dest / "mapper.py").write_text(body)
    return root


def _one_line(result: subprocess.CompletedProcess, code: int, *words: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("iclab: "), result.stderr
    for word in words:
        assert word in last, (word, last)


# --------------------------------------------------------------------------- read-only output folders


def _read_only(folder: Path, argv: list[str]) -> subprocess.CompletedProcess:
    """Run ``argv`` with ``folder`` read-only: a read-only bind mount as root (root ignores modes), else mode 555."""
    folder.mkdir(parents=True, exist_ok=True)
    if CAN_MOUNT:
        script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
        return run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", str(folder), *argv])
    folder.chmod(0o555)
    try:
        return run(argv)
    finally:
        folder.chmod(0o755)


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    """A finished batch output (two learners) to merge from."""
    base = tmp_path_factory.mktemp("graded")
    subs = _cohort(base / "subs", 2)
    result = run(iclab_argv("batch", subs, "--out", base / "out", "--jobs", "2"))
    assert result.returncode == 0, result.stderr
    return base


@pytest.mark.parametrize("command", ["batch", "grade", "export", "merge"])
def test_a_read_only_output_folder_is_one_line_and_leaves_nothing(graded, tmp_path, command):
    ro = tmp_path / "ro"
    argv = {
        "batch": iclab_argv("batch", graded / "subs", "--out", ro / "out"),
        "grade": iclab_argv("grade", "map-customer", REFERENCE.parent, "--format", "json", "-o", ro / "result.json"),
        "export": iclab_argv("export", "map-customer", "-o", ro / "bundle.zip"),
        "merge": iclab_argv("merge", graded / "out", "--out", ro),
    }[command]
    result = _read_only(ro, argv)
    _one_line(result, 1, "cannot write", str(ro))
    assert list(ro.iterdir()) == [], "nothing half-written"


# --------------------------------------------------------------------------- a full disk


def _small_disk(folder: Path, size: str, argv: list[str], keep: Path) -> subprocess.CompletedProcess:
    """Run ``argv`` with ``folder`` on a ``size`` tmpfs; what it held afterwards is copied to ``keep``."""
    folder.mkdir(parents=True, exist_ok=True)
    keep.mkdir(parents=True, exist_ok=True)
    script = ('mount -t tmpfs -o size="$2" tmpfs "$1" || exit 99; d="$1"; k="$3"; shift 3; "$@"; rc=$?; '
              'cp -a "$d"/. "$k"/; exit $rc')
    return run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", str(folder), size, str(keep),
                *argv])


@pytest.mark.skipif(not CAN_MOUNT, reason="needs root and unshare to mount a small tmpfs")
def test_a_disk_full_while_building_the_gradebook_leaves_no_partial_file(tmp_path):
    subs = _cohort(tmp_path / "subs", 3)
    disk, kept = tmp_path / "disk", tmp_path / "kept"
    # Room for the journal (about 5 KB a grading), none for a DuckDB file (256 KB blocks).
    result = _small_disk(disk, "64k", iclab_argv("batch", subs, "--out", disk / "out", "--jobs", "2"), kept)
    assert result.returncode != 99, "could not mount the tmpfs"
    _one_line(result, 1, "cannot write", "disk is full")
    out = kept / "out"
    assert sorted(p.name for p in out.iterdir()) == ["journal.jsonl", "run.json"], "no output half-written"
    # No grading was lost: the journal holds all three, and a rerun with room builds without regrading.
    lines = (out / "journal.jsonl").read_bytes().splitlines()
    assert len(lines) == 3 and all(json.loads(line)["result"]["score"] == 100 for line in lines)
    rerun = run(iclab_argv("batch", subs, "--out", out))
    assert rerun.returncode == 0, rerun.stderr
    assert "graded 0 now, 3 already in the journal" in rerun.stdout


@pytest.mark.skipif(not CAN_MOUNT, reason="needs root and unshare to mount a small tmpfs")
def test_a_disk_full_while_journaling_stops_the_run_with_whole_lines_only(tmp_path):
    subs = _cohort(tmp_path / "subs", 10)
    disk, kept = tmp_path / "disk", tmp_path / "kept"
    result = _small_disk(disk, "16k", iclab_argv("batch", subs, "--out", disk / "out", "--jobs", "2"), kept)
    assert result.returncode != 99, "could not mount the tmpfs"
    _one_line(result, 1, "cannot write", "journal.jsonl", "disk is full")
    out = kept / "out"
    data = (out / "journal.jsonl").read_bytes()
    assert data == b"" or data.endswith(b"\n"), "a torn line was left"
    recorded = [json.loads(line)["unit"] for line in data.splitlines()]
    assert 0 < len(recorded) < 10
    assert not [p for p in out.iterdir() if p.name in OUTPUTS]
    rerun = run(iclab_argv("batch", subs, "--out", out))
    assert rerun.returncode == 0, rerun.stderr
    assert f"graded {10 - len(recorded)} now, {len(recorded)} already in the journal" in rerun.stdout


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "report.html"
    target.write_text("the complete old report")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(OutputError, match="disk is full"):
        atomic.write_text(target, "a new report that never fully lands" * 1000)
    assert target.read_text() == "the complete old report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_grade_writes_into_a_folder_that_does_not_exist_yet(tmp_path):
    out = tmp_path / "new" / "dir" / "out.json"
    result = run(iclab_argv("grade", "map-customer", REFERENCE.parent, "--format", "json", "-o", out))
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text())["score"] == 100
    assert (out.stat().st_mode & 0o777) == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --------------------------------------------------------------------------- bad input is found up front


@pytest.mark.parametrize("content", ["{not json", '{"shard": 3}', '["a list"]', ""])
def test_a_corrupt_run_json_is_one_line_in_batch_and_merge(graded, tmp_path, content):
    out = tmp_path / "out"
    shutil.copytree(graded / "out", out)
    (out / "run.json").write_text(content)
    _one_line(run(iclab_argv("batch", graded / "subs", "--out", out)), 2, "run.json")
    _one_line(run(iclab_argv("merge", out, "--out", tmp_path / "merged")), 2, "run.json")
    assert not (tmp_path / "merged").exists()


def test_a_malformed_lab_toml_stops_the_batch_before_any_grading(tmp_path):
    home = tmp_path / "home"
    for lab in ("map-customer", "pii-logging"):
        shutil.copytree(ROOT / "labs" / lab, home / "labs" / lab)
    toml = home / "labs" / "map-customer" / "lab.toml"
    toml.write_text(toml.read_text().replace("minutes = 60", 'minutes = "sixty"'))
    subs = tmp_path / "subs"
    shutil.copytree(ROOT / "solutions" / "pii-logging" / "reference", subs / "ana" / "pii-logging")  # a good lab first
    _cohort(subs, 2)
    env = dict(os.environ, ICLAB_HOME=str(home))
    result = run(iclab_argv("batch", subs, "--out", tmp_path / "out"), env=env)
    _one_line(result, 2, "labs/map-customer/lab.toml", "minutes")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "journal.jsonl").exists(), "nothing was graded before the manifest was read"


# --------------------------------------------------------------------------- leftovers of dead runs


_HOLD = """
import sys, time
from pathlib import Path
from graders.scratch import scratch_folder
base = Path(sys.argv[2]) if len(sys.argv) > 2 else None
with scratch_folder(sys.argv[1], base) as folder:
    (folder / "unpacked.bin").write_bytes(b"x" * 100_000)
    print(folder, flush=True)
    sys.stdin.read()  # hold the folder until told to stop
"""


def _holder(prefix: str, base: Path | None = None) -> tuple[subprocess.Popen, Path]:
    argv = [sys.executable, "-c", _HOLD, prefix] + ([str(base)] if base else [])
    proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    folder = Path(proc.stdout.readline().strip())
    assert folder.is_dir() and folder.name.startswith(prefix)
    return proc, folder


def test_a_run_cleans_up_what_killed_runs_left_and_spares_live_ones(tmp_path):
    live, live_folder = _holder(RUN_PREFIX)
    dead, dead_folder = _holder(RUN_PREFIX)
    dead.send_signal(signal.SIGKILL)
    dead.communicate()
    out = tmp_path / "out"
    out.mkdir()
    dead_build, dead_build_folder = _holder(BUILD_PREFIX, out)
    dead_build.send_signal(signal.SIGKILL)
    dead_build.communicate()
    try:
        assert dead_folder.is_dir() and dead_build_folder.is_dir(), "kill -9 leaves the folders behind"
        subs = _cohort(tmp_path / "subs", 1)
        result = run(iclab_argv("batch", subs, "--out", out))
        assert result.returncode == 0, result.stderr
        assert not dead_folder.exists(), "the dead run's scratch folder was not removed"
        assert not dead_build_folder.exists(), "the dead build's folder in the output was not removed"
        assert live_folder.is_dir(), "a live run's folder must be left alone"
        assert not [p for p in out.iterdir() if p.name.startswith(BUILD_PREFIX)]
        assert not list(Path(tempfile.gettempdir()).glob(f"{RUN_PREFIX}{os.getpid()}-*"))
    finally:
        live.communicate(timeout=30)  # its stdin closes: it leaves its folder the ordinary way
    assert not live_folder.exists(), "a run removes its own folder when it ends"


# --------------------------------------------------------------------------- Ctrl+C and the progress line

_SLOW = """\
import time


def map_account(account, lookups):
    time.sleep(60)


def map_batch(accounts, lookups):
    time.sleep(60)
"""


def test_ctrl_c_answers_within_about_a_second(tmp_path):
    subs = _cohort(tmp_path / "subs", 4, _SLOW)
    out = tmp_path / "out"
    proc = subprocess.Popen(iclab_argv("batch", subs, "--out", out, "--jobs", "2"), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    scratch = Path(tempfile.gettempdir())
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # until gradings are in flight: their unpack folders exist
        if list(scratch.glob(f"{RUN_PREFIX}{proc.pid}-*/unit-*")):
            break
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    else:
        pytest.fail("no grading started")
    started = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends the foreground process group on Ctrl+C
    try:
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    latency = time.monotonic() - started
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "run the same command again" in stderr and "Traceback" not in stderr
    assert latency < 2.5, f"Ctrl+C took {latency:.2f} s to answer (gradings in flight take 10 s or more)"
    assert not list(scratch.glob(f"{RUN_PREFIX}{proc.pid}-*")), "the interrupted run left its scratch folder"


def test_a_narrow_terminal_gets_one_progress_line_redrawn_in_place(tmp_path):
    subs = _cohort(tmp_path / "subs", 6)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 45, 0, 0))
    proc = subprocess.Popen(iclab_argv("batch", subs, "--out", tmp_path / "out", "--jobs", "2"), cwd=ROOT,
                            stdin=slave, stdout=slave, stderr=slave, env=dict(os.environ, COLUMNS="45"))
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal's other side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=60) == 0
    text = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    first = text.index("\r")  # the bar is drawn with carriage returns...
    drawn = text[first:text.index("\n", first)]
    frames = [f for f in drawn.split("\r") if f.strip()]
    assert len(frames) == 6, frames  # ...one frame per grading, all on one line
    for frame in frames:
        assert len(frame) <= 44, f"{frame!r} is {len(frame)} columns: it wraps on a 45-column terminal"
    assert re.search(r"6/6", frames[-1])
