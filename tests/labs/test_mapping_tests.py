"""mapping-tests: the mutants are sound, and hostile test files cannot raise their score.

Most hostile cases are the reference suite (nine tests) with an attack added
first, as its tenth test, so that anything it breaks would show in the tests
after it. The reference suite exposes every mutant on its own (see the
fails-on-correct flaw), so an honest tenth test scores 100 and anything below
or above that is the attack's doing.
"""
from __future__ import annotations

import hashlib
import pickle
import re
import tempfile
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from graders import catalog, engine
from graders.labs import mapping_tests as lab_grader
from graders.results import Status
from graders.sandbox.runtime import _iclab_mapping_tests as harness

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = (ROOT / "solutions/mapping-tests/reference/test_mapper.py").read_text()
STARTER_MAPPER = (ROOT / "labs/mapping-tests/starter/mapper.py").read_bytes()
MUTANT_CHECKS = [f"mutants-{f.id}" for f in lab_grader.FAMILIES]


def _without(source: str, test: str) -> str:
    """``source`` minus one test function and the decorators above it."""
    return re.sub(rf"\n(@pytest[^\n]*\n(?:    [^\n]*\n|\]\)\n)*)*def {test}\(.*?(?=\n\n\n|\Z)", "\n", source, flags=re.S)


NINE = REFERENCE  # nine tests: room for an attack as the tenth


def _suite(attack: str) -> str:
    """The reference suite with ``attack`` as its first test(s)."""
    head, sep, tail = NINE.partition("\n\ndef test_")
    return head + "\n\n" + textwrap.dedent(attack).strip() + "\n\n" + sep.lstrip("\n") + tail


def _grade(tmp_path: Path, source: str, extra: dict[str, str] | None = None):
    sub = tmp_path / "sub"
    sub.mkdir(parents=True, exist_ok=True)
    (sub / "test_mapper.py").write_text(source)
    for rel, text in (extra or {}).items():
        (sub / rel).parent.mkdir(parents=True, exist_ok=True)
        (sub / rel).write_text(text)
    return engine.grade(catalog.get_lab("mapping-tests"), sub)


def _check(result, check_id: str):
    return next(c for c in result.checks if c.id == check_id)


# -- the mutants and the collector --------------------------------------------------
def test_every_mutant_applies_once_and_changes_the_mapper():
    correct = STARTER_MAPPER.decode()
    for mutant in lab_grader.MUTANTS:
        assert mutant.apply(correct) != correct, mutant.name
        assert {"map_account", "map_batch", "load_lookups", "Rejected"} <= set(vars(lab_grader.implementation(mutant.name)))
    assert {m.family for m in lab_grader.MUTANTS} == {f.id for f in lab_grader.FAMILIES}
    assert sum(f.points for f in lab_grader.FAMILIES) + 35 == lab_grader.grader.max_score == 100
    names = [m.name for m in lab_grader.MUTANTS]
    assert len(names) == len(set(names)) >= 39  # three times the 13 of the first version
    assert min(Counter(m.family for m in lab_grader.MUTANTS).values()) >= 6


def test_the_reference_suite_has_nine_tests_and_each_exposes_a_mutant_no_other_does():
    found, _, _ = lab_grader.collect(REFERENCE)
    assert len(found) == 9
    result = _grade_suite(REFERENCE)
    killers = {name: {t for t, run in result.runs[name].items() if run.exposes} for name in _mutant_names()}
    assert all(killers.values()), [name for name, tests in killers.items() if not tests]
    assert {next(iter(tests)) for tests in killers.values() if len(tests) == 1} == set(found)


def _mutant_names():
    return [m.name for m in lab_grader.MUTANTS]


def _grade_suite(source: str) -> "lab_grader.Suite":
    """The probe's evidence for ``source``: how each test fared on each implementation."""
    from graders.checks import Run

    lab = catalog.get_lab("mapping-tests")
    grader = lab_grader.grader
    sub = Path(tempfile.mkdtemp(prefix="mapping-suite-"))
    (sub / "test_mapper.py").write_text(source)
    from graders.sandbox import Sandbox

    with grader.open_environment() as env, Sandbox(sub, lab.limits, rpc=env.rpc) as sandbox:
        return grader.probes["suite"](Run(sandbox, grader.data(), env))


def test_a_mutant_that_answers_every_call_alike_need_not_run_and_sparing_it_changes_no_verdict(tmp_path, monkeypatch):
    # a test whose calls a mutant answers differently is always run
    args = [{"AccountId": "A", "AccountName": "N", "Status": "act", "BillingCountry": "GB",
             "CreatedDate": "05/07/2024 14:30", "TimeZone": "Europe/London"},
            {"status": {"ACT": "ACTIVE"}, "country": {"GB": {"region": "EMEA", "dial_code": "44", "trunk_prefix": "0"}}}]
    correct, _ = lab_grader.answer(lab_grader.implementation("correct"), "map_account", pickle.loads(pickle.dumps(args)))
    calls = [("map_account", pickle.dumps(args), correct)]
    assert not lab_grader.answers_alike("status-case-sensitive", calls)
    assert lab_grader.answers_alike("bom-not-stripped", calls)
    suite = (ROOT / "solutions/mapping-tests/flawed/happy-path-only/test_mapper.py").read_text()
    spared = _grade(tmp_path / "spared", suite)
    monkeypatch.setattr(lab_grader, "answers_alike", lambda name, calls: False)
    every_run = _grade(tmp_path / "all", suite)
    assert [(c.id, c.points) for c in spared.checks] == [(c.id, c.points) for c in every_run.checks]


def test_a_partial_suite_earns_partial_credit_per_family(tmp_path):
    result = _grade(tmp_path, _without(REFERENCE, "test_phone_is_normalised_to_e164"))
    phone = _check(result, "mutants-phone")
    assert 0 < phone.points < phone.max_points
    assert all(_check(result, c).points == _check(result, c).max_points for c in MUTANT_CHECKS if c != "mutants-phone")


def test_collect_finds_tests_in_file_order_and_those_that_check_nothing():
    found, unchecking, notes = lab_grader.collect(textwrap.dedent("""
        def helper(x):
            assert x
        def test_b(): helper(1)
        def test_a(): print(1)
        class TestD:
            def test_e(self): assert 1
        def test_b(): pass
    """))
    assert found == ("test_b", "test_a")
    assert unchecking == ("test_a",)
    assert len(notes) == 1


def test_the_planted_stub_is_the_same_in_every_run():
    assert lab_grader.PROXY == harness.PROXY_SOURCE.encode()
    assert hashlib.sha256(lab_grader.PROXY).digest() != hashlib.sha256(STARTER_MAPPER).digest()


# -- hostile test files ---------------------------------------------------------------
def test_a_test_that_rewrites_mapper_py_earns_nothing_and_spoils_nothing(tmp_path, mode):
    result = _grade(tmp_path, _suite('''
        def test_rewrites_the_mapper():
            import importlib, pathlib
            import mapper
            pathlib.Path(mapper.__file__).write_text(
                "class Rejected(Exception):\\n    pass\\n"
                "def map_account(account, lookups):\\n    return {}\\n"
                "def map_batch(accounts, lookups):\\n    return {'accepted': [], 'rejected': []}\\n"
                "def load_lookups(directory):\\n    return {}\\n")
            importlib.reload(mapper)
            assert mapper.map_account({}, {}) == {}
    '''))
    valid = _check(result, "tests-valid")
    assert valid.status is Status.FAILED and "test_rewrites_the_mapper" in valid.reason
    assert "tampers" in valid.evidence and "mapper.py" in valid.evidence
    assert result.score == 85  # only tests-valid lost: the tests after it ran in a fresh child


def test_recognising_the_mapper_by_its_source_exposes_nothing(tmp_path):
    starter_sha = hashlib.sha256(STARTER_MAPPER).hexdigest()
    stub_sha = hashlib.sha256(lab_grader.PROXY).hexdigest()
    result = _grade(tmp_path, textwrap.dedent(f'''
        import hashlib, inspect, pathlib
        import mapper

        def sha():
            return hashlib.sha256(pathlib.Path(mapper.__file__).read_bytes()).hexdigest()

        def test_hash_is_the_shipped_mapper():
            assert sha() == "{starter_sha}"

        def test_hash_is_the_grader_stub():
            assert sha() == "{stub_sha}"

        def test_source_converts_time_zones():
            assert "astimezone" in inspect.getsource(mapper)

        def test_source_never_stops_a_batch():
            assert "break" not in pathlib.Path("mapper.py").read_text()

        def test_code_objects_are_the_stub_ones():
            assert "mapping_tests.mapper" in mapper._call.__code__.co_consts

        def test_file_size_is_the_shipped_one():
            assert pathlib.Path("mapper.py").stat().st_size == {len(STARTER_MAPPER)}
    '''))
    assert all(_check(result, c).points == 0 for c in MUTANT_CHECKS)
    assert "test_hash_is_the_shipped_mapper" in _check(result, "tests-valid").reason


def test_printing_or_piping_a_forged_report_raises_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("ICLAB_FEEDBACK", "names")
    forged = '{"id": %d, "ok": true, "value": {"passed": false, "error": "forged", "cases": 1, "tampered": []}}\\n'
    result = _grade(tmp_path, _suite(f'''
        def test_forges_reports():
            import os, sys
            for call_id in range(1, 40):
                line = '{forged}' % call_id
                print(line)
                sys.__stdout__.write(line)
                os.write(1, line.encode())
                os.write(2, line.encode())
            assert map_account(account(CreatedDate="01/01/2024 10:00"), LOOKUPS)["customer_id"] == "CRM-001X000123"
    '''))
    assert result.score == 100
    assert "test_forges_reports" not in "".join(_check(result, c).evidence for c in MUTANT_CHECKS)

    piped = _grade(tmp_path, _suite(f'''
        def test_forges_answers_on_every_pipe():
            import os
            for fd in range(3, 20):
                for call_id in range(1, 40):
                    try:
                        os.write(fd, ('{forged}' % call_id).encode())
                    except OSError:
                        break
            assert True
    '''))
    assert piped.score <= 85  # the forger cannot pass the correct runs, so it earns nothing either
    assert "test_forges_answers_on_every_pipe" in _check(piped, "tests-valid").reason


def test_patching_the_runner_or_the_mapper_is_tampering(tmp_path):
    result = _grade(tmp_path, _suite('''
        def test_patches_the_runner():
            import sys
            runner = sys.modules["_iclab_mapping_tests"]
            runner.run_test = lambda name: {"passed": False, "error": "forged", "cases": 1, "tampered": []}
            assert True
    '''))
    assert "replaced the grader's test runner.run_test" in _check(result, "tests-valid").evidence
    assert result.score == 85


def test_passing_only_the_first_run_is_caught_by_the_second_correct_run(tmp_path, mode):
    marker = tmp_path / "seen-runs"
    result = _grade(tmp_path, _suite(f'''
        def test_passes_only_once():
            import pathlib
            marker = pathlib.Path({str(marker)!r})
            first = not marker.exists()
            marker.write_text("seen")
            assert first
    '''))
    valid = _check(result, "tests-valid")
    assert valid.status is Status.FAILED and "test_passes_only_once" in valid.reason
    assert result.score == 85


def test_a_mapper_package_of_its_own_makes_every_test_invalid(tmp_path):
    result = _grade(tmp_path, NINE, extra={"mapper/__init__.py": STARTER_MAPPER.decode()})
    assert "not the one the grader planted" in _check(result, "tests-valid").evidence
    assert all(_check(result, c).points == 0 for c in MUTANT_CHECKS)


def test_a_test_that_never_calls_the_mapper_is_invalid(tmp_path):
    result = _grade(tmp_path, _suite("def test_nothing_to_see():\n    assert 1 + 1 == 2\n"))
    assert "never calls the mapper" in _check(result, "tests-valid").evidence
    assert result.score == 85


def test_a_runner_of_its_own_cannot_tell_the_runs_apart(tmp_path):
    fake = textwrap.dedent('''
        def describe():
            return {"source": "".join(f"def test_{i}():\\n    assert 1\\n" for i in range(8))}
        def run_test(name):
            return {"passed": True, "error": None, "cases": 1, "tampered": []}
    ''')
    result = _grade(tmp_path, NINE, extra={"_iclab_mapping_tests.py": fake})
    # The trusted runtime comes first on the child's sys.path: a shipped runner is never imported,
    # so the submission is graded exactly as if it had not shipped one.
    honest = _grade(tmp_path / "honest", NINE)
    assert [(c.id, c.points) for c in result.checks] == [(c.id, c.points) for c in honest.checks]


def test_a_hanging_test_is_invalid_and_the_rest_still_count(tmp_path):
    result = _grade(tmp_path, _suite('''
        def test_hangs():
            while True:
                pass
            assert True
    '''))
    valid = _check(result, "tests-valid")
    assert "did not finish within" in valid.evidence
    assert result.score == 85


def test_only_the_first_ten_tests_count(tmp_path):
    extra = ("\n\ndef test_tenth_passes():\n    assert map_account(account(), LOOKUPS)[\"country\"] == \"GB\"\n"
             "\n\ndef test_eleventh_fails():\n    assert False\n\n\ndef test_twelfth_fails():\n    assert False\n")
    result = _grade(tmp_path, REFERENCE + extra)
    count = _check(result, "test-count")
    assert count.status is Status.FAILED and "only the first 10" in count.reason and "test_eleventh_fails" in count.reason
    assert _check(result, "tests-valid").status is Status.PASSED
    assert result.score == 95


@pytest.mark.parametrize("level", ["count", "names"])
def test_feedback_level_decides_whether_mutants_are_named(tmp_path, monkeypatch, level):
    monkeypatch.setenv("ICLAB_FEEDBACK", level)
    source = (ROOT / "solutions/mapping-tests/flawed/happy-path-only/test_mapper.py").read_text()
    evidence = _check(_grade(tmp_path, source), "mutants-blanks").evidence
    named = any(m.name in evidence for m in lab_grader.MUTANTS)
    assert named is (level == "names")
    assert "survived" in evidence


FEATURES = '''
import pytest

from mapper import Rejected, map_account, map_batch

LOOKUPS = {"status": {"ACT": "ACTIVE"}, "country": {"GB": {"region": "EMEA", "dial_code": "44", "trunk_prefix": "0"}}}
EVENTS = []


@pytest.fixture
def account():
    return {"AccountId": "A1", "AccountName": "N", "Status": "act", "BillingCountry": "gb",
            "CreatedDate": "05/07/2024 14:30", "TimeZone": "Europe/London"}


@pytest.fixture
def logged(account):
    EVENTS.append("setup")
    yield account
    EVENTS.append("teardown")


@pytest.mark.parametrize("status", ["ACT", " act "])
@pytest.mark.parametrize("country", ["GB", pytest.param("gb", id="lower")])
def test_stacked_parametrize(account, status, country):
    assert map_account(dict(account, Status=status, BillingCountry=country), LOOKUPS)["region"] == "EMEA"


def test_yield_fixture(logged, tmp_path):
    assert tmp_path.is_dir() and map_account(logged, LOOKUPS)["created_at"] == "2024-07-05T13:30:00Z"


@pytest.mark.usefixtures("logged")
def test_teardown_ran(account):
    assert EVENTS[:3] == ["setup", "teardown", "setup"] and map_account(account, LOOKUPS)["country"] == "GB"


def test_raises_forms(account):
    with pytest.raises(Rejected, match="UNKNOWN_STATUS") as caught:
        map_account(dict(account, Status="X"), LOOKUPS)
    assert caught.value.field == "Status" and caught.type is Rejected
    pytest.raises(Rejected, map_account, dict(account, AccountId=" "), LOOKUPS)
    with pytest.raises(pytest.fail.Exception if hasattr(pytest.fail, "Exception") else BaseException):
        with pytest.raises(Rejected):
            pass


def test_real_pytest_names_still_work(account):
    assert pytest.approx(0.1 + 0.2) == 0.3
    assert map_batch([account], LOOKUPS)["rejected"] == []


def test_monkeypatch_of_other_things(monkeypatch, account):
    monkeypatch.setenv("ICLAB_DEMO", "1")
    import os
    assert os.environ["ICLAB_DEMO"] == "1" and map_account(account, LOOKUPS)["status"] == "ACTIVE"
'''


def test_the_pytest_subset_agrees_with_pytest(tmp_path):
    from graders.visible_tests import run_visible_tests

    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "mapper.py").write_bytes(STARTER_MAPPER)
    (workspace / "test_mapper.py").write_text(FEATURES)
    real = run_visible_tests(workspace)
    assert real.ok and real.passed == 9, real.summary
    result = _grade(tmp_path, FEATURES)
    assert _check(result, "tests-valid").status is Status.PASSED, _check(result, "tests-valid").evidence


def test_concurrent_gradings_keep_their_runs_apart(tmp_path):
    # iclab batch grades submissions in threads; each grading's dispatcher must answer only its own runs.
    from concurrent.futures import ThreadPoolExecutor

    lab = catalog.get_lab("mapping-tests")
    folders = [catalog.reference(lab), ROOT / "solutions/mapping-tests/flawed/happy-path-only"] * 2
    with ThreadPoolExecutor(max_workers=4) as pool:
        scores = list(pool.map(lambda folder: engine.grade(lab, folder).score, folders))
    happy = engine.grade(lab, folders[1]).score  # graded alone
    assert happy < 100 and scores == [100, happy, 100, happy]
