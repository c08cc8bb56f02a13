"""Each breach the red team found (issue #11) stays closed, in both isolation modes.

Learner code here is plain functions in a module the sandbox imports; each
returns what it could see or do, and the assertions are made in this process.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import textwrap
import time
from pathlib import Path

import pytest

from graders import catalog, engine, paths
from graders.sandbox import Limits, Sandbox, isolation, zygote
from graders.sandbox.records import CallStatus

ROOT = Path(__file__).resolve().parents[2]


def _box(tmp_path: Path, source: str, name: str = "probe.py") -> Path:
    sub = tmp_path / "sub"
    sub.mkdir(exist_ok=True)
    (sub / name).write_text(textwrap.dedent(source))
    return sub


# -- 1. no host root: no sysctl written, no privileged host id --------------------------------------
SYSCTL = """
    import os
    def write_every_sysctl():
        written, tried = [], 0
        for folder, _dirs, files in os.walk("/proc/sys"):
            for name in files:
                path = os.path.join(folder, name)
                tried += 1
                try:
                    fd = os.open(path, os.O_WRONLY)
                except OSError:
                    continue
                os.close(fd)
                written.append(path)
        return {"tried": tried, "writable": written}

    def ids():
        try:
            with open("/proc/self/uid_map") as fh:
                uid_map = [line.split() for line in fh]
        except OSError as exc:
            uid_map = type(exc).__name__
        return {"uid": os.getuid(), "euid": os.geteuid(), "uid_map": uid_map}
"""


def test_no_sysctl_is_writable_from_inside(tmp_path, mode):
    with Sandbox(_box(tmp_path, SYSCTL)) as box:
        seen = box.call("probe:write_every_sysctl").value
    assert seen["writable"] == []
    if mode == isolation.Isolation.NAMESPACE:
        assert seen["tried"] > 100  # it really walked /proc/sys (process mode may not even list it)


def test_the_child_maps_to_no_privileged_host_id(tmp_path, mode):
    with Sandbox(_box(tmp_path, SYSCTL)) as box:
        seen = box.call("probe:ids").value
    if mode == isolation.Isolation.NAMESPACE:
        outer = {int(line[1]) for line in seen["uid_map"]}
        assert 0 not in outer and os.geteuid() not in outer or os.geteuid() != 0
        assert all(uid != 0 or os.geteuid() != 0 for uid in outer)
        if os.geteuid() == 0:
            inside = {int(line[0]): int(line[1]) for line in seen["uid_map"]}
            assert inside[seen["uid"]] >= 100_000  # an id no account on the host has
    elif seen["uid"] == 0:
        # Process mode as root without an id of its own: every result says so.
        assert any("id of its own" in p for p in isolation.protections(mode))


# -- 2. nothing of the project, .git included, and no other copy of it ---------------------------------
def test_no_path_of_the_project_or_of_another_copy_can_be_opened(tmp_path, mode):
    copy = tmp_path / "another-checkout"
    shutil.copytree(ROOT / "solutions" / "map-customer", copy / "solutions" / "map-customer")
    targets = [ROOT, ROOT / ".git", ROOT / ".git" / "HEAD", paths.SOLUTIONS,
               paths.SOLUTIONS / "map-customer" / "reference" / "mapper.py", ROOT / "graders" / "labs",
               ROOT / "tests", copy, copy / "solutions" / "map-customer" / "reference" / "mapper.py",
               Path(__file__)]
    source = f"""
        import os
        TARGETS = {[str(t) for t in targets]!r}
        def reach():
            out = {{}}
            for path in TARGETS:
                try:
                    if os.path.isdir(path):
                        out[path] = sorted(os.listdir(path))
                    else:
                        with open(path, "rb") as fh:
                            out[path] = fh.read(40).decode("latin-1")
                except OSError as exc:
                    out[path] = type(exc).__name__
            return out
    """
    with Sandbox(_box(tmp_path, source)) as box:
        seen = box.call("probe:reach").value
    # A venv inside the checkout is on the way to the allowed libraries: the folders leading to it may
    # show as empty mount points, holding nothing but the next folder on that way.
    on_the_way = {part for site_dir in zygote.site_dirs() for part in Path(site_dir).parts}
    opened = {path: what for path, what in seen.items()
              if not (isinstance(what, str) and what.endswith("Error"))
              and not (isinstance(what, list) and set(what) <= on_the_way)}
    assert opened == {}


def test_git_inside_the_sandbox_finds_no_repository(tmp_path, mode):
    source = """
        import subprocess
        def git_log():
            try:
                done = subprocess.run(["git", "-C", %r, "log", "-1"], capture_output=True, text=True, timeout=10)
                return done.returncode, done.stdout[:200]
            except OSError as exc:
                return -1, type(exc).__name__
    """ % str(ROOT)
    with Sandbox(_box(tmp_path, source)) as box:
        code, out = box.call("probe:git_log").value
    assert code != 0 and "commit" not in out


# -- 4. the mock's admin API is gone, and only the mock is reachable ------------------------------------
def test_only_the_mock_is_reachable_and_its_admin_api_is_off(tmp_path, mode):
    from mock_services import build, serve

    from graders.sandbox.network import listener

    outside = socket.socket()
    outside.bind(("127.0.0.1", 0))
    outside.listen(8)
    source = """
        import socket, urllib.request, urllib.error
        def reach(mock_port, other_port):
            out = {}
            for name, port in (("mock", mock_port), ("other", other_port)):
                s = socket.socket()
                s.settimeout(3)
                try:
                    s.connect(("127.0.0.1", port))
                    out[name] = "connected"
                except OSError as exc:
                    out[name] = type(exc).__name__
                finally:
                    s.close()
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{mock_port}/__admin/journal", timeout=5)
                out["admin"] = 200
            except urllib.error.HTTPError as exc:
                out["admin"] = exc.code
            except OSError as exc:
                out["admin"] = type(exc).__name__
            return out
    """
    crm = build("crm")
    try:
        with Sandbox(_box(tmp_path, source), Limits(network=True)) as box, \
                serve(crm, sock=listener()) as server:
            seen = box.call("probe:reach", server.port, outside.getsockname()[1]).value
    finally:
        outside.close()
    assert seen["mock"] == "connected"
    assert seen["other"] != "connected"
    assert seen["admin"] == 404
    assert [e.path for e in crm.journal.entries()] == ["/__admin/journal"]  # probing it is evidence


def test_a_lab_without_network_reaches_nothing(tmp_path, mode):
    outside = socket.socket()
    outside.bind(("127.0.0.1", 0))
    outside.listen(8)
    source = """
        import socket
        def reach(port):
            s = socket.socket()
            s.settimeout(3)
            try:
                s.connect(("127.0.0.1", port))
                return "connected"
            except OSError as exc:
                return type(exc).__name__
    """
    try:
        with Sandbox(_box(tmp_path, source), Limits(network=False)) as box:
            assert box.call("probe:reach", outside.getsockname()[1]).value != "connected"
    finally:
        outside.close()


# -- 5. writes never persist on the host ---------------------------------------------------------------
def test_writes_outside_its_folder_do_not_reach_the_host(tmp_path, mode):
    tag = f"iclab-persist-{os.getpid()}-{mode}"
    places = [f"/dev/{tag}", f"/dev/shm/{tag}", f"/tmp/{tag}", f"/var/tmp/{tag}", f"/etc/{tag}", f"/root/{tag}",
              str(paths.ROOT / "fixtures" / tag), str(paths.SOLUTIONS / tag)]
    source = f"""
        import os
        PLACES = {places!r}
        def scribble():
            done = {{}}
            for path in PLACES:
                try:
                    with open(path, "w") as fh:
                        fh.write("persisted")
                    done[path] = "written"
                except OSError as exc:
                    done[path] = type(exc).__name__
            with open("mine.txt", "w") as fh:
                fh.write("mine")
            return done
    """
    with Sandbox(_box(tmp_path, source)) as box:
        record = box.call("probe:scribble")
    assert record.ok
    left = [p for p in places if os.path.exists(p)]
    for path in left:  # never leave the host dirtier than the test found it
        os.unlink(path)
    assert left == []


# -- 6. hard budgets: no clock the child can hold back ---------------------------------------------------
FORGER = """
    import os, time, json
    def hold_the_clock():
        # Write fake "importing" events on the answer channel (one of its pipes), forever.
        pipes = []
        for candidate in range(3, 64):
            try:
                if os.readlink(f"/proc/self/fd/{candidate}").startswith("pipe:"):
                    pipes.append(candidate)
            except OSError:
                continue
        while True:
            for fd in pipes:
                try:
                    os.write(fd, (json.dumps({"event": "importing", "module": "x", "cpu": 0}) + "\\n").encode())
                except OSError:
                    pass
            time.sleep(0.05)

    def slow():
        time.sleep(0.6)
        return 1
"""


def test_importing_events_cannot_hold_a_call_past_its_deadline(tmp_path, mode):
    with Sandbox(_box(tmp_path, FORGER), Limits(call_timeout=1.0)) as box:
        started = time.monotonic()
        record = box.call("probe:hold_the_clock")
        took = time.monotonic() - started
    assert record.status in (CallStatus.TIMED_OUT, CallStatus.CRASHED)
    assert took < 3.5  # one call timeout, plus at most one restart for a (real) import


def test_a_grading_never_runs_past_its_budget(tmp_path, mode):
    limits = Limits(call_timeout=1.0, grading_budget=2.0)
    with Sandbox(_box(tmp_path, FORGER), limits, deadline=time.monotonic() + limits.grading_budget) as box:
        started = time.monotonic()
        records = [box.call("probe:slow") for _ in range(10)]
        took = time.monotonic() - started
    assert took < 3.0
    assert records[0].ok
    assert records[-1].status is CallStatus.TIMED_OUT and "time budget" in records[-1].detail


# -- 7. the grader's memory does not follow the learner's answers -----------------------------------------
def test_answers_are_bounded_per_answer_and_per_grading(tmp_path, mode):
    source = """
        def big(mb):
            return "x" * (mb * 1000 * 1000)
    """
    limits = Limits(response_bytes=2_000_000, answer_budget=6_000_000)
    with Sandbox(_box(tmp_path, source), limits) as box:
        too_big = box.call("probe:big", 3)
        fits = [box.call("probe:big", 1) for _ in range(8)]
    assert too_big.status is CallStatus.RAISED and "limit" in too_big.error.message
    assert fits[0].ok
    assert fits[-1].status is CallStatus.CRASHED and "budget" in fits[-1].detail


# -- 8. values the learner sends cannot crash the grader ----------------------------------------------------
def test_a_hand_written_answer_nested_100000_deep_is_a_protocol_failure(tmp_path, mode):
    source = """
        import os
        def deep():
            for candidate in range(3, 64):
                try:
                    target = os.readlink(f"/proc/self/fd/{candidate}")
                except OSError:
                    continue
                if target.startswith("pipe:"):  # the answer channel is one of these: try each
                    try:
                        os.write(candidate, b'{"id": 1, "ok": true, "value": ' + b"[" * 100000 + b"]" * 100000 + b"}\\n")
                    except OSError:
                        pass
            return 0
    """
    with Sandbox(_box(tmp_path, source)) as box:
        record = box.call("probe:deep")
    assert record.status is CallStatus.CRASHED
    assert "answer channel" in record.detail or "nested" in record.detail


# -- 9. the runtime's modules load ahead of the submission's, limits first -------------------------------
def test_submitted_stdlib_names_cannot_replace_the_runtime_or_lift_limits(tmp_path, mode):
    sub = _box(tmp_path, """
        import resource, base64
        def check():
            return {"as": resource.getrlimit(resource.RLIMIT_AS)[0], "b64": base64.b64encode(b"x").decode(),
                    "resource_file": getattr(resource, "__file__", "built-in")}
    """)
    for name in ("resource.py", "base64.py", "decimal.py", "json.py", "_iclab_wire.py"):
        (sub / name).write_text("raise SystemExit('the submission's module ran')\n")
    for new_interpreter in (False, True):
        with Sandbox(sub, Limits(memory_mb=700), new_interpreter=new_interpreter) as box:
            seen = box.call("probe:check").value
        assert seen["as"] == 700 * 1024 * 1024
        assert seen["b64"] == "eA=="
        assert "sub" not in str(seen["resource_file"]) and "submission" not in str(seen["resource_file"])


# -- 10. links out of the submission are not followed ----------------------------------------------------------
def test_a_learner_file_that_links_to_the_reference_is_not_read(tmp_path, mode):
    lab = catalog.get_lab("map-customer")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "mapper.py").symlink_to(catalog.reference(lab) / "mapper.py")
    result = engine.grade(lab, sub)
    assert result.score == 0
    assert "has no mapper.py" in result.problems[0]


# -- process mode: the grader itself is out of reach ------------------------------------------------------------
def test_the_grader_cannot_be_signalled_traced_or_escaped(tmp_path, mode):
    me = os.getpid()
    source = f"""
        import ctypes, os, signal
        def attack():
            out = {{}}
            for name, pid in (("grader", {me}), ("init", 1)):
                try:
                    os.kill(pid, 0)
                    out[name] = "signalled"
                except OSError as exc:
                    out[name] = type(exc).__name__
            libc = ctypes.CDLL(None, use_errno=True)
            out["ptrace"] = libc.ptrace(16, {me}, 0, 0)  # PTRACE_ATTACH
            try:
                os.setsid()
                out["setsid"] = "new session"
            except OSError as exc:
                out["setsid"] = type(exc).__name__
            return out
    """
    with Sandbox(_box(tmp_path, source)) as box:
        seen = box.call("probe:attack").value
    assert seen["grader"] != "signalled"
    assert seen["ptrace"] == -1
    if mode == isolation.Isolation.PROCESS:
        assert seen["setsid"] != "new session"


def test_results_say_which_protections_were_missing(tmp_path, mode):
    lab = catalog.get_lab("map-customer")
    result = engine.grade(lab, catalog.reference(lab))
    assert result.sandbox.startswith(mode)
    assert list(result.sandbox_missing) == list(isolation.protections(mode))
    if mode == isolation.Isolation.PROCESS:
        assert any("namespaces" in p for p in result.sandbox_missing)
    doc = json.loads(json.dumps(result.sandbox_missing))
    assert doc == list(result.sandbox_missing)


# -- the allowlist: only the libraries a lab names ------------------------------------------------------------
def test_a_child_imports_only_the_libraries_its_lab_allows(tmp_path, mode):
    source = """
        import importlib
        def which():
            out = {}
            for name in ("lxml.etree", "duckdb", "requests", "json"):
                try:
                    importlib.import_module(name)
                    out[name] = "imported"
                except (ImportError, OSError):  # process mode: Landlock refuses to read it
                    out[name] = "refused"
            return out
    """
    sub = _box(tmp_path, source)
    with Sandbox(sub, Limits(libraries=())) as box:
        none = box.call("probe:which").value
    with Sandbox(sub, Limits(libraries=("lxml",))) as box:
        some = box.call("probe:which").value
    assert none == {"lxml.etree": "refused", "duckdb": "refused", "requests": "refused", "json": "imported"}
    assert some == {"lxml.etree": "imported", "duckdb": "refused", "requests": "refused", "json": "imported"}
