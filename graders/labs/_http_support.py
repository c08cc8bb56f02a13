"""Parent-side support for labs whose submissions talk HTTP to the mock services.

A grading is a ``Stage``: it owns the RPC handlers the sandboxed child's
time goes through (``_iclab_http`` patches ``time.sleep`` and friends to
call them) and opens one ``Scene`` per probe: a fresh mock service with its
own ``VirtualClock`` and scenario, served on a loopback port. A clock per
scene keeps each probe's timeline the same whatever ran before it.

``Stage.play`` runs one entry point through the harness and returns
``Played``: the learner's call record (as if the entry point had been
called directly), the captured logs, and a snapshot of the scene's journal.
Verdicts come from the journal and the service state, which live here in
the grader's process; the child's report only carries the return value and
the logs.

The second half reads journals: which requests are token requests, how a
request ended (timeout, dropped, throttled, ...), when the server asked the
client to come back, and how requests group into logical operations.
"""
from __future__ import annotations

import contextlib
import threading
from dataclasses import replace
from email.utils import parsedate_to_datetime
from typing import Callable, Iterator, NamedTuple

from mock_services import MAX_REAL_STALL, Delivery, JournalEntry, MockService, RunningServer, VirtualClock, serve

from ..checks import Environment
from ..sandbox import CallError, CallRecord, CallStatus

__all__ = ["HARNESS", "StopRun", "Scene", "Stage", "Played", "environment", "is_token", "bearer", "ended",
           "come_back_at", "kind", "runs", "correlation", "TRANSIENT", "RETRY_KINDS"]

HARNESS = "_iclab_http:run"
DILATION = 100.0
# The floor on a dilated read timeout: a loaded machine can take tens of milliseconds to
# answer an ordinary request, and a spurious timeout would make grading nondeterministic.
MIN_READ_TIMEOUT = 0.1
TRANSIENT = {500, 502, 503, 504}
RETRY_KINDS = ("timeout", "dropped", "transient")  # outcomes a client retries with backoff


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


class Played(NamedTuple):
    """One run of an entry point against a scene, frozen for the checks."""

    call: CallRecord  # the learner's entry point, as if called directly
    logs: tuple[str, ...]
    stopped: str | None  # why the grader ended the run early, if it did
    entries: tuple[JournalEntry, ...]  # the scene's whole journal after this run
    first: int  # entries[first:] are this run's requests
    tokens: tuple[str, ...]  # every access token the service has issued

    @property
    def mine(self) -> tuple[JournalEntry, ...]:
        """This run's requests."""
        return self.entries[self.first:]

    @property
    def value(self):
        return self.call.value if self.call.ok else None

    def text(self) -> str:
        """Everything the run wrote: log lines and printed output."""
        return "\n".join(self.logs) + "\n" + (self.call.output or "")


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

    @property
    def rpc(self) -> dict[str, Callable]:
        return {"clock.sleep": self._sleep, "clock.now": self._now, "clock.monotonic": self._monotonic}

    def _clock(self) -> VirtualClock:
        scene = self.current
        if scene is None:
            return self._idle_clock
        scene.quiet()  # a timed-out request must be settled before the client's next reading of the clock
        return scene.clock

    def _sleep(self, seconds: float) -> None:
        clock = self._clock()
        if self.current is not None:
            self.current.budget(float(seconds), self.max_requests, self.max_virtual)
        clock.sleep(float(seconds))

    def _now(self) -> float:
        return self._clock().now()

    def _monotonic(self) -> float:
        return self._clock().monotonic()

    def open(self, name: str, make: Callable[[VirtualClock], MockService]) -> Scene:
        """Build a service on a fresh clock with ``make(clock)`` and serve it on loopback."""
        service = make(VirtualClock(dilation=DILATION))
        return Scene(name, service, serve(service))

    def memo(self, key: str, compute: Callable[[], object]):
        """Compute once per grading: several probes may share one scene's evidence."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def play(self, caller: Callable[..., CallRecord], scene: Scene, target: str, config: dict, *args,
             seed: int = 0) -> Played:
        """Run ``target(config, *args)`` through the harness against ``scene``."""
        self.current = scene
        scene.begin()
        first = len(scene.service.journal)
        options = {"dilation": DILATION, "min_read_timeout": MIN_READ_TIMEOUT,
                   "max_requests": self.max_requests, "seed": seed}
        try:
            record = caller(HARNESS, target, config, *args, options=options, timeout=self.call_timeout)
        finally:
            scene.quiet()
            self.current = None
        report = record.value if record.ok and isinstance(record.value, dict) else {}
        logs = report.get("logs") if isinstance(report.get("logs"), list) else []
        stopped = report.get("stopped") if isinstance(report.get("stopped"), str) else None
        tokens = tuple(t.value for t in scene.service.tokens.tokens()) if scene.service.tokens else ()
        return Played(_learner_record(record, report, target, (config, *args)), tuple(str(x) for x in logs),
                      stopped, scene.service.journal.entries(), first, tokens)

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


# -- reading journals -----------------------------------------------------------------
def is_token(entry: JournalEntry) -> bool:
    """Whether the entry is a request to the token endpoint."""
    return entry.method == "POST" and entry.path.endswith("/oauth/token")


def bearer(entry: JournalEntry) -> str | None:
    """The Bearer token a request carried, or None."""
    scheme, _, value = (entry.header("Authorization") or "").strip().partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def correlation(entry: JournalEntry) -> str | None:
    value = (entry.header("X-Correlation-ID") or "").strip()
    return value or None


def ended(entry: JournalEntry) -> float:
    """When the client stopped waiting for this response (virtual time)."""
    return entry.at + entry.response.waited


def come_back_at(entry: JournalEntry) -> float | None:
    """The virtual instant the response's Retry-After asked the client to wait for, if any."""
    raw = (entry.response.header("Retry-After") or "").strip()
    if not raw:
        return None
    if raw.isdigit():
        return ended(entry) + int(raw)
    try:
        return parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def kind(entry: JournalEntry) -> str:
    """How a request ended, from the client's side.

    ok | timeout (the client gave up waiting) | dropped (the server closed the
    connection) | throttled (429/503 with Retry-After) | conflict (409) |
    transient (5xx or 429 without Retry-After) | unauthorized (401) | refused (other 4xx)
    """
    resp = entry.response
    if resp.delivery is Delivery.CLIENT_GONE:
        return "timeout"
    if resp.delivery is Delivery.DROPPED:
        return "dropped"
    status = resp.status
    if 200 <= status < 300:
        return "ok"
    if status == 409:
        return "conflict"
    if status in (429, 503) and come_back_at(entry) is not None:
        return "throttled"
    if status in TRANSIENT or status == 429:
        return "transient"
    if status == 401:
        return "unauthorized"
    return "refused"


def runs(entries, key: Callable[[JournalEntry], object]) -> list[list[JournalEntry]]:
    """Group consecutive non-token requests with the same ``key``: one logical operation and its retries."""
    groups: list[list[JournalEntry]] = []
    last = object()
    for entry in entries:
        if is_token(entry):
            continue
        k = key(entry)
        if groups and k == last:
            groups[-1].append(entry)
        else:
            groups.append([entry])
            last = k
    return groups
