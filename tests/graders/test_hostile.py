"""Hostile and broken submissions: each gets a clear verdict, and the grader carries on.

Every case is a mapper.py for map-customer. The reference's code is appended
after the hostile part where the attack needs working functions, so that a
submission could only score by cheating; the assertions prove it cannot.
"""
from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from graders import catalog, engine
from graders.results import Status
from graders.sandbox import isolation

REFERENCE = (Path(__file__).resolve().parents[2] / "solutions/map-customer/reference/mapper.py").read_text()
NAMESPACE_ONLY = [isolation.Isolation.NAMESPACE] if isolation.detect() == isolation.Isolation.NAMESPACE else []


def _grade(tmp_path, source: str, *, timeout: float | None = None):
    sub = tmp_path / "sub"
    sub.mkdir(exist_ok=True)
    (sub / "mapper.py").write_text(textwrap.dedent(source))
    lab = catalog.get_lab("map-customer")
    if timeout is not None:
        from dataclasses import replace
        lab = replace(lab, limits=replace(lab.limits, call_timeout=timeout))
    return engine.grade(lab, sub)


def _statuses(result):
    return {c.id: c.status for c in result.checks}


def test_syntax_error_errors_every_check_with_the_line(tmp_path, mode):
    result = _grade(tmp_path, "def map_account(:\n    pass\n")
    assert result.score == 0
    assert all(c.status is Status.FAILED or c.status is Status.ERRORED for c in result.checks)
    assert "SyntaxError" in result.checks[0].reason


def test_import_error_is_named(tmp_path, mode):
    result = _grade(tmp_path, "import no_such_module_here\n")
    assert result.score == 0
    assert "No module named 'no_such_module_here'" in result.checks[0].reason


def test_missing_entry_point_fails_only_its_checks(tmp_path, mode):
    source = REFERENCE.replace("def map_batch(", "def map_batch_renamed(")
    result = _grade(tmp_path, source)
    st = _statuses(result)
    assert st["batch-partition"] is Status.FAILED
    assert "defines no function map_batch()" in next(c.reason for c in result.checks if c.id == "batch-partition")
    assert st["created-at-utc"] is Status.PASSED


def test_wrong_signature_is_reported_as_type_error(tmp_path, mode):
    source = REFERENCE + "\n\ndef load_lookups():\n    return {}\n"
    result = _grade(tmp_path, source)
    check = next(c for c in result.checks if c.id == "lookups-load")
    assert check.status is Status.FAILED
    assert "TypeError" in check.reason


def test_infinite_loop_times_out_and_a_fresh_child_serves_the_rest(tmp_path, mode):
    source = REFERENCE + textwrap.dedent("""
        _real_load = load_lookups
        def load_lookups(directory):
            while True:
                pass
    """)
    result = _grade(tmp_path, source, timeout=1.0)
    st = _statuses(result)
    assert st["lookups-load"] is Status.ERRORED
    assert "did not return within 1 s" in next(c.reason for c in result.checks if c.id == "lookups-load")
    assert result.score == result.max_score - 5


def test_a_hang_at_import_costs_one_timeout_not_one_per_call(tmp_path, mode):
    result = _grade(tmp_path, "while True:\n    pass\n", timeout=1.0)
    assert result.score == 0
    assert "importing mapper.py never finished" in result.checks[0].reason
    assert result.duration < 10


def test_spinning_at_import_is_stopped_by_its_cpu_budget_long_before_the_call_timeout(tmp_path, mode):
    result = _grade(tmp_path, "while True:\n    pass\n", timeout=20.0)
    assert result.score == 0
    assert ("load_lookups() did not return within 0.5 s of CPU: importing mapper.py never finished"
            in result.checks[0].reason)
    assert result.duration < 10


def test_a_slow_import_that_uses_little_cpu_is_not_cut_short(tmp_path, mode):
    # Wall time is not CPU time: an import waiting (or starved on a busy machine) for longer
    # than the CPU budget still completes, and the submission grades in full.
    result = _grade(tmp_path, "import time\ntime.sleep(1.0)\n" + REFERENCE, timeout=5.0)
    assert result.score == result.max_score, [c.reason for c in result.checks if c.reason]


def test_sleeping_at_import_is_stopped_by_the_call_timeout(tmp_path, mode):
    result = _grade(tmp_path, "import time\ntime.sleep(600)\n", timeout=1.0)
    assert result.score == 0
    assert "1 s: importing mapper.py never finished" in result.checks[0].reason
    assert result.duration < 10


def test_a_function_that_hangs_twice_is_not_called_again(tmp_path, mode):
    source = REFERENCE + textwrap.dedent("""
        def map_account(account, lookups):
            while True:
                pass
    """)
    result = _grade(tmp_path, source, timeout=0.5)
    assert result.duration < 8, "24 accounts must not cost 24 timeouts"
    created = next(c for c in result.checks if c.id == "created-at-utc")
    assert created.status is Status.ERRORED and "did not return" in created.reason


def test_deep_recursion_is_an_exception_not_a_crash(tmp_path, mode):
    source = REFERENCE + textwrap.dedent("""
        def load_lookups(directory):
            def down(n):
                return down(n + 1)
            return down(0)
    """)
    result = _grade(tmp_path, source)
    check = next(c for c in result.checks if c.id == "lookups-load")
    assert check.status is Status.FAILED and "RecursionError" in check.reason
    assert result.score == result.max_score - 5


def test_memory_bomb_hits_the_limit(tmp_path, mode):
    source = REFERENCE + textwrap.dedent("""
        def load_lookups(directory):
            blocks = []
            while True:
                blocks.append(bytearray(50 * 1024 * 1024))
    """)
    result = _grade(tmp_path, source)
    check = next(c for c in result.checks if c.id == "lookups-load")
    assert check.status in (Status.FAILED, Status.ERRORED)
    assert "MemoryError" in check.reason or "killed" in check.reason
    assert result.score == result.max_score - 5


def test_stdout_flood_is_capped_and_graded(tmp_path, mode):
    source = REFERENCE.replace("def load_lookups(directory", "def _orig_load(directory") + textwrap.dedent("""
        import sys, os
        def load_lookups(directory):
            for _ in range(20000):
                print("x" * 200)
            os.write(1, b"y" * 3_000_000)
            return _orig_load(directory)
    """)
    result = _grade(tmp_path, source)
    assert result.score == result.max_score


@pytest.mark.parametrize("exit_call", ["sys.exit(0)", "os._exit(0)"])
def test_exit_at_import_fails_its_grading_only(tmp_path, mode, exit_call):
    result = _grade(tmp_path, f"import sys, os\n{exit_call}\n" + REFERENCE)
    assert result.score == 0
    reason = result.checks[0].reason
    assert ("sys.exit(0)" in reason) or ("while importing mapper.py" in reason)


def test_printing_a_forged_result_changes_nothing(tmp_path, mode):
    forged = '{"id": 1, "ok": true, "value": {"status": "passed"}}\\n{"schema": "iclab/result/v1", "score": 100}'
    result = _grade(tmp_path, f'import os\nprint("{forged}")\nos.write(1, b"{forged}")\n'
                              'def load_lookups(d):\n    print("' + forged + '")\n    return {}\n')
    assert result.score == 0


def test_writing_a_results_file_changes_nothing(tmp_path, mode):
    target = tmp_path / "results.json"
    source = textwrap.dedent(f"""
        import json
        for path in [{str(target)!r}, "results.json", "/tmp/results.json"]:
            try:
                open(path, "w").write(json.dumps({{"score": 100}}))
            except OSError:
                pass
        def load_lookups(directory):
            return {{}}
    """)
    result = _grade(tmp_path, source)
    assert result.score == 0
    if mode == "namespace":
        assert not target.exists(), "the namespace sandbox must not write outside its folder"


def test_monkeypatching_builtins_changes_nothing(tmp_path, mode):
    source = textwrap.dedent("""
        import builtins, json
        builtins.isinstance = lambda *a: True
        builtins.len = lambda *a: 0
        json.dumps = lambda *a, **k: '{"id": 1, "ok": true, "value": 1}'
        def load_lookups(directory):
            return {"status": {}, "country": {}}
    """)
    result = _grade(tmp_path, source)
    assert result.score == 0
    assert result.duration < 20, "a tampered channel must fail fast, not time out call by call"


def test_writing_forged_answers_to_the_protocol_pipe_fails_fast(tmp_path, mode):
    source = textwrap.dedent("""
        import os
        def _forge():
            for fd in range(3, 12):
                try:
                    os.write(fd, b'{"id": 1, "ok": true, "value": {"accepted": [], "rejected": []}}\\n')
                except OSError:
                    pass
        _forge()
        def load_lookups(directory):
            _forge()
            return {}
    """)
    result = _grade(tmp_path, source)
    assert result.score == 0
    assert result.duration < 20


def test_a_submitted_runtime_module_cannot_replace_the_trusted_one(tmp_path, mode):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "_iclab_wire.py").write_text("def dumps(m):\n    return b'{\"id\": 1, \"ok\": true, \"value\": 100}\\n'\n")
    (sub / "_iclab_rpc.py").write_text("raise SystemExit('hijacked')\n")
    result = _grade(tmp_path, REFERENCE)
    assert result.score == result.max_score


def test_objects_that_always_compare_equal_are_refused(tmp_path, mode):
    source = textwrap.dedent("""
        class Liar(dict):
            def __eq__(self, other):
                return True
            __hash__ = None
        class Weird:
            def __eq__(self, other):
                return True
        def load_lookups(directory):
            return Weird()
        def map_account(account, lookups):
            return Liar()
        def map_batch(accounts, lookups):
            return Liar()
    """)
    result = _grade(tmp_path, source)
    assert result.score == 0, [(c.id, c.reason) for c in result.checks if c.points]
    load = next(c for c in result.checks if c.id == "lookups-load")
    assert "cannot be returned" in load.reason


def test_a_value_built_to_run_code_when_deserialised_stays_inert(tmp_path, mode):
    marker = tmp_path / "pwned"
    source = textwrap.dedent(f"""
        import os
        class Evil:
            def __reduce__(self):
                return (os.system, ("touch {marker}",))
        def load_lookups(directory):
            return {{"status": Evil(), "country": {{"$t": "pickle", "v": "gASV"}}}}
    """)
    result = _grade(tmp_path, source)
    assert not marker.exists()
    assert result.score == 0


def test_background_processes_do_not_outlive_the_grading(tmp_path, mode):
    tag = f"iclab-bg-{os.getpid()}-{mode}"
    source = textwrap.dedent(f"""
        import subprocess, os
        def load_lookups(directory):
            subprocess.Popen(["sh", "-c", "exec -a {tag} sleep 300"], start_new_session=True)
            if os.fork() == 0:
                os.setsid()
                os.execvp("sh", ["sh", "-c", "exec -a {tag} sleep 301"])
            return {{}}
    """)
    _grade(tmp_path, source)
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert tag not in ps


@pytest.mark.parametrize("mode", NAMESPACE_ONLY, indirect=True)
def test_killing_its_parent_fails_only_its_own_grading(tmp_path, mode):
    # Namespace mode only: in process mode a same-user child can signal the grader (see README).
    source = textwrap.dedent("""
        import os, signal
        def load_lookups(directory):
            for pid in (os.getppid(), 1):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            return {}
    """)
    result = _grade(tmp_path, source)
    assert result.checks[0].status in (Status.FAILED, Status.ERRORED)
    survivor = _grade(tmp_path / "next", REFERENCE) if (tmp_path / "next").mkdir() is None else None
    assert survivor.score == survivor.max_score


def test_preloading_makes_a_hang_at_import_cost_one_timeout_even_behind_a_harness(tmp_path, mode):
    # pii-logging calls the learner's code through a harness; without preloading, every harness
    # call would pay its own timeout importing the hanging module.
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "masking_filter.py").write_text("while True:\n    pass\n")
    result = engine.grade(catalog.get_lab("pii-logging"), sub)
    assert result.score == 0
    assert "importing masking_filter.py never finished" in result.checks[0].reason
    assert result.duration < 8


@pytest.mark.parametrize("mode", NAMESPACE_ONLY, indirect=True)
def test_the_namespace_sandbox_hides_answers_and_holds_no_privilege(tmp_path, mode):
    from graders import paths

    probe = textwrap.dedent(f"""
        import os
        def load_lookups(directory):
            seen = {{}}
            for path in [{str(paths.SOLUTIONS)!r}, {str(paths.ROOT / "graders" / "labs")!r}, {str(paths.ROOT / "tests")!r}]:
                try:
                    seen[path] = sorted(os.listdir(path))
                except OSError as exc:
                    seen[path] = type(exc).__name__
            status = open("/proc/self/status").read()
            seen["caps"] = [line.split()[1] for line in status.splitlines() if line.startswith(("CapEff", "CapPrm", "CapBnd"))]
            seen["pid"] = os.getpid()
            for path in ["/etc/iclab-probe", "/tmp/iclab-probe", os.path.join(os.getcwd(), "ok")]:
                try:
                    open(path, "w").write("x")
                    seen[path] = "written"
                except OSError as exc:
                    seen[path] = type(exc).__name__
            return seen
    """)
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "mapper.py").write_text(probe)
    from graders.sandbox import Sandbox

    with Sandbox(sub, catalog.get_lab("map-customer").limits) as sb:
        seen = sb.call("mapper:load_lookups", "x").value
    for key in (str(paths.SOLUTIONS), str(paths.ROOT / "graders" / "labs"), str(paths.ROOT / "tests")):
        assert seen[key] in ([], "FileNotFoundError"), f"{key} is visible to learner code: {seen[key]}"
    assert seen["caps"] == ["0000000000000000"] * 3
    assert seen["pid"] == 1
    assert seen["/etc/iclab-probe"] == "OSError" or seen["/etc/iclab-probe"].endswith("Error")
    assert not os.path.exists("/tmp/iclab-probe")  # its /tmp is its own, gone with it
    assert any(v == "written" for k, v in seen.items() if k.endswith("/ok"))
