"""The namespace-mode fork server: children forked from a warm interpreter are as isolated as launched ones.

Two children of the same server are alive at once in these tests, so each
could try to reach the other, or the server itself.
"""
from __future__ import annotations

import json
import os
import textwrap

import pytest

from graders import catalog, engine
from graders.render.json_result import to_dict
from graders.sandbox import Sandbox, isolation, zygote

pytestmark = pytest.mark.skipif(
    isolation.detect() != isolation.Isolation.NAMESPACE,
    reason="needs Linux namespaces (root or unprivileged user namespaces)",
)

PROBE = textwrap.dedent("""
    import os, random, socket
    def look():
        fds = {}
        for fd in os.listdir("/proc/self/fd"):
            try:
                fds[fd] = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                pass
        return {
            "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
            "fds": fds,
            "sandboxes": sorted(os.listdir("/.sandboxes")),
            "me": os.getcwd(),
            "here": sorted(os.listdir(".")),
            "random": random.random(),
            "uid": os.getuid(),
            "ppid": os.getppid(),
        }
    def write_home():
        with open("mine.txt", "w") as fh:
            fh.write("x")
        return sorted(os.listdir("."))
""")


@pytest.fixture
def submission(tmp_path, monkeypatch):
    monkeypatch.setenv("ICLAB_SANDBOX", "namespace")
    monkeypatch.delenv("ICLAB_FORKSERVER", raising=False)
    isolation.detect.cache_clear()
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "probe.py").write_text(PROBE)
    yield sub
    isolation.detect.cache_clear()


def test_children_are_forked_by_the_server_and_cannot_see_each_other_or_it(submission):
    with Sandbox(submission) as a, Sandbox(submission) as b:
        seen_a = a.call("probe:look").value
        seen_b = b.call("probe:look").value
        assert isinstance(a._child.proc, zygote.ForkedProcess)
        assert isinstance(b._child.proc, zygote.ForkedProcess)
        assert a._child.proc.zygote is b._child.proc.zygote
    for seen in (seen_a, seen_b):
        assert seen["pids"] == [1], "a child sees only its own PID namespace"
        assert seen["ppid"] == 0, "its parent (the fork server) is outside its namespace"
        assert seen["sandboxes"] == [], f"other sandboxes are visible: {seen['sandboxes']}"
        assert seen["me"] == "/submission"
        targets = set(seen["fds"].values())
        assert not any(t.startswith("socket:") for t in targets), f"the server's socket leaked: {targets}"
        assert len(seen["fds"]) <= 6, seen["fds"]
    assert seen_a["random"] != seen_b["random"], "forked children must not share a random sequence"


def test_a_child_writes_only_its_own_copy(submission):
    with Sandbox(submission) as a, Sandbox(submission) as b:
        assert "mine.txt" in a.call("probe:write_home").value
        assert "mine.txt" not in b.call("probe:look").value["here"]
    assert not (submission / "mine.txt").exists()


def test_a_dead_fork_server_is_replaced_and_no_call_is_lost(submission):
    with Sandbox(submission) as sb:
        first = sb.call("probe:look")
        server = sb._child.proc.zygote
    server.proc.kill()
    server.proc.wait()
    with Sandbox(submission) as sb:
        again = sb.call("probe:look")
        assert sb._child.proc.zygote is not server
    assert first.value["pids"] == again.value["pids"] == [1]


def test_forked_and_launched_children_grade_alike(monkeypatch, tmp_path):
    monkeypatch.setenv("ICLAB_SANDBOX", "namespace")
    isolation.detect.cache_clear()
    lab = catalog.get_lab("map-customer")
    flaw = catalog.flaws(lab)[0]
    verdicts = {}
    for forked in ("1", "0"):
        monkeypatch.setenv("ICLAB_FORKSERVER", forked)
        for name, folder in (("reference", catalog.reference(lab)), (flaw.name, flaw.folder)):
            result = to_dict(engine.grade(lab, folder))
            verdicts[forked, name] = json.dumps(
                [(c["id"], c["status"], c["points"], c["reason"], c["evidence"]) for c in result["checks"]], sort_keys=True)
    isolation.detect.cache_clear()
    assert verdicts["1", "reference"] == verdicts["0", "reference"]
    assert verdicts["1", flaw.name] == verdicts["0", flaw.name]
    assert verdicts["1", "reference"] != verdicts["1", flaw.name]


def test_the_server_starts_nothing_when_turned_off(submission, monkeypatch):
    monkeypatch.setenv("ICLAB_FORKSERVER", "0")
    with Sandbox(submission) as sb:
        assert sb.call("probe:look").value["pids"] == [1]
        assert not isinstance(sb._child.proc, zygote.ForkedProcess)


def test_a_fork_server_that_cannot_start_is_not_tried_again_and_children_are_launched(submission, monkeypatch):
    import sys
    import threading
    import types

    attempts = []
    real_boot = zygote.launcher.boot

    def broken_boot(role, *args, **kwargs):
        if role != "zygote":
            return real_boot(role, *args, **kwargs)
        attempts.append(role)
        raise zygote.launcher.BootError(0, "fork server stopped (for the test)")

    monkeypatch.setattr(zygote, "launcher", types.SimpleNamespace(boot=broken_boot, BootError=zygote.launcher.BootError))
    monkeypatch.setattr(zygote, "_local", threading.local())
    monkeypatch.setattr(zygote, "_unusable", None)
    for _ in range(3):
        with Sandbox(submission) as sb:
            assert sb.call("probe:look").value["pids"] == [1]
            assert not isinstance(sb._child.proc, zygote.ForkedProcess)
    assert len(attempts) == 1
    assert "fork server stopped" in zygote._unusable


def test_each_child_has_its_own_ipc_namespace(submission):
    (submission / "ipc.py").write_text(textwrap.dedent("""
        import os
        def ns():
            return os.readlink("/proc/self/ns/ipc")
    """))
    with Sandbox(submission) as a, Sandbox(submission) as b:
        first, second = a.call("ipc:ns").value, b.call("ipc:ns").value
    assert first.startswith("ipc:[") and second.startswith("ipc:[")
    assert first != second
    assert first != os.readlink("/proc/self/ns/ipc")
