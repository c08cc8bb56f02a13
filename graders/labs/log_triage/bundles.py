"""Hidden log bundles for log-triage, generated from the grader's seed.

Each bundle is built as events in UTC first; every event is then rendered as
one line in its system's format, with that system's clock offset and the
quirks the contract allows (level spellings, key order, optional fields,
timestamps with or without milliseconds). The event is also the expected
record, so the generator is the oracle and never parses anything itself.
Non-record lines (stack traces, truncated JSON, banners) are mixed in.
"""
from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

__all__ = ["Line", "Bundle", "Hidden", "make_hidden", "hidden_files", "SOURCES"]

SOURCES = ("runtime", "gateway", "erp")
FILES = {"runtime": "runtime.log", "gateway": "gateway.log", "erp": "erp.log"}
_LEVEL_SPELLINGS = {"DEBUG": ("DEBUG", "debug"), "INFO": ("INFO", "info", "Info"),
                    "WARN": ("WARN", "warn", "WARNING", "warning"), "ERROR": ("ERROR", "error", "Error")}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Line:
    """One line of a hidden log file and what parse_line must make of it."""

    source: str
    number: int           # 1-based, within its file
    text: str
    expected: dict | None  # None: not a record
    secret: str = ""       # a secret the line carries, which no returned record may contain


@dataclass(frozen=True)
class Bundle:
    folder: str
    lines: tuple[Line, ...]
    absent: tuple[str, ...]  # sources whose file the bundle does not include
    newline: str = "\n"

    def label(self, line: Line) -> str:
        return f"{self.folder}/{FILES[line.source]} line {line.number}"


@dataclass(frozen=True)
class Hidden:
    bundles: tuple[Bundle, ...]
    group_input: tuple[dict, ...]
    timelines: tuple[tuple[str, str, tuple[str, ...]], ...]  # (bundle folder, correlation id, expected sources)


@dataclass
class _Event:
    at: datetime
    source: str
    cid: str | None
    level: str
    status: int | None
    message: str          # masked: what parse_line must return
    raw: str = ""         # unmasked, when it differs
    secret: str = ""
    junk_after: tuple[str, ...] = ()
    whole: bool = False   # logged without milliseconds


def _utc_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _token(rng: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


class _Story:
    """Builds one bundle's events: polls, orders with outcomes, noise."""

    def __init__(self, rng: random.Random, start: datetime, ids):
        self.rng = rng
        self.now = start
        self.ids = ids
        self.events: list[_Event] = []
        self.secret = _token(rng, 18)
        self.jwt = "eyJhbGciOiJSUzI1NiJ9." + _token(rng, 40) + "." + _token(rng, 30, string.ascii_letters + "-_")
        self.basic = _token(rng, 24) + "=="
        self.order_no = rng.randrange(20000, 90000)
        self.cids: dict[str, list[str]] = {}
        self.last: dict = {}

    def add(self, offset_ms: int, source: str, cid, level: str, status, message: str, **kw) -> datetime:
        at = self.now + timedelta(milliseconds=offset_ms)
        whole = source == "gateway"
        if whole and at.microsecond:
            at = at.replace(microsecond=0) + timedelta(seconds=1)  # the gateway logs whole seconds
        elif self.rng.random() < 0.2 and at.replace(microsecond=0) > self.last.get(cid, at):
            at, whole = at.replace(microsecond=0), True  # some lines carry no milliseconds
        self.last[cid] = max(at, self.last.get(cid, at))
        self.events.append(_Event(at, source, cid, level, status, message, whole=whole, **kw))
        return at

    def gateway(self, offset_ms, cid, method, path, status, secret=""):
        level = "ERROR" if status >= 500 else "WARN" if status >= 400 else "INFO"
        raw = f"{method} {path}"
        masked = raw.replace(secret, "***") if secret else raw
        return self.add(offset_ms, "gateway", cid, level, status, masked, raw=raw, secret=secret)

    def poll(self, token_status: int = 200):
        cid = self.ids()
        self.cids.setdefault("poll", []).append(cid)
        self.add(0, "runtime", cid, "INFO", None, "poll started")
        path = f"/oauth2/token?grant_type=client_credentials&client_id=erp-sync&client_secret={self.secret}"
        at = self.gateway(120, cid, "POST", path, token_status, secret=self.secret)
        self.now = at
        if token_status != 200:
            self.add(240, "runtime", cid, "ERROR", token_status, f"token request refused with {token_status}; poll aborted")
            return
        at = self.gateway(300, cid, "GET", "/api/v2/orders?changedSince=last&page=1", 200)
        self.now = at
        self.add(210, "runtime", cid, "INFO", None, "poll fetched the changed orders")

    def order(self, outcome: str):
        rng = self.rng
        cid = self.ids()
        self.cids.setdefault(outcome, []).append(cid)
        self.order_no += rng.randrange(1, 9)
        ref = f"CRM-{self.order_no}"
        so = f"SO-{self.order_no * 3 + 11}"
        self.now += timedelta(milliseconds=rng.randrange(400, 2500))
        self.add(0, "runtime", cid, "INFO", None, f"mapping order {ref} for Müller & Söhne")
        if rng.random() < 0.5:
            self.add(17, "runtime", cid, "DEBUG", None, 'calling ERP with headers {"Authorization": "Bearer ***"}',
                     raw=f'calling ERP with headers {{"Authorization": "Bearer {self.jwt}"}}', secret=self.jwt)
        if rng.random() < 0.4:
            self.add(240, "erp", cid, "DEBUG", None, "caller authenticated with Authorization: Basic ***",
                     raw=f"caller authenticated with Authorization: Basic {self.basic}", secret=self.basic)
        if outcome == "ok":
            self.add(520, "erp", cid, "INFO", 201, f"sales order {so} created for {ref}")
            self.add(611, "runtime", cid, "INFO", 201, f"ERP created {so}")
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
            self.add(520, "erp", cid, "INFO", 201, f"sales order {so} created for {ref}")
            self.add(611, "runtime", cid, "INFO", 201, f"ERP created {so}")
            at = self.gateway(700, cid, "PATCH", f"/api/v2/orders/{ref}", 429)
            self.now = at
            self.add(149, "runtime", cid, "WARN", 429, "write-back got 429; retrying")
            at = self.gateway(900, cid, "PATCH", f"/api/v2/orders/{ref}", 429)
            self.now = at
            self.add(162, "runtime", cid, "ERROR", 429, "write-back failed after 2 attempts")

    def noise(self):
        choice = self.rng.randrange(3)
        if choice == 0:
            self.add(5, "runtime", None, "DEBUG", None, "heartbeat: error queue depth 0")
        elif choice == 1:
            self.gateway(5, None, "GET", "/health", 200)
        else:
            self.add(5, "erp", None, "INFO", None, "batch job STOCK_SYNC finished")


# -- rendering ----------------------------------------------------------------
def _offset_text(minutes: int, colon: bool) -> str:
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}" if colon else f"{sign}{hours:02d}{mins:02d}"


def _render_runtime(rng: random.Random, event: _Event, runtime_offset: int) -> str:
    if event.whole:
        ts = event.at.strftime("%Y-%m-%dT%H:%M:%SZ")
    elif rng.random() < 0.25:  # a node whose clock is configured with a local offset
        local = event.at.astimezone(timezone(timedelta(minutes=runtime_offset)))
        ts = local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + _offset_text(runtime_offset, True)
    else:
        ts = _utc_text(event.at)
    doc = {"ts": ts, "level": rng.choice(_LEVEL_SPELLINGS[event.level]), "msg": event.raw or event.message}
    if event.cid is not None:
        doc["corr_id"] = event.cid
    else:
        form = rng.randrange(3)
        if form:
            doc["corr_id"] = None if form == 1 else ""
    if event.status is not None:
        doc["http_status"] = event.status
    elif rng.random() < 0.3:
        doc["http_status"] = None
    doc["node"] = rng.choice(("rt-a", "rt-b"))
    doc["thread"] = f"worker-{rng.randrange(1, 9)}"
    keys = list(doc)
    rng.shuffle(keys)
    return json.dumps({k: doc[k] for k in keys}, ensure_ascii=rng.random() < 0.5)


def _render_gateway(rng: random.Random, event: _Event, offset: int) -> str:
    local = event.at.astimezone(timezone(timedelta(minutes=offset)))
    stamp = f"{local.day:02d}/{_MONTHS[local.month - 1]}/{local.year}:{local:%H:%M:%S} {_offset_text(offset, False)}"
    ip = "10.9.0.4" if event.cid is None else "172.20.3.11"
    request = f"{event.raw or event.message} {rng.choice(('HTTP/1.1', 'HTTP/2.0'))}"
    fields = [f"rt={rng.randrange(1, 900) / 1000:.3f}", f"X-Correlation-ID={event.cid or '-'}",
              f"upstream=crm-core-{rng.randrange(1, 4)}"]
    if event.status == 429:
        fields.append("retry_after=20")
    rng.shuffle(fields)
    size = rng.choice(("-", str(rng.randrange(2, 4000))))
    return f'{ip} - {"-" if event.cid is None else "erp-sync"} [{stamp}] "{request}" {event.status} {size} ' + " ".join(fields)


def _render_erp(rng: random.Random, event: _Event, offset: int) -> str:
    local = event.at.astimezone(timezone(timedelta(minutes=offset)))
    if event.whole:
        clock = f"{local:%Y-%m-%d %H:%M:%S}"
    else:
        clock = f"{local:%Y-%m-%d %H:%M:%S}." + f"{local.microsecond // 1000:03d}"
    level = event.level if event.level != "WARN" else rng.choice(("WARN", "WARNING"))
    pairs = [f"level={level}", f'msg="{event.raw or event.message}"', f"tx={rng.randrange(16**6):06x}"]
    if event.cid is not None:
        pairs.append(f"cid={event.cid}")
    elif rng.random() < 0.5:
        pairs.append("cid=-")
    if event.status is not None:
        pairs.append(f"status={event.status}")
    rng.shuffle(pairs)
    return f"{clock} {_offset_text(offset, False)} erp-db{rng.randrange(1, 3)} erp-api[{rng.randrange(100, 999)}]: " + " ".join(pairs)


_JUNK = {
    "runtime": ('{"ts": "2025-03-30T23:5', "=== runtime log rotated ===", "[1, 2, 3]",
                '{"level": "INFO", "msg": "no timestamp here"}', '{"ts": "yesterday", "level": "INFO", "msg": "x"}', "   "),
    "gateway": ("-- access log reopened --", '172.20.3.11 - erp-sync [30/Mar/2025:19:52:0', ""),
    "erp": ("Caused by: java.net.SocketTimeoutException: Read timed out", "    at java.base/java.net.Socket.read", ""),
}


def _build(rng: random.Random, folder: str, story: _Story, offsets: dict, absent=(), newline="\n") -> Bundle:
    events = sorted(story.events, key=lambda e: e.at)
    renderers = {"runtime": _render_runtime, "gateway": _render_gateway, "erp": _render_erp}
    texts: dict[str, list[tuple[str, _Event | None]]] = {s: [] for s in SOURCES}
    for event in events:
        texts[event.source].append((renderers[event.source](rng, event, offsets[event.source]), event))
        for extra in event.junk_after:
            texts[event.source].append((extra, None))
    for source, junk in _JUNK.items():
        for text in junk:
            texts[source].insert(rng.randrange(1, len(texts[source])), (text, None))
    lines = []
    for source in SOURCES:
        for number, (text, event) in enumerate(texts[source], start=1):
            expected = None if event is None else {
                "ts": _utc_text(event.at.astimezone(timezone.utc)), "source": source, "correlation_id": event.cid,
                "level": event.level if event.level != "WARNING" else "WARN", "status": event.status,
                "message": event.message}
            lines.append(Line(source, number, text, expected, event.secret if event else ""))
    return Bundle(folder, tuple(lines), tuple(absent), newline)


def _story(rng: random.Random, start: datetime, ids, outcomes, polls=2, auth_failures=1) -> _Story:
    story = _Story(rng, start, ids)
    for i in range(polls):
        story.poll()
        for outcome in outcomes[i::polls]:
            story.order(outcome)
            if rng.random() < 0.4:
                story.noise()
        story.now += timedelta(minutes=rng.randrange(3, 9))
    for _ in range(auth_failures):
        story.poll(token_status=401)
        story.noise()
        story.now += timedelta(minutes=5)
    _untie(story.events)
    return story


def _untie(events: list[_Event]) -> None:
    """Keep timestamps unique within a correlation ID, so time order alone decides a timeline."""
    seen: set[tuple] = set()
    for event in sorted(events, key=lambda e: e.at):
        while (event.cid, event.at) in seen:
            event.at += timedelta(seconds=1) if event.whole else timedelta(milliseconds=7)
        seen.add((event.cid, event.at))


def make_hidden(rng: random.Random) -> Hidden:
    def uuid_like() -> str:
        h = "".join(rng.choice("0123456789abcdef") for _ in range(32))
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    counter = iter(range(301, 999))

    def order_like() -> str:
        return f"ORD-{next(counter):04d}-{_token(rng, 2, string.ascii_lowercase)}"

    start_a = datetime(2025, 3, 30, 23, 52, 7, 331000, tzinfo=timezone.utc)  # crosses midnight UTC
    story_a = _story(rng, start_a, uuid_like,
                     ["ok", "server-error", "rejected", "ok", "timeout", "throttled", "ok", "rejected"], polls=2)
    bundle_a = _build(rng, "hidden/bundle-a", story_a, {"runtime": 120, "gateway": -240, "erp": 330})
    start_b = datetime(2024, 12, 31, 22, 41, 55, 80000, tzinfo=timezone.utc)
    story_b = _story(rng, start_b, order_like, ["throttled", "ok", "server-error", "ok"], polls=1)
    bundle_b = _build(rng, "hidden/bundle-b", story_b, {"runtime": 0, "gateway": 540, "erp": -480},
                      absent=("erp",), newline="\r\n")

    records = [line.expected for b in (bundle_a, bundle_b) for line in b.lines if line.expected is not None]
    rng.shuffle(records)

    def sources_of(bundle: Bundle, cid: str) -> tuple[str, ...]:
        rows = sorted((line.expected["ts"], SOURCES.index(line.source), line.number, line.source)
                      for line in bundle.lines
                      if line.expected and line.expected["correlation_id"] == cid and line.source not in bundle.absent)
        return tuple(row[3] for row in rows)

    cases = []
    for bundle, story, kinds in ((bundle_a, story_a, ("ok", "server-error", "poll", "timeout")),
                                 (bundle_b, story_b, ("throttled",))):
        for kind in kinds:
            cid = story.cids[kind][0]
            cases.append((bundle.folder, cid, sources_of(bundle, cid)))
    cases.append((bundle_a.folder, "no-such-" + uuid_like()[:8], ()))
    return Hidden((bundle_a, bundle_b), tuple(records), tuple(cases))


def hidden_files(data: Hidden) -> dict[str, bytes]:
    """The bundles' files: bundle-b has Windows line endings and no erp.log (that team sent nothing)."""
    files = {}
    for bundle in data.bundles:
        for source in SOURCES:
            if source in bundle.absent:
                continue
            text = bundle.newline.join(line.text for line in bundle.lines if line.source == source) + bundle.newline
            files[f"{bundle.folder}/{FILES[source]}"] = text.encode("utf-8")
    return files
