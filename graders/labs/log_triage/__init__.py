"""Hidden checks for log-triage (Exercise B: troubleshooting from logs).

Two deliverables, graded apart:

- ``triage.py`` runs against three hidden bundles and a set of single lines
  generated from the grader's seed (bundles.py, samples.py; the per-criterion
  ``COVERAGE`` table is in hidden.py). Each check judges one concern, so one
  mistake costs the checks it is about: the parse checks leave ``ts`` to the
  UTC check and secret-bearing messages to the masking check, and the
  timeline is judged on its own terms (a timeline that merges, filters and
  orders the submission's own parse_line records right is right).
- ``findings.toml`` is the learner's triage of the visible bundle, judged
  exactly per incident against the key in findings.py.

The grader package is split because one module would pass 800 lines.
"""
from __future__ import annotations

import json

from ...sandbox import CallError, CallRecord, CallStatus
from ...checks import Grader, failed, partial, passed
from ...evidence import mismatch_table, show
from ...results import Dimension
from . import findings
from .bundles import FILES, Hidden
from .hidden import COVERAGE, hidden_files, make_hidden

FIELDS = ("source", "correlation_id", "level", "status", "message")

grader = Grader(seed=20261205, data=make_hidden, files=hidden_files, preload=True, coverage=COVERAGE)


# -- probes: run the submission, keep frozen records --------------------------
def _lines(data: Hidden, records: bool):
    return [(bundle, line) for bundle in data.bundles + (data.samples,) for line in bundle.lines
            if (line.expected is not None) == records]


def _parse_all(run, records: bool):
    lines = _lines(run.data, records)
    calls = run.call_many("triage:parse_line", [(line.text, line.source) for _, line in lines])
    return tuple((bundle.label(line), line, call) for (bundle, line), call in zip(lines, calls))


# A machine whose clock is not on UTC: UTC-03:30 as a POSIX TZ string, so no zone database is needed.
ZONE, ZONE_NAME = "<-0330>3:30", "UTC-03:30"


@grader.probe("records")
def _probe_records(run):
    # A few lines again with the machine's clock on another zone: a ts formatted in local time shows there.
    picked = [(b, line) for b in run.data.bundles[:1] + (run.data.samples,) for line in b.lines
              if line.expected is not None and line.number % 5 == 1]
    zoned = run.call_many("_iclab_log_triage:parse_in_zone", [(line.text, line.source, ZONE) for _, line in picked])
    return _parse_all(run, records=True) + tuple(
        (f"{bundle.label(line)} (machine clock on {ZONE_NAME})", line, call)
        for (bundle, line), call in zip(picked, zoned))


@grader.probe("non-records")
def _probe_non_records(run):
    unknown = run.call_many("_iclab_log_triage:unknown_source", list(run.data.unknown_sources))
    return _parse_all(run, records=False), unknown


@grader.probe("group")
def _probe_group(run):
    return (run.call("triage:group_by_correlation", list(run.data.group_input), watch_args=True),
            run.call("triage:group_by_correlation", []))


def _answer(call):
    """A parse call as plain data, so a hung parse never makes the timeline check errored."""
    return ("ok", call.value) if call.ok else ("raised", call.problem())


@grader.probe("timeline")
def _probe_timeline(run):
    calls = run.call_many("triage:timeline", [(folder, cid) for folder, cid, _ in run.data.timelines])
    # The submission's own parse_line answers for every line of the bundles, as timeline() would read them:
    # the timeline is judged against these too, so a parsing mistake is not charged to it again.
    lines = [(b.folder, line) for b in run.data.bundles for line in b.lines if line.source not in b.absent]
    parsed = run.call_many("triage:parse_line", [(line.text + "\n", line.source) for _, line in lines])
    own: dict[str, list] = {}
    for (folder, line), call in zip(lines, parsed):
        own.setdefault(folder, []).append(_answer(call))
    # Where timeline() raised, once more with parse_line's raises turned into None: right then, the raise
    # was parse_line's (skips-non-records charges it), not the timeline's.
    tolerant = {i: _answer(run.call("_iclab_log_triage:timeline_tolerant", folder, cid))
                for i, (call, (folder, cid, _)) in enumerate(zip(calls, run.data.timelines)) if not call.ok}
    return calls, {folder: tuple(answers) for folder, answers in own.items()}, tolerant


FINDINGS_MAX_BYTES = 256 * 1024


@grader.probe("findings")
def _probe_findings(run):
    """findings.toml as text, read by the grader from its own link-free copy of the submission.

    No code of the learner's runs on the way, so nothing can stand in for the file. Editors on
    Windows save UTF-8 with a byte-order mark, which TOML parsers refuse; the mark says nothing
    about the findings, so it is dropped rather than costing every findings check.
    """
    target, args = "findings.toml", ()

    def refused(message: str) -> CallRecord:
        return CallRecord(target, args, {}, CallStatus.RAISED, error=CallError("ValueError", message))

    path = run.submission / "findings.toml"
    if path.is_symlink() or not path.is_file():
        return refused("there is no findings.toml in the submission")
    with path.open("rb") as handle:
        data = handle.read(FINDINGS_MAX_BYTES + 1)
    if len(data) > FINDINGS_MAX_BYTES:
        return refused(f"findings.toml is larger than {FINDINGS_MAX_BYTES // 1024} KB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return refused(f"findings.toml is not UTF-8 (byte {exc.start}); save it as UTF-8")
    return CallRecord(target, args, {}, CallStatus.RETURNED, value=text)


# -- checks on triage.py ------------------------------------------------------
def _record(call):
    """(record dict or None, why there is none)."""
    if not call.ok:
        return None, call.problem()
    if call.value is None:
        return None, "returned None for a log record"
    if not isinstance(call.value, dict):
        return None, f"returned {type(call.value).__name__}, expected a dict"
    return call.value, ""


def _fields(evidence, source: str, what: str):
    rows, total = [], 0
    for label, line, call in evidence:
        if line.source != source:
            continue
        total += 1
        got, problem = _record(call)
        if got is None:
            rows.append((label, [f"line: {line.text.strip()[:90]}", problem]))
            continue
        # A line carrying a secret has its message judged by masks-secrets instead.
        fields = FIELDS[:-1] if line.secrets else FIELDS
        diff = [f"{k}: expected {show(line.expected[k], 60)}, got {show(got.get(k, '<absent>'), 60)}"
                for k in fields if not _same(got.get(k, "<absent>"), line.expected[k])]
        if diff:
            rows.append((label, [f"line: {line.text.strip()[:90]}"] + diff))
    if rows:
        return failed(f"{len(rows)} of {total} {what} lines parsed wrong (correlation_id, level, status or message)",
                      mismatch_table(rows, total))
    return passed(f"all {total} {what} lines parsed right")


def _same(got, want) -> bool:
    """Equal and of the same type: True is not the status 1, and "503" is not 503."""
    return type(got) is type(want) and got == want


@grader.check("parse-runtime", title="Runtime JSON lines parsed", points=8, skill="log-parsing",
              dimension=Dimension.API_DATA, criterion=1, probe="records")
def check_runtime(evidence, data: Hidden):
    return _fields(evidence, "runtime", "runtime.log")


@grader.check("parse-gateway", title="Gateway access-log lines parsed", points=8, skill="log-parsing",
              dimension=Dimension.API_DATA, criterion=2, probe="records")
def check_gateway(evidence, data: Hidden):
    return _fields(evidence, "gateway", "gateway.log")


@grader.check("parse-erp", title="ERP key=value lines parsed", points=8, skill="log-parsing",
              dimension=Dimension.API_DATA, criterion=3, probe="records")
def check_erp(evidence, data: Hidden):
    return _fields(evidence, "erp", "erp.log")


@grader.check("utc-timestamps", title="Timestamps normalised to UTC", points=8, skill="timezones",
              dimension=Dimension.API_DATA, criterion=4, probe="records")
def check_utc(evidence, data: Hidden):
    rows, judged = [], 0
    for label, line, call in evidence:
        got, _ = _record(call)
        if got is None:
            continue  # no record at all belongs to the parse checks
        judged += 1
        if not _same(got.get("ts"), line.expected["ts"]):
            rows.append((label, [f"line: {line.text.strip()[:90]}",
                                 f"ts: expected {line.expected['ts']}, got {show(got.get('ts', '<absent>'), 40)}"]))
    if judged < len(evidence) // 2:
        return failed(f"only {judged} of {len(evidence)} log lines came back as records, too few to judge timestamps",
                      "see the parse checks for why the others did not")
    if rows:
        return failed(f"{len(rows)} of {judged} timestamps are not the UTC instant as YYYY-MM-DDTHH:MM:SS.mmmZ "
                      "(the hidden logs use other offsets than the samples)", mismatch_table(rows, judged))
    return passed(f"all {judged} timestamps converted to UTC, across offsets, midnight and the new year")


@grader.check("skips-non-records", title="Non-record lines give None; unknown sources raise ValueError", points=5,
              skill="log-parsing", dimension=Dimension.TROUBLESHOOTING, criterion=5, probe="non-records")
def check_non_records(evidence, data: Hidden):
    lines, unknown = evidence
    rows = []
    for label, line, call in lines:
        if not call.ok:
            rows.append((label, [f"line: {line.text.strip()[:90]!r}", call.problem()]))
        elif call.value is not None:
            rows.append((label, [f"line: {line.text.strip()[:90]!r}", f"expected None, got {show(call.value, 80)}"]))
    for (text, source), call in zip(data.unknown_sources, unknown):
        if not (call.ok and call.value == "ValueError"):
            got = call.problem() if not call.ok else "it returned" if call.value == "returned" else \
                f"it raised {show(call.value, 40)}"
            rows.append((f"source {source!r}", ["expected ValueError for a source the contract does not know", got]))
    total = len(lines) + len(unknown)
    if rows:
        return failed(f"{len(rows)} of {total} cases wrong: non-record lines (stack traces, truncated JSON, banners, "
                      "impossible dates, no level) must give None, unknown sources raise ValueError",
                      mismatch_table(rows, total))
    return passed(f"all {len(lines)} non-record lines gave None and {len(unknown)} unknown sources raised ValueError")


def _dump(value) -> str | None:
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):
        return None


@grader.check("masks-secrets", title="Secrets masked in every record", points=7, skill="secret-masking",
              dimension=Dimension.SECURITY, criterion=6, probe="records")
def check_masking(evidence, data: Hidden):
    # Where a source's messages come back wrong on lines without secrets, that is its parse check's
    # business: on its secret-bearing lines only a leaked credential is charged here.
    misread = {line.source for _, line, call in evidence if not line.secrets and _record(call)[0] is not None
               and not _same(_record(call)[0].get("message"), line.expected["message"])}
    rows, judged, total, lenient = [], 0, 0, 0
    for label, line, call in evidence:
        if not line.secrets:
            continue
        total += 1
        got, _ = _record(call)
        if got is None:
            continue
        judged += 1
        text = _dump(got)
        if text is None or any(secret in text for secret in line.secrets):
            rows.append((label, ["the record still holds a credential from this line",
                                 f"message expected {show(line.expected['message'], 90)}"]))
        elif _same(got.get("message"), line.expected["message"]):
            continue
        elif line.source in misread:
            lenient += 1
        else:
            rows.append((label, [f"message: expected {show(line.expected['message'], 90)}",
                                 f"got {show(got.get('message', '<absent>'), 90)}"]))
    if judged == 0:
        return failed(f"none of the {total} lines carrying a secret came back as a record, so masking cannot be judged")
    note = (f"; {lenient} messages from {', '.join(sorted(misread))} lines were only checked for leaks, since those "
            "messages are parsed wrong elsewhere too (see the parse checks)") if lenient else ""
    if rows:
        return failed(f"{len(rows)} of {judged} records from lines carrying a credential (client_secret, password, "
                      f"access_token, Bearer, Basic) are not masked as the contract says{note}",
                      mismatch_table(rows, judged))
    return passed(f"credentials masked as *** in all {judged} records that carried one, several per line included{note}")


@grader.check("groups-by-correlation", title="Records grouped by correlation ID, in time order", points=8,
              skill="correlation", dimension=Dimension.TROUBLESHOOTING, criterion=7, probe="group")
def check_group(evidence, data: Hidden):
    call, empty = evidence
    records = list(data.group_input)
    if not call.ok:
        return failed(f"group_by_correlation() on {len(records)} records: {call.problem()}",
                      call.error.traceback if call.error else "")
    if call.args_after is not None and list(call.args_after[0]) != records:
        return failed("group_by_correlation() changed the list it was given (sort a copy, e.g. sorted(...))")
    want: dict[str, list] = {}
    for record in records:
        if record["correlation_id"]:
            want.setdefault(record["correlation_id"], []).append(record)
    want = {k: sorted(v, key=lambda r: r["ts"]) for k, v in want.items()}
    got = call.value
    if not isinstance(got, dict):
        return failed(f"group_by_correlation() returned {type(got).__name__}, expected a dict", show(got))
    lines = []
    extra = [k for k in got if k not in want]
    if extra:
        lines.append(f"unexpected keys: {show(extra[:3], 90)} (records without a correlation ID are left out)")
    missing = [k for k in want if k not in got]
    if missing:
        lines.append(f"{len(missing)} correlation IDs missing, e.g. {show(missing[:2], 90)}")
    for key in want:
        if key in got and got[key] != want[key]:
            have = got[key] if isinstance(got[key], list) else []
            lines.append(f"{key}: expected {len(want[key])} records in ts order (equal ts in input order), got "
                         f"{len(have)}: {show([r.get('ts') if isinstance(r, dict) else r for r in have][:4], 100)}")
    if not (empty.ok and empty.value == {}):
        lines.append(f"group_by_correlation([]) should give {{}}, got "
                     f"{empty.problem() if not empty.ok else show(empty.value, 60)}")
    if lines:
        return failed(f"the groups differ from the expected {len(want)} time-ordered groups", "\n".join(lines[:6]))
    return passed(f"{len(records)} records in {len(want)} groups, each in time order with ties in input order, "
                  "input untouched")


def _own_timeline(answers, bundle, cid: str):
    """The timeline the contract asks for, built from the submission's own parse_line answers (None if it cannot be).

    A line whose parse raised counts as no record, as for a timeline that read past it.
    """
    if answers is None:
        return None
    lines = [line for line in bundle.lines if line.source not in bundle.absent]
    found = [value for line, (kind, value) in zip(lines, answers)
             if kind == "ok" and isinstance(value, dict) and value.get("correlation_id") == cid]
    if not all(type(r.get("ts")) is str for r in found):
        return None
    return sorted(found, key=lambda r: r["ts"])  # stable: equal ts keep file order, runtime then gateway then erp


def _right(got, want, own) -> bool:
    return isinstance(got, list) and (got == list(want) or got == own)


def _timeline_row(got, want, cid: str) -> list[str]:
    if not isinstance(got, list) or not all(isinstance(r, dict) for r in got):
        return [f"expected a list of records, got {show(got, 80)}"]
    strangers = [r for r in got if r.get("correlation_id") != cid]
    if strangers:
        return [f"{len(strangers)} records of other correlation IDs, e.g. {show(strangers[0], 80)}"]
    return [f"expected {len(want)} records: " + ", ".join(f"{r['source']}@{r['ts'][11:]}" for r in want[:5]),
            f"got {len(got)}: " + ", ".join(f"{show(r.get('source'), 12)}@{show(r.get('ts'), 30)}" for r in got[:5])]


@grader.check("timeline", title="Timeline merges the three files in time order", points=8, skill="correlation",
              dimension=Dimension.TROUBLESHOOTING, criterion=8, probe="timeline")
def check_timeline(evidence, data: Hidden):
    calls, own, tolerant = evidence
    bundles = {b.folder: b for b in data.bundles}
    rows, raised, upstream = [], set(), 0
    for i, (call, (folder, cid, want)) in enumerate(zip(calls, data.timelines)):
        label = f"{folder}, {cid}"
        mine = _own_timeline(own.get(folder), bundles[folder], cid)
        if call.ok:
            if not _right(call.value, want, mine):
                rows.append((label, _timeline_row(call.value, want, cid)))
            continue
        kind, value = tolerant.get(i, ("raised", ""))
        if kind == "ok" and _right(value, want, mine):
            upstream += 1  # it raised only because parse_line did: skips-non-records charges that
            continue
        rows.append((label, [call.problem()]))
        raised.add(folder)
    good = len(calls) - len(rows)
    note = (f"; {upstream} raised only because parse_line raises on lines that are not records (charged in "
            "skips-non-records), and are right once it does not") if upstream else ""
    if rows:
        # Raising on one bundle alone points at what only that bundle has.
        only = {"hidden/bundle-b": " (bundle-b has no erp.log and Windows line endings)",
                "hidden/bundle-c": " (bundle-c has no gateway.log and a byte that is not UTF-8)"}
        alone = len(raised) == 1 and len(rows) == sum(1 for f, _, _ in data.timelines if f in raised)
        return partial(good / len(calls), f"{len(rows)} of {len(calls)} timelines are wrong"
                       f"{only.get(next(iter(raised)), '') if alone else ''}{note}", mismatch_table(rows, len(calls)))
    return passed(f"all {len(calls)} timelines right: equal timestamps in file order, an unknown ID, a replay whose ID "
                  f"starts with the original's, bundles without {FILES['erp']} or {FILES['gateway']}{note}")


@grader.check("findings-category", title="Root-cause category per incident", points=9, skill="root-cause-analysis",
              dimension=Dimension.TROUBLESHOOTING, criterion=9, probe="findings")
def check_category(call, data: Hidden):
    return findings.category(call)


@grader.check("findings-evidence", title="Evidence cites every key line, and only lines of the incident", points=12,
              skill="evidence", dimension=Dimension.TROUBLESHOOTING, criterion=10, probe="findings")
def check_evidence(call, data: Hidden):
    return findings.evidence(call)


@grader.check("findings-next-step", title="Kind of next diagnostic step per incident", points=8, skill="diagnosis",
              dimension=Dimension.TROUBLESHOOTING, criterion=11, probe="findings")
def check_next_step(call, data: Hidden):
    return findings.next_step_kind(call)


@grader.check("findings-replay", title="Replay safety judged from the evidence", points=8, skill="idempotency",
              dimension=Dimension.INTEGRATION, criterion=12, probe="findings")
def check_replay(call, data: Hidden):
    return findings.replay(call)


@grader.check("findings-no-secrets", title="No secrets copied into the findings", points=3, skill="secret-masking",
              dimension=Dimension.SECURITY, criterion=13, probe="findings")
def check_no_secrets(call, data: Hidden):
    return findings.no_secrets(call)
