"""Hidden log bundles for log-triage, generated from the grader's seed.

Each bundle is built as events in UTC first; every event is then rendered as
one line in its system's format, with that system's clock offset and the
quirks the contract allows (level spellings, key order, optional fields,
timestamps with or without milliseconds). The event is also the expected
record, so the generator is the oracle and never parses anything itself.
Non-record lines (stack traces, truncated JSON, banners) are mixed in.

The three bundles share one story engine and differ in what they stress
(the ``COVERAGE`` table in ``__init__`` says which edge class lives where):
bundle-a crosses midnight UTC with a +02:00 / -04:00 / +05:30 trio; bundle-b
has Windows line endings and no erp.log; bundle-c crosses the new year with
-03:30 / +05:45 / -09:30 clocks, has no gateway.log, equal timestamps across
and within files, a replay whose correlation ID starts with the original's
and a byte that is not UTF-8.
"""
from __future__ import annotations

import random
import string
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .render import render_erp, render_gateway, render_runtime, token, utc_text

__all__ = ["Line", "Bundle", "Hidden", "make_bundles", "SOURCES", "FILES", "Event"]

SOURCES = ("runtime", "gateway", "erp")
FILES = {"runtime": "runtime.log", "gateway": "gateway.log", "erp": "erp.log"}


@dataclass(frozen=True)
class Line:
    """One line of a hidden log file and what parse_line must make of it."""

    source: str
    number: int            # 1-based, within its file
    text: str              # as a reader decoding UTF-8 with replacement sees it
    expected: dict | None  # None: not a record
    secrets: tuple[str, ...] = ()  # secrets the line carries, which no returned record may contain
    raw: bytes | None = None       # the bytes in the file, when they are not text.encode("utf-8")


@dataclass(frozen=True)
class Bundle:
    folder: str
    lines: tuple[Line, ...]
    absent: tuple[str, ...]  # sources whose file the bundle does not include
    newline: str = "\n"

    def label(self, line: Line) -> str:
        return f"{self.folder}/{FILES[line.source]} line {line.number}"

    def timeline(self, cid: str) -> tuple[dict, ...]:
        """The records timeline() must return: time order, then runtime, gateway, erp, then line number."""
        rows = sorted((line.expected["ts"], SOURCES.index(line.source), line.number, line.expected)
                      for line in self.lines
                      if line.expected and line.expected["correlation_id"] == cid and line.source not in self.absent)
        return tuple(row[3] for row in rows)


@dataclass(frozen=True)
class Hidden:
    bundles: tuple[Bundle, ...]
    samples: Bundle                      # single lines for parse_line only, written to no file
    unknown_sources: tuple[tuple[str, str], ...]  # (line, source) pairs that must raise ValueError
    group_input: tuple[dict, ...]
    timelines: tuple[tuple[str, str, tuple[dict, ...]], ...]  # (bundle folder, correlation id, expected records)


@dataclass
class Event:
    at: datetime
    source: str
    cid: str | None
    level: str
    status: int | None
    message: str          # masked: what parse_line must return
    raw: str = ""         # unmasked, when it differs
    secrets: tuple[str, ...] = ()
    junk_after: tuple[str, ...] = ()
    whole: bool = False   # logged without milliseconds
    tied: bool = False    # shares its instant with other lines on purpose
    bad_bytes: bytes = b""  # replaces U+FFFD in the file: a byte that is not UTF-8


class _Story:
    """Builds one bundle's events: polls, orders with outcomes, replays, bursts, noise."""

    def __init__(self, rng: random.Random, start: datetime, ids):
        self.rng = rng
        self.now = start
        self.ids = ids
        self.events: list[Event] = []
        self.secret = token(rng, 18)
        self.jwt = "eyJhbGciOiJSUzI1NiJ9." + token(rng, 40) + "." + token(rng, 30, string.ascii_letters + "-_~")
        self.basic = token(rng, 22, string.ascii_letters + string.digits + "+/") + "=="
        self.order_no = rng.randrange(20000, 90000)
        self.cids: dict[str, list[str]] = {}
        self.refs: dict[str, str] = {}
        self.last: dict = {}

    def add(self, offset_ms: int, source: str, cid, level: str, status, message: str, **kw) -> datetime:
        at = self.now + timedelta(milliseconds=offset_ms)
        whole = source == "gateway"
        if whole and at.microsecond:
            at = at.replace(microsecond=0) + timedelta(seconds=1)  # the gateway logs whole seconds
        elif self.rng.random() < 0.2 and at.replace(microsecond=0) > self.last.get(cid, at):
            at, whole = at.replace(microsecond=0), True  # some lines carry no milliseconds
        self.last[cid] = max(at, self.last.get(cid, at))
        self.events.append(Event(at, source, cid, level, status, message, whole=whole, **kw))
        return at

    def gateway(self, offset_ms, cid, method, path, status, secrets=()):
        level = "ERROR" if status >= 500 else "WARN" if status >= 400 else "INFO"
        raw = f"{method} {path}"
        masked = raw
        for secret in secrets:
            masked = masked.replace(secret, "***")
        return self.add(offset_ms, "gateway", cid, level, status, masked, raw=raw, secrets=tuple(secrets))

    def poll(self, token_status: int = 200, fetch_status: int = 200):
        cid = self.ids()
        self.cids.setdefault("poll" if (token_status, fetch_status) == (200, 200) else f"poll-{token_status}-{fetch_status}",
                             []).append(cid)
        self.add(0, "runtime", cid, "INFO", None, "poll started")
        path = f"/oauth2/token?grant_type=client_credentials&client_id=erp-sync&client_secret={self.secret}"
        at = self.gateway(120, cid, "POST", path, token_status, secrets=(self.secret,))
        self.now = at
        if token_status != 200:
            self.add(240, "runtime", cid, "ERROR", token_status, f"token request refused with {token_status}; poll aborted")
            return
        at = self.gateway(300, cid, "GET", "/api/v2/orders?changedSince=last&page=1", fetch_status)
        self.now = at
        if fetch_status != 200:
            self.add(180, "runtime", cid, "ERROR", fetch_status, f"CRM answered {fetch_status}; poll aborted")
            return
        self.add(210, "runtime", cid, "INFO", None, "poll fetched the changed orders")

    def _created(self, cid: str, ref: str, so: str, gap: int = 520) -> None:
        self.add(gap, "erp", cid, "INFO", 201, f"sales order {so} created for {ref}")
        self.add(gap + 91, "runtime", cid, "INFO", 201, f"ERP created {so}")

    def order(self, outcome: str, cid: str | None = None, ref: str | None = None):
        rng = self.rng
        cid = cid or self.ids()
        self.cids.setdefault(outcome, []).append(cid)
        self.order_no += rng.randrange(1, 9)
        ref = ref or f"CRM-{self.order_no}"
        self.refs[cid] = ref
        so = f"SO-{self.order_no * 3 + 11}"
        self.now += timedelta(milliseconds=rng.randrange(400, 2500))
        self.add(0, "runtime", cid, "INFO", None, f"mapping order {ref} for Müller & Söhne")
        if rng.random() < 0.5:
            self.add(17, "runtime", cid, "DEBUG", None, 'calling ERP with headers {"Authorization": "Bearer ***"}',
                     raw=f'calling ERP with headers {{"Authorization": "Bearer {self.jwt}"}}', secrets=(self.jwt,))
        if rng.random() < 0.4:
            self.add(240, "erp", cid, "DEBUG", None, "caller authenticated with Authorization: Basic ***",
                     raw=f"caller authenticated with Authorization: Basic {self.basic}", secrets=(self.basic,))
        if outcome == "ok":
            self._created(cid, ref, so)
            at = self.gateway(700, cid, "PATCH", f"/api/v2/orders/{ref}", 200)
            self.now = at
            self.add(133, "runtime", cid, "INFO", 200, f"write-back of {so} done")
        elif outcome == "server-error":
            self.add(480, "erp", cid, "ERROR", 500, f"create failed for {ref}: IllegalStateException; rolled back",
                     junk_after=("java.lang.IllegalStateException: ledger period closed",
                                 "\tat com.example.erp.ledger.PeriodGuard.check(PeriodGuard.java:57)",
                                 "\t... 23 more"))
            self.add(566, "runtime", cid, "ERROR", 500, f"ERP answered 500 for {ref}")
        elif outcome == "rejected":
            self.add(390, "erp", cid, "WARN", 422, f"{ref} rejected: E-VAL-{rng.randrange(10, 99)} bad postcode")
            self.add(455, "runtime", cid, "ERROR", 422, f"ERP rejected {ref} with 422")
        elif outcome == "timeout":
            self.add(300, "erp", cid, "INFO", None, f"create started for {ref}")
            self.add(30_020, "runtime", cid, "ERROR", None, f"ERP call for {ref} timed out after 30000 ms")
            self.add(33_400, "erp", cid, "INFO", 201, f"sales order {so} created for {ref} after 33.1 s")
            self.now += timedelta(seconds=34)
        elif outcome == "throttled":
            self._created(cid, ref, so)
            at = self.gateway(700, cid, "PATCH", f"/api/v2/orders/{ref}", 429)
            self.now = at
            self.add(149, "runtime", cid, "WARN", 429, "write-back got 429; retrying")
            at = self.gateway(900, cid, "PATCH", f"/api/v2/orders/{ref}", 429)
            self.now = at
            self.add(162, "runtime", cid, "ERROR", 429, "write-back failed after 2 attempts")
        elif outcome == "latin-1":
            # The ERP's message carries a byte from another code page: read as U+FFFD, never a reason to stop.
            self.add(520, "erp", cid, "INFO", 201, f"sales order {so} created for {ref}, Kunde M\ufffdller",
                     bad_bytes=b"\xfc")
            self.add(611, "runtime", cid, "INFO", 201, f"ERP created {so}")

    def replay(self, original: str):
        """An ops replay of ``original``: its copy's correlation ID starts with the original's."""
        request = self.ids()
        copy = f"{original}-r1"
        self.cids.setdefault("replay-request", []).append(request)
        self.cids.setdefault("replay-copy", []).append(copy)
        self.now += timedelta(minutes=self.rng.randrange(4, 9))
        self.add(0, "runtime", request, "INFO", None, f"manual replay requested by ops: 1 message ({original})")
        self.add(406, "runtime", copy, "INFO", None, f"replaying message (original correlation id {original})")
        self.order("ok", cid=copy, ref=self.refs[original])

    def burst(self, cid: str, other: str):
        """Lines of ``cid`` in every file at one whole-second instant, two of them in runtime.log, and
        another correlation ID's lines at the same instant: only the tie-break orders them."""
        at = (self.now + timedelta(seconds=2)).replace(microsecond=0)
        tied = dict(tied=True, whole=False)
        self.events += [
            Event(at, "erp", cid, "INFO", None, "reservation check started", **tied),
            Event(at, "runtime", other, "INFO", None, "heartbeat from the other worker", **tied),
            Event(at, "runtime", cid, "INFO", None, "reserving stock", **tied),
            Event(at, "gateway", cid, "INFO", 200, "GET /api/v2/stock/A-17", whole=True, tied=True),
            Event(at, "runtime", cid, "WARN", None, "stock low, reserving anyway", **tied),
            Event(at, "erp", other, "INFO", None, "reservation check started", **tied),
        ]
        self.cids.setdefault("burst", []).append(cid)
        self.now = at + timedelta(seconds=1)

    def noise(self):
        choice = self.rng.randrange(4)
        if choice == 0:
            self.add(5, "runtime", None, "DEBUG", None, "heartbeat: error queue depth 0")
        elif choice == 1:
            self.gateway(5, None, "GET", "/health", 200)
        elif choice == 2:
            self.gateway(5, None, "HEAD", "/health", 304)
        else:
            self.add(5, "erp", None, "INFO", None, "batch job STOCK_SYNC finished")


_JUNK = {
    "runtime": ('{"ts": "2025-03-30T23:5', "=== runtime log rotated ===", "[1, 2, 3]",
                '{"level": "INFO", "msg": "no timestamp here"}', '{"ts": "yesterday", "level": "INFO", "msg": "x"}', "   "),
    "gateway": ("-- access log reopened --", '172.20.3.11 - erp-sync [30/Mar/2025:19:52:0', ""),
    "erp": ("Caused by: java.net.SocketTimeoutException: Read timed out", "    at java.base/java.net.Socket.read", ""),
}


def _build(rng: random.Random, folder: str, story: _Story, offsets: dict, absent=(), newline="\n",
           junk_bytes: bytes = b"") -> Bundle:
    events = sorted(story.events, key=lambda e: e.at)  # stable: tied events keep the order they were told in
    renderers = {"runtime": render_runtime, "gateway": render_gateway, "erp": render_erp}
    texts: dict[str, list[tuple[str, Event | None, bytes | None]]] = {s: [] for s in SOURCES}
    for event in events:
        text = renderers[event.source](rng, event, offsets[event.source])
        raw = text.encode("utf-8").replace("\ufffd".encode("utf-8"), event.bad_bytes) if event.bad_bytes else None
        texts[event.source].append((text, event, raw))
        for extra in event.junk_after:
            texts[event.source].append((extra, None, None))
    for source, junk in _JUNK.items():
        for text in junk:
            texts[source].insert(rng.randrange(1, len(texts[source])), (text, None, None))
    if junk_bytes:  # a half-written line from a crashed writer: not UTF-8, not a record
        texts["runtime"].insert(rng.randrange(1, len(texts["runtime"])),
                                (junk_bytes.decode("utf-8", errors="replace"), None, junk_bytes))
    lines = []
    for source in SOURCES:
        for number, (text, event, raw) in enumerate(texts[source], start=1):
            expected = None if event is None else {
                "ts": utc_text(event.at), "source": source, "correlation_id": event.cid,
                "level": event.level, "status": event.status, "message": event.message}
            lines.append(Line(source, number, text, expected, event.secrets if event else (), raw))
    return Bundle(folder, tuple(lines), tuple(absent), newline)


def _story(rng: random.Random, start: datetime, ids, outcomes, polls=2, auth_failures=1, fetch_failures=()) -> _Story:
    story = _Story(rng, start, ids)
    for i in range(polls):
        story.poll()
        for outcome in outcomes[i::polls]:
            story.order(outcome)
            if rng.random() < 0.4:
                story.noise()
        story.now += timedelta(minutes=rng.randrange(3, 9))
    for status in fetch_failures:
        story.poll(fetch_status=status)
        story.noise()
        story.now += timedelta(minutes=5)
    for _ in range(auth_failures):
        story.poll(token_status=401)
        story.noise()
        story.now += timedelta(minutes=5)
    return story


def _untie(events: list[Event]) -> None:
    """Keep timestamps unique within a correlation ID, except where a tie is the point."""
    seen: set[tuple] = {(e.cid, e.at) for e in events if e.tied}
    for event in sorted(events, key=lambda e: e.at):
        if event.tied:
            continue
        while (event.cid, event.at) in seen:
            event.at += timedelta(seconds=1) if event.whole else timedelta(milliseconds=7)
        seen.add((event.cid, event.at))


def make_bundles(rng: random.Random):
    """The three hidden bundles, each with the stories whose correlation IDs the timeline cases use."""
    def uuid_like() -> str:
        h = "".join(rng.choice("0123456789abcdef") for _ in range(32))
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    counter = iter(range(301, 999))

    def order_like() -> str:
        return f"ORD-{next(counter):04d}-{token(rng, 2, string.ascii_lowercase)}"

    def short_like() -> str:
        return f"rq{token(rng, 5, '0123456789abcdef')}"

    start_a = datetime(2025, 3, 30, 23, 52, 7, 331000, tzinfo=timezone.utc)  # crosses midnight UTC
    story_a = _story(rng, start_a, uuid_like,
                     ["ok", "server-error", "rejected", "ok", "timeout", "throttled", "ok", "rejected"], polls=2,
                     fetch_failures=(503, 500))
    story_a.burst(uuid_like(), uuid_like())
    _untie(story_a.events)
    bundle_a = _build(rng, "hidden/bundle-a", story_a, {"runtime": 120, "gateway": -240, "erp": 330})

    start_b = datetime(2024, 12, 31, 22, 41, 55, 80000, tzinfo=timezone.utc)
    story_b = _story(rng, start_b, order_like, ["throttled", "ok", "server-error", "ok"], polls=1, fetch_failures=(502,))
    _untie(story_b.events)
    bundle_b = _build(rng, "hidden/bundle-b", story_b, {"runtime": 0, "gateway": 540, "erp": -480},
                      absent=("erp",), newline="\r\n")

    start_c = datetime(2025, 12, 31, 23, 48, 30, 912000, tzinfo=timezone.utc)  # crosses the new year UTC
    story_c = _story(rng, start_c, short_like, ["ok", "latin-1", "timeout"], polls=1, auth_failures=0)
    story_c.burst(story_c.ids(), story_c.ids())
    story_c.replay(story_c.cids["ok"][0])
    story_c.order("rejected")
    _untie(story_c.events)
    bundle_c = _build(rng, "hidden/bundle-c", story_c, {"runtime": -210, "gateway": 345, "erp": -570},
                      absent=("gateway",), junk_bytes=b"\xff\xfe{\"ts\": \"2026-01-01T00:0")

    cases = []
    for bundle, story, kinds in ((bundle_a, story_a, ("ok", "server-error", "poll", "timeout", "poll-200-503", "burst")),
                                 (bundle_b, story_b, ("throttled", "server-error")),
                                 (bundle_c, story_c, ("burst", "ok", "replay-copy", "replay-request", "latin-1"))):
        for kind in kinds:
            cid = story.cids[kind][0]
            cases.append((bundle.folder, cid, bundle.timeline(cid)))
    cases.append((bundle_a.folder, "no-such-" + uuid_like()[:8], ()))
    return (bundle_a, bundle_b, bundle_c), tuple(cases)
