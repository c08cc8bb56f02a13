"""How a lab declares its hidden checks.

A grader module builds one ``Grader``: probes run the submission (through the
sandbox) and return frozen evidence; checks read that evidence and return an
``Outcome``. Checks never touch the sandbox, so a check cannot be fooled by
anything but the values the submission actually returned::

    grader = Grader(seed=7, data=make_hidden_data)

    @grader.probe("valid")
    def _valid(run):
        return tuple(run.call("mapper:map_account", a, run.data.lookups) for a in run.data.valid)

    @grader.check("created-at-utc", title="created_at is UTC", points=10, skill="timezones",
                  dimension=Dimension.API_DATA, criterion=3, probe="valid")
    def _created_at(records, data):
        ...
        return passed("all 12 timestamps converted to UTC")
"""
from __future__ import annotations

import contextlib
import dataclasses
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from .results import Dimension, Status
from .sandbox import CallRecord, CallStatus

__all__ = ["Outcome", "passed", "failed", "partial", "skipped", "errored", "Grader", "CheckSpec", "Run", "Environment"]


@dataclass(frozen=True)
class Outcome:
    """A check's verdict: status, a reason for the learner, evidence, and optional partial credit."""

    status: Status
    reason: str
    evidence: str = ""
    fraction: float | None = None


def passed(reason: str = "all cases correct", evidence: str = "") -> Outcome:
    return Outcome(Status.PASSED, reason, evidence, 1.0)


def failed(reason: str, evidence: str = "") -> Outcome:
    return Outcome(Status.FAILED, reason, evidence, 0.0)


def partial(fraction: float, reason: str, evidence: str = "") -> Outcome:
    """Partial credit: full marks at 1.0 pass; anything less is a failure with some points."""
    fraction = max(0.0, min(1.0, fraction))
    return Outcome(Status.PASSED if fraction >= 1.0 else Status.FAILED, reason, evidence, fraction)


def skipped(reason: str) -> Outcome:
    return Outcome(Status.SKIPPED, reason, "", 0.0)


def errored(reason: str, evidence: str = "") -> Outcome:
    return Outcome(Status.ERRORED, reason, evidence, 0.0)


@dataclass(frozen=True)
class CheckSpec:
    id: str
    title: str
    points: float
    skill: str
    dimension: Dimension
    criterion: int | None
    probe: str | None
    func: Callable[..., Outcome]


@dataclass
class Environment:
    """Parent-side things a grading needs besides the sandbox: RPC handlers, mock services."""

    rpc: dict[str, Callable[..., Any]] = field(default_factory=dict)
    objects: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.objects[name]
        except KeyError:
            raise AttributeError(name) from None


class Run:
    """What a probe sees: the sandbox (to call entry points), the hidden data and the environment."""

    def __init__(self, sandbox, data, env: Environment):
        self._sandbox = sandbox
        self.data = data
        self.env = env

    @property
    def submission(self):
        """The submission folder (read-only: for static checks that read source text, never import it)."""
        return self._sandbox.submission

    def call(self, target: str, *args, **kwargs) -> CallRecord:
        return self._sandbox.call(target, *args, **kwargs)

    def read_folder(self, folder: str, names: tuple[str, ...], cap: int) -> dict:
        """Files the learner's code wrote into ``folder`` (of its work folder), read by the grader (see Sandbox)."""
        return self._sandbox.read_folder(folder, names, cap)

    def call_many(self, target: str, arg_lists, *, watch_args: bool = False, timeout: float | None = None):
        """Call ``target`` once per argument tuple, pipelined (much faster than a loop of ``call``)."""
        from .sandbox import Call

        return self._sandbox.call_many([Call(target, tuple(a), {}, watch_args, timeout) for a in arg_lists])

    def fresh(self, extra_files: dict[str, bytes] | None = None, *, new_interpreter: bool = False, **limits):
        """Another sandbox for the same submission (with other hidden files); use as a context manager.

        For labs that must run the submission against several worlds, e.g. the
        learner's tests against the correct implementation and then each mutant.
        ``new_interpreter``: its children are new interpreters, not forks of the
        warm server, so nothing process-wide carries over (the hash seed
        included): what a "rerun in a new process" needs.
        """
        from dataclasses import replace

        from .sandbox import Sandbox

        return Sandbox(self._sandbox.submission, replace(self._sandbox.limits, **limits),
                       rpc=self._sandbox.rpc, extra_files=extra_files, new_interpreter=new_interpreter,
                       deadline=self._sandbox.deadline)


class Grader:
    """A lab's hidden checks, their probes and their hidden data."""

    def __init__(self, *, seed: int, data: Callable[[random.Random], Any] | None = None,
                 files: Callable[[Any], dict[str, bytes]] | None = None, preload: bool = False,
                 coverage: dict[int, tuple[str, ...]] | None = None):
        # preload: import the learner's entry-point modules as soon as a child starts, so a module
        # that hangs or crashes at import costs one import timeout per grading, not one per call.
        # Leave it off where a harness must patch the world (time, sockets) before the import.
        self.preload = preload
        # Hidden data designed per acceptance criterion: criterion number -> the edge classes its
        # hidden data covers, each naming where it is generated. Proven present by the lab meta-tests.
        self.coverage: dict[int, tuple[str, ...]] = dict(coverage or {})
        self.seed = seed
        self._make_data = data
        self._files = files
        self._data = None
        self.probes: dict[str, Callable[[Run], Any]] = {}
        self.checks: list[CheckSpec] = []
        self._environment: Callable[[Any], contextlib.AbstractContextManager[Environment]] | None = None

    def data(self):
        """The hidden dataset, generated once from the grader's fixed seed."""
        if self._data is None and self._make_data is not None:
            self._data = self._make_data(random.Random(self.seed))
        return self._data

    def files(self) -> dict[str, bytes]:
        """Hidden input files written into the sandbox's working folder."""
        return self._files(self.data()) if self._files else {}

    def probe(self, name: str):
        def register(func):
            if name in self.probes:
                raise ValueError(f"probe {name!r} declared twice")
            self.probes[name] = func
            return func
        return register

    def environment(self, factory):
        """Register a context-manager factory ``factory(data) -> Environment`` for each grading."""
        self._environment = factory
        return factory

    @contextlib.contextmanager
    def open_environment(self) -> Iterator[Environment]:
        if self._environment is None:
            yield Environment()
        else:
            with self._environment(self.data()) as env:
                yield env

    def check(self, id: str, *, title: str, points: float, skill: str, dimension: Dimension,
              criterion: int | None = None, probe: str | None = None):
        def register(func):
            if any(c.id == id for c in self.checks):
                raise ValueError(f"check {id!r} declared twice")
            self.checks.append(CheckSpec(id, title, float(points), skill, dimension, criterion, probe, func))
            return func
        return register

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.checks)


_LEAVES = frozenset({str, int, float, bool, bytes, type(None)})


def unanswered(evidence) -> CallRecord | None:
    """The first call in ``evidence`` that crashed or timed out, if any."""
    stack = [evidence]
    while stack:
        item = stack.pop()
        if type(item) in _LEAVES:
            continue
        if isinstance(item, CallRecord):
            if item.status in (CallStatus.CRASHED, CallStatus.TIMED_OUT):
                return item
        elif isinstance(item, (tuple, list)):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            stack.extend(reversed([getattr(item, f.name) for f in dataclasses.fields(item)]))
    return None
