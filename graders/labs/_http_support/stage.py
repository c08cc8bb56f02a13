"""A grading's HTTP stage: scenes (a mock on its own clock and port), virtual time, and records that arrive as data.

``Stage.play`` runs one entry point through the ``_iclab_http`` harness and
returns ``Played``: the learner's call record (as if the entry point had been
called directly), the log records and printed lines, and a snapshot of the
scene's journal. Verdicts come from what the grader recorded itself: the
journal and the service state, the virtual clock, and the log records and
output lines the harness sent while the run went on (``log.record`` and
``log.output``), each stamped here on arrival with the run's request count
and the virtual time. The child's final answer only carries the entry
point's return value or exception; whether the grader stopped the run is
known here.
"""
from __future__ import annotations

import contextlib
import math
import threading
from dataclasses import replace
from typing import Callable, Iterator, NamedTuple

from mock_services import MAX_REAL_STALL, JournalEntry, MockService, RunningServer, VirtualClock, serve

from ...checks import Environment
from ...sandbox import CallError, CallRecord, CallStatus
from ...sandbox.network import listener

__all__ = ["HARNESS", "StopRun", "Scene", "Stage", "Played", "LogLine", "environment"]

HARNESS = "_iclab_http:run"
DILATION = 100.0
# The floor on a dilated read timeout: a loaded machine can take a hundred milliseconds and more to
# answer an ordinary request (0.1 s gave one spurious timeout in ten gradings run ten at a time on two
# cores; 0.2 s none in forty), and a spurious timeout makes grading nondeterministic. Each deliberate
# timeout costs this much real time.
MIN_READ_TIMEOUT = 0.2
MAX_RECORDS = 2000  # log records and output lines kept per run; the rest are refused
MAX_RECORD_CHARS = 8000


class StopRun(Exception):
    """Raised by an RPC handler to end a run that went on too long; the harness turns it into ``Stopped``."""


class Scene:
    """One mock service on its own clock and loopback port, for one probe."""

    def __init__(self, name: str, service: MockService, server: RunningServer):
        self.name = name
        self.service = service
        self.server = server
        self.clock = service.clock
        self.url = server.url
        self._mark = (0, 0.0)

    def quiet(self) -> None:
        """Wait until the server has settled every request, so journal and clock agree."""
        self.server.wait_idle(timeout=MAX_REAL_STALL + 0.5)

    def begin(self) -> None:
        self._mark = (len(self.service.journal), self.clock.elapsed())

    def budget(self, seconds: float, max_requests: int, max_virtual: float) -> None:
        """Stop a run that made too many requests or would sleep past its virtual-time allowance."""
        requests_made = len(self.service.journal) - self._mark[0]
        if requests_made > max_requests:
            raise StopRun(f"it sent more than {max_requests} requests in one run")
        if self.clock.elapsed() - self._mark[1] + seconds > max_virtual:
            raise StopRun(f"it waited more than {max_virtual / 60:g} minutes (virtual) in one run")


class LogLine(NamedTuple):
    """One log record as it reached the grader, stamped on arrival."""

    logger: str
    level: str
    message: str | None  # the formatted message; None when formatting failed (logging writes nothing then)
    text: str  # the whole line (level, logger, message, traceback), or the raw call when formatting failed
    after: int  # how many of this run's requests the service had received when the record arrived
    at: float  # virtual time of arrival


class Played(NamedTuple):
    """One run of an entry point against a scene, frozen for the checks."""

    call: CallRecord  # the learner's entry point, as if called directly
    logs: tuple[LogLine, ...]
    stopped: str | None  # why the grader ended the run early, if it did
    entries: tuple[JournalEntry, ...]  # the scene's whole journal after this run
    first: int  # entries[first:] are this run's requests
    tokens: tuple[str, ...]  # every access token the service has issued
    output: tuple[str, ...] = ()  # printed lines, as they reached the grader
    config: dict | None = None  # the config the entry point was given

    @property
    def mine(self) -> tuple[JournalEntry, ...]:
        """This run's requests."""
        return self.entries[self.first:]

    @property
    def value(self):
        return self.call.value if self.call.ok else None

    def text(self) -> str:
        """Everything the run wrote: log lines, printed lines, and the output the child reported."""
        return "\n".join([line.text for line in self.logs] + list(self.output) + [self.call.output or ""])


class Stage:
    """The parent side of one grading: scenes, and the virtual time the child's clock follows."""

    def __init__(self, *, max_requests: int = 100, max_virtual: float = 7200.0, call_timeout: float = 6.0):
        self.max_requests = max_requests
        self.max_virtual = max_virtual
        self.call_timeout = call_timeout
        self.current: Scene | None = None
        self._idle_clock = VirtualClock(dilation=DILATION)
        self._closing: list[threading.Thread] = []
        self._memo: dict[str, object] = {}
        self._records: list[LogLine] = []
        self._output: list[str] = []
        self._stopped: str | None = None
        self._first = 0

    @property
    def rpc(self) -> dict[str, Callable]:
        return {"clock.sleep": self._sleep, "clock.now": self._now, "clock.monotonic": self._monotonic,
                "log.record": self._log_record, "log.output": self._log_output}

    def _clock(self) -> VirtualClock:
        scene = self.current
        if scene is None:
            return self._idle_clock
        scene.quiet()  # a timed-out request must be settled before the client's next reading of the clock
        return scene.clock

    def _sleep(self, seconds: float) -> None:
        seconds = float(seconds)
        if not math.isfinite(seconds) or seconds < 0:  # NaN or infinity would poison the shared clock
            raise ValueError("sleep length must be a finite, non-negative number")
        clock = self._clock()
        if self.current is not None:
            try:
                self.current.budget(seconds, self.max_requests, self.max_virtual)
            except StopRun as exc:
                self._stopped = self._stopped or str(exc)
                raise
        clock.sleep(seconds)

    def _log_record(self, record) -> bool:
        """A log record, sent by the harness at emit time: kept with when it arrived (capped)."""
        scene = self.current
        if scene is None or len(self._records) >= MAX_RECORDS:
            raise ValueError("no more log records are taken in this run")
        if not isinstance(record, list) or len(record) != 4:
            raise ValueError("a log record is [logger, level, message, line]")
        logger, level, message, text = (x if isinstance(x, str) else None for x in record)
        self._records.append(LogLine((logger or "")[:200], (level or "")[:20],
                                     None if message is None else message[:MAX_RECORD_CHARS],
                                     (text or "")[:MAX_RECORD_CHARS], len(scene.service.journal) - self._first,
                                     scene.clock.now()))
        return True

    def _log_output(self, line) -> bool:
        """A printed line, sent by the harness as it was written (capped)."""
        if self.current is None or len(self._output) >= MAX_RECORDS:
            raise ValueError("no more output is taken in this run")
        self._output.append(line[:MAX_RECORD_CHARS] if isinstance(line, str) else repr(line)[:200])
        return True

    def _now(self) -> float:
        return self._clock().now()

    def _monotonic(self) -> float:
        return self._clock().monotonic()

    def open(self, name: str, make: Callable[[VirtualClock], MockService]) -> Scene:
        """Build a service on a fresh clock with ``make(clock)`` and serve it on loopback."""
        service = make(VirtualClock(dilation=DILATION))
        # On a socket the sandbox's network reaches (and nothing else there listens), admin API off.
        return Scene(name, service, serve(service, sock=listener()))

    def memo(self, key: str, compute: Callable[[], object]):
        """Compute once per grading: several probes may share one scene's evidence."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def play(self, caller: Callable[..., CallRecord], scene: Scene, target: str, config: dict, *args,
             seed: int = 0) -> Played:
        """Run ``target(config, *args)`` through the harness against ``scene``."""
        first = len(scene.service.journal)
        self._records, self._output, self._stopped, self._first = [], [], None, first
        self.current = scene
        scene.begin()
        options = {"dilation": DILATION, "min_read_timeout": MIN_READ_TIMEOUT,
                   "max_requests": self.max_requests, "seed": seed}
        try:
            record = caller(HARNESS, target, config, *args, options=options, timeout=self.call_timeout)
        finally:
            scene.quiet()
            self.current = None
        report = record.value if record.ok and isinstance(record.value, dict) else {}
        entries = scene.service.journal.entries()
        stopped = self._stopped
        if stopped is None and len(entries) - first >= self.max_requests:
            stopped = f"it sent more than {self.max_requests} requests in one run"  # the harness's leash
        tokens = tuple(t.value for t in scene.service.tokens.tokens()) if scene.service.tokens else ()
        learner = _learner_record(record, report, target, (config, *args))
        if stopped and learner.status is CallStatus.RETURNED:
            learner = replace(learner, value=None)  # a stopped run returned nothing of its own
        return Played(learner, tuple(self._records), stopped, entries, first, tokens, tuple(self._output),
                      dict(config))

    def finish(self, scene: Scene) -> None:
        """Close a scene's server in the background (closing waits out the server's poll interval)."""
        thread = threading.Thread(target=scene.server.close, daemon=True)
        thread.start()
        self._closing.append(thread)

    def close(self) -> None:
        for thread in self._closing:
            thread.join(timeout=5)


def _learner_record(record: CallRecord, report: dict, target: str, args: tuple) -> CallRecord:
    """The harness's answer as a record of the learner's entry point, so problem() names it."""
    if not record.ok:
        return replace(record, target=target, args=args, kwargs={})
    error = report.get("error")
    if isinstance(error, dict):
        err = CallError(type=str(error.get("type", "Error"))[:100], message=str(error.get("message", ""))[:2000],
                        traceback=str(error.get("traceback", ""))[:4000])
        return CallRecord(target, args, {}, CallStatus.RAISED, error=err, output=record.output,
                          duration=record.duration)
    return CallRecord(target, args, {}, CallStatus.RETURNED, value=report.get("value"), output=record.output,
                      duration=record.duration)


@contextlib.contextmanager
def environment(stage: Stage, **objects) -> Iterator[Environment]:
    """The grading's Environment: the stage's RPC handlers, the stage itself and ``objects``."""
    try:
        yield Environment(rpc=stage.rpc, objects={"stage": stage, **objects})
    finally:
        stage.close()
