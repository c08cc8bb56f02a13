"""Hidden checks for mapping-tests (Exercise A, test-cases part): the learner's tests, graded by mutation.

The learner hands in ``test_mapper.py``. Its first ``CAP`` test functions run against the correct
mapper, then against each mutant (the correct mapper with one realistic bug). A test that fails on
the correct mapper is invalid and earns nothing; a valid test exposes a mutant by failing on it.
Each family of mutants is one check, with points per mutant exposed.

Why lying cannot raise the score. Every run is a fresh sandbox whose ``mapper.py`` is the same
stub, byte for byte (``PROXY_SOURCE`` in graders/sandbox/runtime/_iclab_mapping_tests.py). The
stub forwards each call to this process, where ``Dispatcher`` answers with the implementation
under test; the child never holds its code. So runs differ only in the answers the mapper gives,
and a test tells a mutant from the correct mapper only by calling it: hashing or reading
mapper.py, inspecting code objects or shipping a runner of its own learns nothing, and a forged
"failed" report would need that same knowledge. What a child could carry between runs (files
outside its folder in process mode, order, flakiness) meets two correct runs: A first, B among
the mutants at a place drawn from the seed and the test file's hash. A test counts only if it
passes both without tampering, having called the mapper (as this process saw it). The runner
reports tampering it sees (mapper.py rewritten, mapper or runner functions replaced, a foreign
mapper module); such a test earns nothing and its child is replaced. Verdicts come from the
grader's own call records, never from what tests print, and failure-modes-covered counts the
reason codes this process's dispatcher produced.

Sparing runs. On the first correct run the dispatcher keeps every call each test made. A mutant
that answers all of a test's calls exactly as the correct mapper does (``answers_alike``) leaves
that test's run unchanged, so the test is not run on it and counts as passing; a mutant no test
could tell apart gets no sandbox at all. This only ever spares a run that could expose nothing,
so it cannot raise a score; the second correct run is never spared. A test that fails on purpose
in later runs (state carried in process mode) still meets B, and even when B comes early enough
to miss it, it is only run on mutants its own calls tell apart: the ones exact asserts on those
calls would expose honestly.

Limits: ``CAP`` tests; lab.toml's ``call_timeout`` per test, ``RUN_BUDGET`` per run and
``GRADING_BUDGET`` per grading (a timeout on a mutant exposes nothing). Feedback:
``ICLAB_FEEDBACK=count`` (default) gives how many mutants of each family were exposed;
``names`` also names them and the tests that did it. The mutants are in ``mutants.py``.
"""
from __future__ import annotations

import ast
import contextlib
import hashlib
import os
import pickle
import random
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ...checks import Environment, Grader, failed, partial, passed
from ...results import Dimension
from ...sandbox.records import CallStatus
from ...sandbox.runtime import _iclab_mapping_tests as harness
from .mutants import CONTROL_B, CORRECT, FAMILIES, MUTANTS, Family, Mutant, implementation

__all__ = ["grader", "MUTANTS", "FAMILIES", "Family", "Mutant", "implementation", "collect", "Suite", "TestRun",
           "Dispatcher", "answer", "answers_alike", "CAP", "PROXY", "COVERAGE"]

CAP = 10
RUN_BUDGET = 10.0
GRADING_BUDGET = 60.0
MAX_CALLS_PER_TEST = 500
MAX_LOOKUP_BYTES = 256 * 1024
WORKERS = 2  # sandboxes at once; runs are independent, so verdicts do not depend on it
ENTRY = ("load_lookups", "map_account", "map_batch")
CODES = ("MISSING_REQUIRED_FIELD", "UNKNOWN_STATUS", "UNKNOWN_COUNTRY", "INVALID_DATE", "INVALID_PHONE")
PROXY = harness.PROXY_SOURCE.encode("utf-8")


# -- the implementations, run in this process -----------------------------------------
class Dispatcher:
    """The grader's end of the planted stub: answers each call with the implementation under test.

    Runs go on in parallel threads, so each thread keeps its own state. On the first correct run
    it also keeps each test's calls, so a mutant that answers all of them alike need not run it.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self.calls: dict[str, list[tuple[str, bytes, dict]]] = {}  # test -> (function, args, answer) on run A

    def use(self, name: str) -> None:
        self._local.module, self._local.codes = implementation(name), {}
        self._local.keep = name == CORRECT

    def start(self, test: str) -> None:
        self._local.test, self._local.calls = test, 0
        if self._local.keep:
            self.calls[test] = []

    def seen(self, test: str) -> tuple[int, frozenset[str]]:
        """How many calls the current test made, and the reason codes the mapper answered with."""
        return self._local.calls, frozenset(self._local.codes.get(test, ()))

    def __call__(self, function, args):
        state = self._local
        if function not in ENTRY or not isinstance(args, list):
            return _raised("AttributeError", f"module 'mapper' has no attribute {function!r}", [])
        state.calls += 1
        if state.calls > MAX_CALLS_PER_TEST:
            return _raised("RuntimeError", f"more than {MAX_CALLS_PER_TEST} mapper calls in one test", [])
        kept = pickle.dumps(args) if state.keep else b""  # before the call: an implementation may change them
        reply, codes = answer(state.module, function, args)
        if state.keep:
            self.calls[state.test].append((function, kept, pickle.loads(pickle.dumps(reply))))
        state.codes.setdefault(state.test, set()).update(codes)
        return reply


def answer(impl, function: str, args: list) -> tuple[dict, set[str]]:
    """What the stub is told for one call of ``impl``, and the reason codes in it."""
    try:
        if function == "load_lookups":
            return {"kind": "value", "value": _load_lookups(impl, *args), "after": []}, set()
        value = getattr(impl, function)(*args)
    except impl.Rejected as exc:
        return {"kind": "rejected", "code": exc.code, "field": exc.field, "after": args}, {exc.code}
    except Exception as exc:  # the implementation's own error, shown to the test as it would be
        return _raised(type(exc).__name__, str(exc), args), set()
    codes = {r["code"] for r in value["rejected"]} if function == "map_batch" else set()
    return {"kind": "value", "value": value, "after": args}, codes


def answers_alike(name: str, calls: list[tuple[str, bytes, dict]]) -> bool:
    """Whether mutant ``name`` answers every one of these calls exactly as the correct mapper did.

    ``calls`` are (function, pickled arguments, the correct mapper's answer). A test sees the mapper
    only through its answers, so on such a mutant it runs exactly as on the correct mapper and
    cannot expose it: it need not be run. (This can only spare runs, never expose a mutant, so a
    test cannot gain from it.)
    """
    mutant = implementation(name)
    return all(answer(mutant, function, pickle.loads(args))[0] == correct for function, args, correct in calls)


def _load_lookups(impl, files):
    """Run ``impl.load_lookups`` on the CSV bytes the stub read, in a private folder."""
    with tempfile.TemporaryDirectory(prefix="iclab-lookups-") as folder:
        for name in ("status_codes.csv", "countries.csv"):
            data = files.get(name) if isinstance(files, dict) else None
            if not isinstance(data, bytes) or len(data) > MAX_LOOKUP_BYTES:
                raise ValueError(f"lookup files must be at most {MAX_LOOKUP_BYTES // 1024} KB each")
            Path(folder, name).write_bytes(data)
        return impl.load_lookups(folder)


def _raised(kind: str, message: str, after: list) -> dict:
    return {"kind": "raised", "type": kind, "message": message[:500], "after": after}


# What each criterion's judgement covers; for 4 to 8, the mutants of its family (mutants.py).
COVERAGE = {
    1: ("a test failing on the correct mapper, or never calling it — two correct runs, A first, B at a seeded place",
        "tampering: mapper.py rewritten, mapper or runner functions replaced, a foreign mapper module — the runner's watch"),
    2: ("fewer than 6 tests, more than 10 (only the first 10 run), a test with no assert or pytest.raises — collect()",
        "asserting helpers called by tests count as checks — collect()"),
    3: ("reason codes counted from the grader's own dispatcher, for valid tests only — Dispatcher.seen()",
        "all five codes reachable: MISSING_REQUIRED_FIELD, UNKNOWN_STATUS, UNKNOWN_COUNTRY, INVALID_DATE, INVALID_PHONE"),
    4: ("conversion: day/month order, zone dropped, standard time all year, northern summer months, offset sign, "
        "seconds dropped or rejected, local date kept, +00:00 — MUTANTS dates",
        "rejection: 31/02 rolled over, ISO order accepted, unknown zone blamed on CreatedDate or made UTC, "
        "CreatedDate checked before TimeZone — MUTANTS dates"),
    5: ("Status and BillingCountry: case, spaces, country as typed, unknown status made ACTIVE, unknown country made GB, "
        "country looked up first — MUTANTS lookups",
        "load_lookups: byte-order mark, key case, padded values, blank lines, empty trunk_prefix as None — MUTANTS lookups"),
    6: ("blank required fields: spaces, null read as 'None', absent key, Status/CreatedDate/TimeZone/AccountName "
        "special-cased, alphabetical order, lookup before the check — MUTANTS blanks",
        "blank optional fields: \"\", spaces, null as 'none', absent key, blank phone normalised — MUTANTS blanks",
        "present values: AccountId/AccountName/Email not trimmed, Email not lower-cased, unknown keys copied — MUTANTS blanks"),
    7: ("each step: dots, dashes, parentheses, every non-digit removed, + given the dial code or refused when foreign, "
        "00 as national, trunk kept, stripped repeatedly, removed anywhere, assumed 0, no dial code — MUTANTS phone",
        "the pattern: 7 or 16 digits, 0 after +; INVALID_PHONE nulled; Phone checked before CreatedDate — MUTANTS phone"),
    8: ("partial failure: stops at the first rejection, index from 1 or counting rejections, source_id untrimmed or \"\", "
        "None placeholders in accepted — MUTANTS batch",
        "the caller's data: accounts tidied in place, rejected records deleted from the list — MUTANTS batch"),
}

# The hidden data is a salt for the order of the runs; the mutants are fixed.
grader = Grader(seed=20261207, data=lambda rng: rng.getrandbits(64), coverage=COVERAGE)


@grader.environment
@contextlib.contextmanager
def _environment(salt: int):
    dispatcher = Dispatcher()
    yield Environment(rpc={harness.RPC_NAME: dispatcher}, objects={"dispatcher": dispatcher})


# -- the probe: run the tests against every implementation ------------------------------
@dataclass(frozen=True)
class TestRun:
    """One test function against one implementation."""

    status: str  # passed | failed | timed-out | not-run
    detail: str = ""
    tampered: tuple[str, ...] = ()
    calls: int = 0  # mapper calls the grader answered: its own record, not the child's
    codes: frozenset[str] = frozenset()

    @property
    def clean_pass(self) -> bool:
        return self.status == "passed" and not self.tampered and self.calls > 0

    @property
    def exposes(self) -> bool:
        return self.status == "failed" and not self.tampered


@dataclass(frozen=True)
class Suite:
    """What the checks judge: the tests found and how each fared on each implementation."""

    problem: str = ""
    found: tuple[str, ...] = ()
    unchecking: tuple[str, ...] = ()  # tests with no assert, pytest.raises or asserting helper
    notes: tuple[str, ...] = ()
    runs: dict[str, dict[str, TestRun]] = field(default_factory=dict)

    @property
    def counted(self) -> tuple[str, ...]:
        return self.found[:CAP]

    def valid(self) -> tuple[str, ...]:
        a, b = self.runs.get(CORRECT, {}), self.runs.get(CONTROL_B, {})
        return tuple(t for t in self.counted if t in a and a[t].clean_pass and t in b and b[t].clean_pass)


def collect(source: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Module-level test functions in file order, those that check nothing, and what is not run."""
    tree = ast.parse(source, filename="test_mapper.py")
    tests: dict[str, ast.FunctionDef] = {}
    helpers: dict[str, ast.FunctionDef] = {}
    notes = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            (tests if node.name.startswith("test") else helpers).setdefault(node.name, node)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            notes.append(f"class {node.name} is not run; write module-level test functions")
    checkers = {"raises", "fail"}
    for _ in range(3):  # helpers that call asserting helpers assert too
        checkers |= {name for name, node in helpers.items() if _checks(node, checkers)}
    return tuple(tests), tuple(n for n, node in tests.items() if not _checks(node, checkers)), tuple(notes)


def _checks(node: ast.AST, checkers: set[str]) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Assert):
            return True
        if isinstance(sub, ast.Call):
            func = sub.func
            if getattr(func, "attr", None) in checkers or getattr(func, "id", None) in checkers:
                return True
    return False


@grader.probe("suite")
def _probe_suite(run) -> Suite:
    dispatcher: Dispatcher = run.env.dispatcher
    started = time.monotonic()
    with run.fresh(extra_files={"mapper.py": PROXY}) as box:
        record = box.call("_iclab_mapping_tests:describe")
        source = record.value.get("source") if record.ok and isinstance(record.value, dict) else None
        if not isinstance(source, str):
            return Suite(problem=f"test_mapper.py could not be read: {record.problem() or 'no text came back'}")
        try:
            found, unchecking, notes = collect(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            return Suite(problem=f"test_mapper.py line {getattr(exc, 'lineno', '?')}: {type(exc).__name__}: {exc}")
        runs = {CORRECT: _run_tests(box, dispatcher, CORRECT, found[:CAP])}
    candidates = tuple(t for t in found[:CAP] if runs[CORRECT][t].clean_pass)
    order = [m.name for m in MUTANTS] + [CONTROL_B]
    random.Random(f"{run.data}:{hashlib.sha256(source.encode()).hexdigest()}").shuffle(order)

    def one(name: str) -> dict[str, TestRun]:
        if time.monotonic() - started > GRADING_BUDGET:
            return {t: TestRun("not-run", "the grading ran out of time") for t in candidates}
        alike = set() if name == CONTROL_B else {t for t in candidates if answers_alike(name, dispatcher.calls[t])}
        results = {t: TestRun("passed", "the mapper answered its calls as the correct one does",
                              calls=runs[CORRECT][t].calls) for t in alike}
        if len(alike) < len(candidates):
            box = run.fresh(extra_files={"mapper.py": PROXY}).__enter__()
            try:
                results.update(_run_tests(box, dispatcher, name, [t for t in candidates if t not in alike]))
            finally:  # stopping a child takes as long as starting one: the next run need not wait for it
                closer.submit(box.__exit__, None, None, None)
        return {t: results[t] for t in candidates}

    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="mapping-tests-close") as closer, \
            ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="mapping-tests") as pool:
        runs.update(zip(order, pool.map(one, order)))
    return Suite(found=found, unchecking=unchecking, notes=notes, runs=runs)


def _run_tests(box, dispatcher: Dispatcher, name: str, tests) -> dict[str, TestRun]:
    dispatcher.use(name)
    results: dict[str, TestRun] = {}
    spent = 0.0
    for test in tests:
        if spent > RUN_BUDGET:
            results[test] = TestRun("not-run", f"the tests before it used the run's {RUN_BUDGET:g} s")
            continue
        dispatcher.start(test)
        record = box.call("_iclab_mapping_tests:run_test", test)
        spent += record.duration
        results[test] = _outcome(record, *dispatcher.seen(test))
        if results[test].tampered:
            box.close()  # a fresh child for the next test: this one may be rigged
    return results


def _outcome(record, calls: int, codes: frozenset[str]) -> TestRun:
    if record.status is CallStatus.TIMED_OUT:
        return TestRun("timed-out", f"did not finish within {record.detail}", calls=calls, codes=codes)
    value = record.value if record.ok and isinstance(record.value, dict) else {}
    if not value:  # the child died or the runner itself failed: the test did not pass
        return TestRun("failed", record.problem() or "the runner gave no answer", calls=calls, codes=codes)
    tampered = tuple(str(t)[:120] for t in value.get("tampered") or () if t)[:5]
    if value.get("passed") is True:
        return TestRun("passed", "", tampered, calls, codes)
    return TestRun("failed", str(value.get("error") or "failed")[:400], tampered, calls, codes)


# -- checks -------------------------------------------------------------------------------
def _feedback() -> str:
    level = os.environ.get("ICLAB_FEEDBACK", "count").strip().lower()
    return level if level in ("count", "names") else "count"


def _why_invalid(suite: Suite, test: str) -> str:
    for label, outcome in (("", suite.runs[CORRECT][test]), ("on a second run ", suite.runs.get(CONTROL_B, {}).get(test))):
        if outcome is not None and outcome.tampered:
            return f"{test}: tampers with the code under test ({'; '.join(outcome.tampered)}), so it earns nothing"
        if outcome is not None and outcome.status != "passed":
            return f"{test}: fails {label}on the correct mapper: {outcome.detail}"
        if outcome is not None and not outcome.calls:
            return f"{test}: never calls the mapper, so it tests nothing"
    return f"{test}: passed once and failed once on the correct mapper (flaky, or depends on state)"


@grader.check("tests-valid", title="Every test passes on the correct mapper", points=15, skill="test-design",
              dimension=Dimension.SDLC, criterion=1, probe="suite")
def check_valid(suite: Suite, data):
    if suite.problem or not suite.counted:
        return failed(suite.problem or "no test functions found in test_mapper.py (names must start with test)")
    bad = [t for t in suite.counted if t not in suite.valid()]
    if bad:
        return failed(f"{len(bad)} of {len(suite.counted)} tests do not pass on the correct mapper, so they earn "
                      f"nothing: {', '.join(bad[:4])}", "\n".join(_why_invalid(suite, t) for t in bad[:5]))
    return passed(f"all {len(suite.counted)} tests pass on the correct mapper")


@grader.check("test-count", title="Six to ten tests, each checking something", points=5, skill="test-design",
              dimension=Dimension.SDLC, criterion=2, probe="suite")
def check_count(suite: Suite, data):
    if suite.problem:
        return failed(suite.problem)
    n, notes, ignored = len(suite.found), "\n".join(suite.notes), suite.found[CAP:]
    idle = [t for t in suite.counted if t in suite.unchecking]
    if ignored:
        return failed(f"{n} test functions found; only the first {CAP} were run, the rest were ignored: "
                      f"{', '.join(ignored[:4])}{' ...' if len(ignored) > 4 else ''}", notes)
    if n < 6:
        return failed(f"{n} test function{'s' if n != 1 else ''} found; write 6 to {CAP}", notes)
    if idle:
        return failed(f"{len(idle)} of {n} tests check nothing (no assert, no pytest.raises): {', '.join(idle[:4])}",
                      "a test that only calls the mapper passes whatever it returns")
    return passed(f"{n} test functions, each with an assertion", notes)


@grader.check("failure-modes-covered", title="Tests drive the mapper into its failure modes", points=15,
              skill="test-design", dimension=Dimension.INTEGRATION, criterion=3, probe="suite")
def check_failure_modes(suite: Suite, data):
    if suite.problem:
        return failed(suite.problem)
    seen = {code for t in suite.valid() for code in suite.runs[CORRECT][t].codes}
    evidence = f"rejections your valid tests caused: {', '.join(c for c in CODES if c in seen) or 'none'}"
    if len(seen) >= 3:
        return passed(f"your tests make the mapper reject records with {len(seen)} of the 5 reason codes", evidence)
    missing = ", ".join(c for c in CODES if c not in seen)
    return failed(f"your valid tests make the mapper reject records with only {len(seen)} of the 5 reason codes; "
                  f"test failure modes too (not yet: {missing})", evidence)


def _family_check(family: Family):
    def judge(suite: Suite, salt: int):
        if suite.problem:
            return failed(suite.problem)
        valid, members = suite.valid(), [m for m in MUTANTS if m.family == family.id]
        if not valid:
            return failed(f"no valid test to run against the {family.noun}; see tests-valid")
        killers = {m.name: [t for t in valid if suite.runs.get(m.name, {}).get(t, TestRun("not-run")).exposes]
                   for m in members}
        exposed = [m for m in members if killers[m.name]]
        if _feedback() == "names":
            # Survivors first, one a line with what the bug is: that is what a learner acts on
            # (renderers show the first dozen lines); the exposed ones after, with their tests.
            lines = [f"survived {m.name}: {m.summary}" for m in members if not killers[m.name]]
            lines += [f"exposed  {m.name} (by {', '.join(killers[m.name][:3])})" for m in members if killers[m.name]]
        else:
            by = [t for t in valid if any(t in killers[m.name] for m in members)]
            lines = [f"this family: {family.scope}", f"your tests that exposed one: {', '.join(by) or 'none'}"]
            if len(exposed) < len(members):
                lines.append(f"{len(members) - len(exposed)} survived every test: which input would make a "
                             "plausible bug here visible?")
        return partial(len(exposed) / len(members), f"{len(exposed)} of {len(members)} {family.noun} exposed "
                       "by your tests", "\n".join(lines))
    return judge


for _family in FAMILIES:
    grader.check(f"mutants-{_family.id}", title=f"Tests catch {_family.noun}", points=_family.points, skill=_family.skill,
                 dimension=_family.dimension, criterion=_family.criterion, probe="suite")(_family_check(_family))
