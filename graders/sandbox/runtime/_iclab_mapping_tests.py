"""Runs a learner's test functions from ``test_mapper.py`` inside the sandbox (mapping-tests lab).

The grader calls ``describe()``, then ``run_test(name)`` per test, in a child whose ``mapper.py`` is
``PROXY_SOURCE``: a stub whose every call the grader answers with the implementation under test.
Importing pytest costs more than a whole run, so tests get a ``pytest`` subset that behaves alike:
``raises`` (``match``, call form), ``mark.parametrize`` (stacked, ``param``), ``fixture`` (yield,
autouse, ``usefixtures``), ``fail``, ``skip``; other names load the real pytest. Fixtures: the file's
own, ``tmp_path``, ``monkeypatch``. All answers are untrusted (learner code shares this process);
graders/labs/mapping_tests.py makes a lie useless.
"""
from __future__ import annotations

import collections
import hashlib
import inspect
import itertools
import os
import pathlib
import re
import sys
import tempfile
import traceback
import types

TEST_FILE = "test_mapper.py"
RPC_NAME = "mapping_tests.mapper"
CONTRACT = ("Rejected", "load_lookups", "map_account", "map_batch")

PROXY_SOURCE = '''"""The mapper under test: the grader answers every call, outside this process."""
import builtins as _builtins
import os as _os

import _iclab_rpc

__all__ = ["Rejected", "load_lookups", "map_account", "map_batch"]


class Rejected(Exception):
    """An account that cannot be mapped: a reason code and the source field."""

    def __init__(self, code, field):
        super().__init__(f"{code}: {field}")
        self.code = code
        self.field = field


def _sync(old, new):
    """Make ``old`` equal ``new`` in place: the implementation changed its arguments."""
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        old.clear()
        old.update(new)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, value in enumerate(new):
            if isinstance(old[i], (dict, list)):
                _sync(old[i], value)
            else:
                old[i] = value
    elif isinstance(old, list) and isinstance(new, list):
        old[:] = new


def _call(function, args):
    answer = _iclab_rpc.call("mapping_tests.mapper", function, args)
    for old, new in zip(args, answer.get("after", ())):
        _sync(old, new)
    if answer["kind"] == "value":
        return answer["value"]
    if answer["kind"] == "rejected":
        raise Rejected(answer["code"], answer["field"])
    kind = getattr(_builtins, answer["type"], None)
    if not (isinstance(kind, type) and issubclass(kind, Exception)):
        kind = RuntimeError
    raise kind(answer["message"])


def load_lookups(directory):
    files = {}
    for name in ("status_codes.csv", "countries.csv"):
        with open(_os.path.join(directory, name), "rb") as handle:
            files[name] = handle.read()
    return _call("load_lookups", [files])


def map_account(account, lookups):
    return _call("map_account", [account, lookups])


def map_batch(accounts, lookups):
    return _call("map_batch", [accounts, lookups])


def __getattr__(name):
    raise AttributeError(f"module 'mapper' has no attribute {name!r}: while grading, tests may use "
                         "only Rejected, load_lookups, map_account and map_batch")
'''

_state: dict = {}


def describe() -> dict:
    """The test file's text, read before any learner code runs in this child."""
    return {"source": pathlib.Path(TEST_FILE).read_bytes().decode("utf-8", "replace")}


def run_test(name: str) -> dict:
    """Run one test function (every parametrized case); say whether it passed and what it touched."""
    _load()
    error, tampered, cases = _state.get("import_error"), [], []
    func = getattr(_state.get("module"), name, None)
    if error is None and not callable(func):
        error = f"{name} is not a function once the module has run"
    if error is None:
        try:
            cases = _cases(func)
        except _Unsupported as exc:
            error = str(exc)
    for label, params in cases:
        error, during = _run_case(func, params)
        tampered += [t for t in during if t not in tampered]
        if error is not None:
            error = f"[{label}] {error}" if label else error
            break
    tampered += [t for t in _tampered() if t not in tampered]
    return {"passed": error is None, "error": error, "tampered": tampered}


# -- loading and watching ---------------------------------------------------------------
def _sha(path: str) -> str:
    try:
        return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()
    except OSError:
        return "unreadable"


def _load() -> None:
    if "module" in _state or "import_error" in _state:
        return
    import _iclab_rpc

    path = os.path.join(os.getcwd(), TEST_FILE)
    _state["mapper_file"] = os.path.join(os.getcwd(), "mapper.py")
    _state["mapper_sha"] = hashlib.sha256(PROXY_SOURCE.encode("utf-8")).hexdigest()
    try:
        mapper = __import__("mapper")
        _state["mapper"] = mapper
        _state["watched"] = _watch(mapper, _iclab_rpc)
        if getattr(mapper, "__file__", None) != _state["mapper_file"] or _sha(_state["mapper_file"]) != _state["mapper_sha"]:
            _state["import_error"] = "the mapper module is not the one the grader planted"
            return
        sys.modules["pytest"] = _pytest_subset()
        code = compile(pathlib.Path(path).read_bytes(), path, "exec")
        module = types.ModuleType("test_mapper")
        module.__file__ = path
        sys.modules["test_mapper"] = module
        exec(code, module.__dict__)
    except BaseException as exc:  # the learner's module failed to import
        _state["import_error"] = f"importing {TEST_FILE} failed: {_describe(exc)}"
        return
    _state["module"] = module


def _watch(mapper, rpc) -> list:
    """What a test must leave alone: (label, owner, name, original object, its code)."""
    owners = ((mapper, "mapper", CONTRACT + ("_call", "_sync")), (rpc, "the grader's channel", ("call",)),
              (sys.modules[__name__], "the grader's test runner", ("run_test", "_run_case", "_tampered", "_load")))
    return [(f"{label}.{name}", owner, name, owner.__dict__.get(name), getattr(owner.__dict__.get(name), "__code__", None))
            for owner, label, names in owners for name in names]


def _tampered() -> list[str]:
    found = []
    if sys.modules.get("mapper") is not _state.get("mapper"):
        found.append("replaced the mapper module")
    for label, owner, name, obj, code in _state.get("watched", ()):
        now = owner.__dict__.get(name)
        if now is not obj or getattr(now, "__code__", None) is not code:
            found.append(f"replaced {label}")
    if _state.get("mapper_file") and _sha(_state["mapper_file"]) != _state["mapper_sha"]:
        found.append("changed mapper.py on disk")
    return found


# -- cases and fixtures -----------------------------------------------------------------
class _Unsupported(Exception):
    """A pytest feature the grader's runner does not offer."""


def _marks(func) -> list:
    return list(getattr(func, "pytestmark", []))


def _cases(func) -> list[tuple[str, dict]]:
    """Every parametrized case of ``func`` as (label, {argname: value}); one empty case if none."""
    axes = []
    for mark in reversed(_marks(func)):
        if mark.name in ("skip", "skipif", "xfail"):
            raise _Unsupported(f"the grader does not run tests marked {mark.name}")
        if mark.name != "parametrize":
            continue
        if mark.kwargs.get("indirect"):
            raise _Unsupported("indirect parametrization is not supported by the grader")
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames")
        values = mark.args[1] if len(mark.args) > 1 else mark.kwargs.get("argvalues")
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        axis = []
        for value in values:
            label = None
            if type(value).__name__ == "ParameterSet":
                if value.marks:
                    raise _Unsupported("marks inside pytest.param are not supported by the grader")
                label, value = value.id, value.values
            elif len(names) == 1:
                value = (value,)
            axis.append((label or ", ".join(map(repr, value))[:80], dict(zip(names, value))))
        axes.append(axis)
    return [(" | ".join(label for label, _ in combo), {k: v for _, case in combo for k, v in case.items()})
            for combo in itertools.product(*axes)]


def _fixtures() -> dict:
    """Fixtures defined in the test file, by name."""
    found = {v.name: v for v in list(vars(_state["module"]).values()) if isinstance(v, _Fixture)}
    if any(f.params is not None for f in found.values()):
        raise _Unsupported("parametrized fixtures are not supported by the grader")
    return found


def _run_case(func, params: dict) -> tuple[str | None, list[str]]:
    """Run one case with its fixtures: (None if it passed else a one-line reason, what it tampered with)."""
    teardowns: list = []
    made: dict = {}
    error = None
    try:
        fixtures = _fixtures()
        wanted = [n for n, f in fixtures.items() if f.autouse]
        wanted += [n for m in _marks(func) if m.name == "usefixtures" for n in m.args]
        for name in wanted:
            _fixture(name, fixtures, made, teardowns, ())
        args = {}
        for name, parameter in inspect.signature(func).parameters.items():
            if name in params:
                args[name] = params[name]
            elif parameter.default is inspect.Parameter.empty:
                args[name] = _fixture(name, fixtures, made, teardowns, ())
        func(**args)
    except BaseException as exc:  # any exception, SystemExit included, fails the test
        error = _describe(exc)
    # Checked before teardown: a monkeypatch undone at teardown still tested a patched mapper.
    tampered = _tampered()
    for teardown in reversed(teardowns):
        try:
            teardown()
        except BaseException as exc:
            error = error or f"fixture teardown failed: {_describe(exc)}"
    return error, tampered


def _fixture(name, fixtures, made, teardowns, chain):
    if name in made:
        return made[name]
    if name in chain:
        raise _Unsupported(f"fixture {name!r} depends on itself")
    if name == "tmp_path":
        value = pathlib.Path(tempfile.mkdtemp(prefix="case-", dir=os.path.join(os.getcwd(), "tmp")))
    elif name == "monkeypatch":
        from _pytest.monkeypatch import MonkeyPatch

        value = MonkeyPatch()
        teardowns.append(value.undo)
    elif name in fixtures:
        function = fixtures[name].function
        value = function(**{arg: _fixture(arg, fixtures, made, teardowns, chain + (name,))
                            for arg in inspect.signature(function).parameters})
        if inspect.isgenerator(value):
            generator, value = value, next(value)
            teardowns.append(lambda: next(generator, None))
    else:
        raise _Unsupported(f"fixture {name!r} is not available: the grader provides tmp_path, monkeypatch "
                           f"and the fixtures defined in {TEST_FILE}")
    made[name] = value
    return value


# -- the pytest subset ------------------------------------------------------------------
class Failed(BaseException):
    """pytest.fail(), or a pytest.raises block that did not raise."""


class Skipped(BaseException):
    """pytest.skip(): the grader counts a skipped test as not passing."""


Mark = collections.namedtuple("Mark", "name args kwargs")
ParameterSet = collections.namedtuple("ParameterSet", "values marks id")


class _MarkDecorator:
    def __init__(self, mark: Mark):
        self.mark = mark

    def __call__(self, *args, **kwargs):
        if len(args) == 1 and not kwargs and callable(args[0]):
            args[0].pytestmark = [*_marks(args[0]), self.mark]
            return args[0]
        return _MarkDecorator(Mark(self.mark.name, self.mark.args + args, {**self.mark.kwargs, **kwargs}))


class _MarkGenerator:
    def __getattr__(self, name: str) -> _MarkDecorator:
        if name.startswith("_"):
            raise AttributeError(name)
        return _MarkDecorator(Mark(name, (), {}))


_Fixture = collections.namedtuple("_Fixture", "function name autouse params")


def _fixture_decorator(function=None, *, scope="function", params=None, autouse=False, ids=None, name=None):
    def wrap(f):
        return _Fixture(f, name or f.__name__, autouse, params)
    return wrap(function) if function is not None else wrap


class ExceptionInfo:
    """What ``pytest.raises`` caught: ``.value``, ``.type``, ``.match()``."""

    value = type = tb = None

    def match(self, regexp) -> bool:
        if not re.search(regexp, str(self.value)):
            raise AssertionError(f"Regex pattern did not match: {regexp!r} not found in {str(self.value)!r}")
        return True


class _Raises:
    def __init__(self, expected, match):
        self.expected, self.match_expr, self.info = expected, match, ExceptionInfo()

    def __enter__(self) -> ExceptionInfo:
        return self.info

    def __exit__(self, kind, value, tb) -> bool:
        if kind is None:
            raise Failed(f"DID NOT RAISE {self.expected}")
        if not issubclass(kind, self.expected):
            return False
        self.info.value, self.info.type, self.info.tb = value, kind, tb
        if self.match_expr is not None:
            self.info.match(self.match_expr)
        return True


def _raises(expected, *args, match=None, **kwargs):
    if not args:
        return _Raises(expected, match)
    with _Raises(expected, match) as info:
        args[0](*args[1:], **kwargs)
    return info


def _throw(kind):
    def throw(reason: str = "", **_):
        raise kind(reason)
    return throw


def _pytest_subset() -> types.ModuleType:
    module = types.ModuleType("pytest", "The grader's fast subset of pytest; other names load the real one.")
    module.__dict__.update(raises=_raises, mark=_MarkGenerator(), param=lambda *v, marks=(), id=None: ParameterSet(
        v, marks if isinstance(marks, (list, tuple)) else (marks,), id), fixture=_fixture_decorator,
        fail=_throw(Failed), skip=_throw(Skipped), ExceptionInfo=ExceptionInfo, __getattr__=_real_pytest)
    return module


def _real_pytest(name: str):
    if "real_pytest" not in _state:
        subset = sys.modules.pop("pytest")
        try:
            import pytest as real
        finally:
            sys.modules["pytest"] = subset
        _state["real_pytest"] = real
    return getattr(_state["real_pytest"], name)


# -- reporting --------------------------------------------------------------------------
def _describe(exc: BaseException) -> str:
    """``Type: first lines of the message (test_mapper.py:LINE)``, without sandbox paths."""
    try:
        message = f"sys.exit({exc.code!r}) was called" if isinstance(exc, SystemExit) else str(exc)
    except Exception:
        message = "<unprintable>"
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()][:3]
    text = type(exc).__name__ + (": " + " / ".join(lines) if lines else "")
    where = [f for f in traceback.extract_tb(exc.__traceback__) if os.path.basename(f.filename) == TEST_FILE]
    if where:  # the failing line says what was asserted, as pytest's rewriting would
        text += f" ({TEST_FILE}:{where[-1].lineno}: {where[-1].line or ''})"
    return text.replace(os.getcwd() + os.sep, "")[:400]
