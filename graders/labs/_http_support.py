"""Parent-side support for labs whose submissions talk HTTP to the mock services.

A grading is a ``Stage``: it owns the RPC handlers the sandboxed child's
time goes through (``_iclab_http`` patches ``time.sleep`` and friends to
call them) and opens one ``Scene`` per probe: a fresh mock service with its
own ``VirtualClock`` and scenario, served on a loopback port. A clock per
scene keeps each probe's timeline the same whatever ran before it.

``Stage.play`` runs one entry point through the harness and returns
``Played``: the learner's call record (as if the entry point had been
called directly), the log records and printed lines, and a snapshot of the
scene's journal. Verdicts come from what the grader recorded itself: the
journal and the service state, the virtual clock, and the log records and
output lines the harness sent while the run went on (``log.record`` and
``log.output``), each stamped here on arrival with the run's request count
and the virtual time. The child's final answer only carries the entry
point's return value or exception; whether the grader stopped the run is
known here.

The second half reads journals: which requests are token requests, how a
request ended (timeout, dropped, throttled, ...), when the server asked the
client to come back, and how requests group into logical operations.
"""
from __future__ import annotations

import contextlib
import json
import math
import threading
from dataclasses import dataclass, replace
from functools import lru_cache
from email.utils import parsedate_to_datetime
from typing import Callable, Iterator, NamedTuple

from mock_services import MAX_REAL_STALL, Delivery, Fault, JournalEntry, MockService, RunningServer, VirtualClock, serve
from mock_services.faults import retry_after_value
from mock_services.messages import Response
from mock_services.problems import problem
from mock_services.routing import Call

from ..checks import Environment
from ..sandbox import CallError, CallRecord, CallStatus

__all__ = ["HARNESS", "StopRun", "Scene", "Stage", "Played", "LogLine", "environment", "is_token", "bearer", "ended",
           "come_back_at", "kind", "runs", "operations", "correlation", "TRANSIENT", "RETRY_KINDS",
           "Answer", "DropBeforeAnswer", "Throttle", "LowercaseHeaders", "PerKey"]

HARNESS = "_iclab_http:run"
DILATION = 100.0
# The floor on a dilated read timeout: a loaded machine can take tens of milliseconds to
# answer an ordinary request, and a spurious timeout would make grading nondeterministic.
MIN_READ_TIMEOUT = 0.1
TRANSIENT = {500, 502, 503, 504}
RETRY_KINDS = ("timeout", "dropped", "transient", "malformed")  # outcomes a client retries with backoff
MAX_RECORDS = 2000  # log records and output lines kept per run; the rest are counted, not kept
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
        return Scene(name, service, serve(service))

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


@lru_cache(maxsize=4096)
def _is_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return False
    return True


def kind(entry: JournalEntry) -> str:
    """How a request ended, from the client's side.

    ok | malformed (a 2xx whose body is not JSON) | timeout (the client gave up
    waiting) | dropped (the server closed the connection) | throttled (429/503
    with Retry-After) | conflict (409) | transient (5xx or 429 without
    Retry-After) | unauthorized (401) | refused (other 4xx)
    """
    resp = entry.response
    if resp.delivery is Delivery.CLIENT_GONE:
        return "timeout"
    if resp.delivery is Delivery.DROPPED:
        return "dropped"
    status = resp.status
    if 200 <= status < 300:
        return "ok" if _is_json(resp.body) else "malformed"
    if status == 409:
        return "conflict"
    if status in (429, 503) and come_back_at(entry) is not None:
        return "throttled"
    if status in TRANSIENT or status == 429:
        return "transient"
    if status == 401:
        return "unauthorized"
    return "refused"


def operations(entries) -> list[list[JournalEntry]]:
    """Group a run's requests into logical operations, token requests included, in order of their first request.

    An API operation is a run of requests with the same method and target
    (token requests in between, e.g. a refresh, do not end it); a token
    operation is a run of consecutive token requests (its retries).
    """
    ops: list[list[JournalEntry]] = []
    api: list[JournalEntry] | None = None
    token: list[JournalEntry] | None = None
    for entry in entries:
        if is_token(entry):
            if token is None:
                token = [entry]
                ops.append(token)
            else:
                token.append(entry)
            continue
        token = None
        if api is not None and (api[-1].method, api[-1].target) == (entry.method, entry.target):
            api.append(entry)
        else:
            api = [entry]
            ops.append(api)
    return ops


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


# -- faults the grading services add to the stock ones ------------------------------------
@dataclass(frozen=True)
class Answer(Fault):
    """Answer with a fixed status, headers and body (a gateway's 504, a WAF's empty 403, a text 503)."""

    status: int
    body: bytes = b""
    headers: tuple = ()
    slug: str | None = None  # a problem-details answer (with this type and ``detail`` = body) instead
    title_only: bool = False  # problem details without a detail member (RFC 9457 makes it optional)

    def before(self, call: Call, service) -> Response:
        if self.slug is None:
            return Response(self.status, tuple(self.headers), self.body)
        answer = problem(self.status, self.slug, self.body.decode(), call.request, tuple(self.headers))
        if self.title_only:
            payload = {k: v for k, v in json.loads(answer.body).items() if k != "detail"}
            answer = replace(answer, body=json.dumps(payload).encode())
        return answer


@dataclass(frozen=True)
class DropBeforeAnswer(Fault):
    """Close the connection before the request is processed: nothing committed, no answer."""

    def before(self, call: Call, service) -> Response:
        return Response(502, (), b"", drop=True)


@dataclass(frozen=True)
class Throttle(Fault):
    """429 or 503 with a Retry-After as a server might write it: seconds or HTTP-date (past too), padded, any case."""

    seconds: float
    status: int = 429
    form: str = "seconds"
    pad: str = ""  # trailing whitespace after the value (RFC 9110 lets a recipient strip it)
    name: str = "Retry-After"

    def before(self, call: Call, service) -> Response:
        now = service.clock.now()
        if self.form == "seconds":
            value = str(math.ceil(self.seconds))
        else:  # a date; in the past when the server's clock is behind the client's
            value = retry_after_value(self.seconds, "http-date", now) if self.seconds >= 0 else \
                retry_after_value(0, "http-date", now + self.seconds)
        slug = "rate-limited" if self.status == 429 else "service-unavailable"
        detail = "slow down" if self.status == 429 else "the system is briefly unavailable; come back later"
        return problem(self.status, slug, detail, call.request, ((self.name, value + self.pad),))


@dataclass(frozen=True)
class LowercaseHeaders(Fault):
    """Send every response header name in lower case, as HTTP/2 servers and some proxies do."""

    def after(self, call: Call, service, response: Response) -> Response:
        return replace(response, headers=tuple((k.lower(), v) for k, v in response.headers))


@dataclass(frozen=True)
class PerKey(Fault):
    """Faults by logical resource: the n-th request for one key (an account id, an order ref) gets its own faults.

    ``plan`` is ``((key, selector, (fault, ...)), ...)``; ``key(call)`` names the
    resource a request is for. Counting per key makes a scenario independent of
    the order in which a client gets to each resource.
    """

    plan: tuple
    key: Callable[[Call], str | None]

    def before(self, call: Call, service):
        chosen = self._choose(call, service)
        for fault in chosen:
            answer = fault.before(call, service)
            if answer is not None:
                return answer
        return None

    def during(self, call: Call, service) -> None:
        for fault in self._chosen(call, service):
            fault.during(call, service)

    def after(self, call: Call, service, response: Response) -> Response:
        for fault in self._chosen(call, service, pop=True):
            response = fault.after(call, service, response)
        return response

    def _state(self, service) -> dict:
        with service.state_lock:
            return service.__dict__.setdefault("_per_key", {"counts": {}, "chosen": {}})

    def _choose(self, call: Call, service) -> tuple:
        state = self._state(service)
        name = self.key(call)
        with service.state_lock:
            state["last"] = name  # the resource the client worked on last (e.g. whose refresh a token request is)
            n = state["counts"][name] = state["counts"].get(name, 0) + 1
            chosen = tuple(f for key, when, faults in self.plan if key == name and when.selects(n, None)
                           for f in faults) if name is not None else ()
            state["chosen"][call.seq] = chosen
        return chosen

    def _chosen(self, call: Call, service, pop: bool = False) -> tuple:
        state = self._state(service)
        with service.state_lock:
            return state["chosen"].pop(call.seq, ()) if pop else state["chosen"].get(call.seq, ())
