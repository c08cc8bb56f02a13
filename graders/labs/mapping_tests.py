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
passes both without tampering, having called the mapper (as this process saw it). The runner reports tampering it sees (mapper.py rewritten, mapper
or runner functions replaced, a foreign mapper module); such a test earns nothing and its child
is replaced. Verdicts come from the grader's own call records, never from what tests print, and
failure-modes-covered counts the reason codes this process's dispatcher produced.

Limits: ``CAP`` tests; lab.toml's ``call_timeout`` per test, ``RUN_BUDGET`` per run and
``GRADING_BUDGET`` per grading (a timeout on a mutant exposes nothing). Feedback:
``ICLAB_FEEDBACK=count`` (default) gives how many mutants of each family were exposed;
``names`` also names them and the tests that did it. The correct mapper is the lab's
``starter/mapper.py``, the one learners run their tests against; mutants patch it.
"""
from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import os
import random
import tempfile
import threading
import time
import types
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from .. import paths
from ..checks import Environment, Grader, failed, partial, passed
from ..results import Dimension
from ..sandbox.records import CallStatus
from ..sandbox.runtime import _iclab_mapping_tests as harness

CAP = 10
RUN_BUDGET = 10.0
GRADING_BUDGET = 60.0
MAX_CALLS_PER_TEST = 500
MAX_LOOKUP_BYTES = 256 * 1024
WORKERS = 2  # sandboxes at once; runs are independent, so verdicts do not depend on it
CORRECT, CONTROL_B = "correct", "correct-again"
ENTRY = ("load_lookups", "map_account", "map_batch")
CODES = ("MISSING_REQUIRED_FIELD", "UNKNOWN_STATUS", "UNKNOWN_COUNTRY", "INVALID_DATE", "INVALID_PHONE")
PROXY = harness.PROXY_SOURCE.encode("utf-8")


# -- the mutants ------------------------------------------------------------------------
class Family(NamedTuple):
    """A group of mutants judged by one check, ``mutants-<id>``, titled "Tests catch <noun>"."""

    id: str
    points: float
    criterion: int
    skill: str
    dimension: Dimension
    noun: str
    scope: str


FAMILIES = (
    Family("dates", 15, 4, "timezones", Dimension.API_DATA, "date and time-zone bugs",
           "how CreatedDate and TimeZone become created_at"),
    Family("lookups", 15, 5, "lookups", Dimension.API_DATA, "lookup bugs",
           "status codes through the lookup table, and reading the lookup CSV files"),
    Family("blanks", 15, 6, "validation", Dimension.API_DATA, "blank-field bugs",
           "what blank means for required and optional fields"),
    Family("phone", 10, 7, "data-mapping", Dimension.API_DATA, "phone bugs",
           "the E.164 phone rule and bad phone numbers"),
    Family("batch", 10, 8, "error-handling", Dimension.INTEGRATION, "batch bugs",
           "map_batch on a mix of good and bad records, and what it does to its input"),
)


class Mutant(NamedTuple):
    """The correct mapper with one realistic bug: text patches, each matching exactly once."""

    name: str
    family: str
    summary: str
    patches: tuple[tuple[str, str], ...]

    def apply(self, source: str) -> str:
        for old, new in self.patches:
            if source.count(old) != 1:
                raise ValueError(f"mutant {self.name}: patch text found {source.count(old)} times, expected once")
            source = source.replace(old, new)
        return source


_CHECK_REQUIRED = "    for field in REQUIRED_FIELDS:\n        if not values[field]:\n"
_STATUS = 'status = lookups["status"].get(values["Status"].upper())'
MUTANTS = (
    Mutant("day-month-swapped", "dates", "CreatedDate read as MM/DD/YYYY",
           (("    day, month, year,", "    month, day, year,"),)),
    Mutant("timezone-dropped", "dates", "CreatedDate treated as UTC; TimeZone checked but never applied",
           (("            tzinfo=zone,\n", "            tzinfo=timezone.utc,\n"),)),
    Mutant("dst-ignored", "dates", "each zone's 1 January offset used all year (summer time ignored)",
           (("            tzinfo=zone,\n        )\n        utc = local.astimezone(timezone.utc)\n",
             "        )\n        offset = zone.utcoffset(datetime(int(year), 1, 1))\n"
             "        utc = (local - offset).replace(tzinfo=timezone.utc)\n"),)),
    Mutant("status-default", "lookups", "an unknown Status becomes ACTIVE instead of UNKNOWN_STATUS",
           ((_STATUS, _STATUS[:-1] + ', "ACTIVE")'),)),
    Mutant("status-case-sensitive", "lookups", "Status looked up as typed (trimmed, not upper-cased)",
           ((_STATUS, 'status = lookups["status"].get(values["Status"])'),)),
    Mutant("bom-not-stripped", "lookups", "load_lookups reads the CSV files as plain utf-8, byte-order mark included",
           (('encoding="utf-8-sig"', 'encoding="utf-8"'),)),
    Mutant("whitespace-is-present", "blanks", 'a required field of only spaces counts as present (only None and "" are blank)',
           ((_CHECK_REQUIRED, _CHECK_REQUIRED.replace("not values[field]", 'account.get(field) in (None, "")')),)),
    Mutant("timezone-defaults-utc", "blanks", "a blank TimeZone silently defaults to UTC instead of being rejected",
           ((_CHECK_REQUIRED, _CHECK_REQUIRED.replace("REQUIRED_FIELDS:", "REQUIRED_FIELDS[:-1]:")),
            ('zone = _zone(values["TimeZone"])', 'zone = _zone(values["TimeZone"] or "UTC")'))),
    Mutant("blank-email-kept", "blanks", 'an Email of "" or spaces becomes "" instead of null',
           (('email = _text(account.get("Email")).lower() or None',
             'email = None if account.get("Email") is None else _text(account["Email"]).lower()'),)),
    Mutant("trunk-prefix-kept", "phone", "national numbers keep their trunk prefix after the dial code",
           (('        trunk = country["trunk_prefix"]\n        if trunk and number.startswith(trunk):\n'
             '            number = number[len(trunk):]\n', ""),)),
    Mutant("invalid-phone-nulled", "phone", "a phone that cannot be normalised becomes null instead of INVALID_PHONE",
           (("    phone = _phone(raw_phone, country) if raw_phone else None\n",
             "    try:\n        phone = _phone(raw_phone, country) if raw_phone else None\n"
             "    except Rejected:\n        phone = None\n"),)),
    Mutant("input-mutated", "batch", "map_account tidies the caller's account in place (trims, upper-cases, adds keys)",
           (("    values = {field: _text(account.get(field)) for field in REQUIRED_FIELDS}\n",
             "    for key, value in list(account.items()):\n        if isinstance(value, str):\n"
             "            account[key] = value.strip().upper() if key in ('Status', 'BillingCountry') else value.strip()\n"
             "    account.setdefault('Email', None)\n    account.setdefault('Phone', None)\n"
             "    values = {field: _text(account.get(field)) for field in REQUIRED_FIELDS}\n"),)),
    Mutant("batch-stops-early", "batch", "map_batch stops at the first rejected record",
           (('                    "field": problem.field,\n                }\n            )\n',
             '                    "field": problem.field,\n                }\n            )\n            break\n'),)),
)


# -- the implementations, run in this process -----------------------------------------
@functools.cache
def implementation(name: str) -> types.ModuleType:
    """The correct mapper, or the mutant called ``name``, as a private module."""
    source = (paths.LABS / "mapping-tests" / "starter" / "mapper.py").read_text(encoding="utf-8")
    if name not in (CORRECT, CONTROL_B):
        source = next(m for m in MUTANTS if m.name == name).apply(source)
    module = types.ModuleType(f"iclab_mapping_{name.replace('-', '_')}")
    exec(compile(source, f"<mapper: {name}>", "exec"), module.__dict__)
    return module


class Dispatcher:
    """The grader's end of the planted stub: answers each call with the implementation under test.

    Runs go on in parallel threads, so each thread keeps its own state.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def use(self, name: str) -> None:
        self._local.module, self._local.codes = implementation(name), {}

    def start(self, test: str) -> None:
        self._local.test, self._local.calls = test, 0

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
        impl, seen = state.module, state.codes.setdefault(state.test, set())
        try:
            if function == "load_lookups":
                return {"kind": "value", "value": _load_lookups(impl, *args), "after": []}
            value = getattr(impl, function)(*args)
        except impl.Rejected as exc:
            seen.add(exc.code)
            return {"kind": "rejected", "code": exc.code, "field": exc.field, "after": args}
        except Exception as exc:  # the implementation's own error, shown to the test as it would be
            return _raised(type(exc).__name__, str(exc), args)
        if function == "map_batch":
            seen.update(r["code"] for r in value["rejected"])
        return {"kind": "value", "value": value, "after": args}


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


# The hidden data is a salt for the order of the runs; the mutants are fixed.
grader = Grader(seed=20261207, data=lambda rng: rng.getrandbits(64))


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
        with run.fresh(extra_files={"mapper.py": PROXY}) as box:
            return _run_tests(box, dispatcher, name, candidates)

    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="mapping-tests") as pool:
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
            lines = [f"{'exposed ' if killers[m.name] else 'survived'} {m.name}: {m.summary}"
                     + (f" (by {', '.join(killers[m.name][:3])})" if killers[m.name] else "") for m in members]
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
