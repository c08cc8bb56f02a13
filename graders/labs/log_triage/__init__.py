"""Hidden checks for log-triage (Exercise B: troubleshooting from logs).

Two deliverables, graded apart:

- ``triage.py`` runs against two hidden bundles generated from the grader's
  seed (bundles.py): other correlation ID shapes, other clock offsets, other
  level spellings, a bundle without erp.log, secrets of its own. Each check
  judges one concern, so one mistake costs the checks it is about.
- ``findings.toml`` is the learner's triage of the visible bundle, judged
  field by field with partial credit against the key in findings.py.

The grader package is split in three because one module would pass 600 lines.
"""
from __future__ import annotations

import json

from ...checks import Grader, failed, partial, passed
from ...evidence import mismatch_table, show
from ...results import Dimension
from . import findings
from .bundles import FILES, Hidden, make_hidden, hidden_files

FIELDS = ("source", "correlation_id", "level", "status", "message")

grader = Grader(seed=20261205, data=make_hidden, files=hidden_files, preload=True)


# -- probes: run the submission, keep frozen records --------------------------
def _parse_all(run, records: bool):
    out = []
    for bundle in run.data.bundles:
        for line in bundle.lines:
            if (line.expected is not None) == records:
                out.append((bundle.label(line), line, run.call("triage:parse_line", line.text, line.source)))
    return tuple(out)


@grader.probe("records")
def _probe_records(run):
    return _parse_all(run, records=True)


@grader.probe("non-records")
def _probe_non_records(run):
    return _parse_all(run, records=False)


@grader.probe("group")
def _probe_group(run):
    return run.call("triage:group_by_correlation", list(run.data.group_input), watch_args=True)


@grader.probe("timeline")
def _probe_timeline(run):
    return tuple(run.call("triage:timeline", folder, cid) for folder, cid, _ in run.data.timelines)


@grader.probe("findings")
def _probe_findings(run):
    return run.call("_iclab_log_triage:read_findings")


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
            rows.append((label, [f"line: {line.text[:90]}", problem]))
            continue
        # A line carrying a secret has its message judged by masks-secrets instead.
        fields = FIELDS[:-1] if line.secret else FIELDS
        diff = [f"{k}: expected {show(line.expected[k], 60)}, got {show(got.get(k, '<absent>'), 60)}"
                for k in fields if got.get(k, "<absent>") != line.expected[k]]
        if diff:
            rows.append((label, [f"line: {line.text[:90]}"] + diff))
    if rows:
        return failed(f"{len(rows)} of {total} {what} lines parsed wrong (correlation_id, level, status or message)",
                      mismatch_table(rows, total))
    return passed(f"all {total} {what} lines parsed right")


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
        if got.get("ts") != line.expected["ts"]:
            rows.append((label, [f"line: {line.text[:90]}", f"ts: expected {line.expected['ts']}, got {show(got.get('ts', '<absent>'), 40)}"]))
    if judged < len(evidence) // 2:
        return failed(f"only {judged} of {len(evidence)} log lines came back as records, too few to judge timestamps",
                      "see the parse checks for why the others did not")
    if rows:
        return failed(f"{len(rows)} of {judged} timestamps are not the UTC instant as YYYY-MM-DDTHH:MM:SS.mmmZ "
                      "(the hidden logs use other offsets than the samples)", mismatch_table(rows, judged))
    return passed(f"all {judged} timestamps converted to UTC, across offsets and midnight")


@grader.check("skips-non-records", title="Non-record lines give None, never an exception", points=5,
              skill="log-parsing", dimension=Dimension.TROUBLESHOOTING, criterion=5, probe="non-records")
def check_non_records(evidence, data: Hidden):
    rows = []
    for label, line, call in evidence:
        if not call.ok:
            rows.append((label, [f"line: {line.text[:90]!r}", call.problem()]))
        elif call.value is not None:
            rows.append((label, [f"line: {line.text[:90]!r}", f"expected None, got {show(call.value, 80)}"]))
    if rows:
        return failed(f"{len(rows)} of {len(evidence)} non-record lines (stack traces, truncated JSON, banners, blanks) "
                      "were not answered with None", mismatch_table(rows, len(evidence)))
    return passed(f"all {len(evidence)} non-record lines gave None")


@grader.check("masks-secrets", title="Secrets masked in every record", points=7, skill="secret-masking",
              dimension=Dimension.SECURITY, criterion=6, probe="records")
def check_masking(evidence, data: Hidden):
    rows, judged, total = [], 0, 0
    for label, line, call in evidence:
        if not line.secret:
            continue
        total += 1
        got, _ = _record(call)
        if got is None:
            continue
        judged += 1
        text = json.dumps(got, default=str, ensure_ascii=False)
        if line.secret in text:
            rows.append((label, ["the record still holds the credential from this line",
                                 f"message expected {show(line.expected['message'], 90)}"]))
        elif got.get("message") != line.expected["message"]:
            rows.append((label, [f"message: expected {show(line.expected['message'], 90)}",
                                 f"got {show(got.get('message', '<absent>'), 90)}"]))
    if judged == 0:
        return failed(f"none of the {total} lines carrying a secret came back as a record, so masking cannot be judged")
    if rows:
        return failed(f"{len(rows)} of {judged} records from lines carrying a credential (client_secret, Bearer, Basic) "
                      "are not masked as the contract says", mismatch_table(rows, judged))
    return passed(f"credentials masked as *** in all {judged} records that carried one")


@grader.check("groups-by-correlation", title="Records grouped by correlation ID, in time order", points=8,
              skill="correlation", dimension=Dimension.TROUBLESHOOTING, criterion=7, probe="group")
def check_group(call, data: Hidden):
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
            lines.append(f"{key}: expected {len(want[key])} records in ts order, got {len(have)}: "
                         f"{show([r.get('ts') if isinstance(r, dict) else r for r in have][:4], 100)}")
    if lines:
        return failed(f"the groups differ from the expected {len(want)} time-ordered groups", "\n".join(lines[:6]))
    return passed(f"{len(records)} records in {len(want)} groups, each in time order, input untouched")


@grader.check("timeline", title="Timeline merges the three files in time order", points=8, skill="correlation",
              dimension=Dimension.TROUBLESHOOTING, criterion=8, probe="timeline")
def check_timeline(calls, data: Hidden):
    rows, raised = [], set()
    for call, (folder, cid, sources) in zip(calls, data.timelines):
        label = f"{folder}, {cid}"
        if not call.ok:
            rows.append((label, [call.problem()]))
            raised.add(folder)
            continue
        got = call.value
        if not isinstance(got, list) or not all(isinstance(r, dict) for r in got):
            rows.append((label, [f"expected a list of records, got {show(got, 80)}"]))
            continue
        strangers = [r for r in got if r.get("correlation_id") != cid]
        have = tuple(r.get("source") for r in got)
        if strangers:
            rows.append((label, [f"{len(strangers)} records of other correlation IDs, e.g. {show(strangers[0], 80)}"]))
        elif have != sources:
            rows.append((label, [f"expected sources in time order: {', '.join(sources) or '(none)'}",
                                 f"got: {', '.join(map(str, have)) or '(none)'}"]))
    good = len(calls) - len(rows)
    if rows:
        # Raising on bundle-b alone points at what only bundle-b has.
        note = " (bundle-b has no erp.log and Windows line endings)" if raised == {"hidden/bundle-b"} else ""
        return partial(good / len(calls), f"{len(rows)} of {len(calls)} timelines are wrong{note}",
                       mismatch_table(rows, len(calls)))
    return passed(f"all {len(calls)} timelines right, including an unknown ID and a bundle without {FILES['erp']}")


# -- checks on findings.toml ----------------------------------------------------
@grader.check("findings-category", title="Root-cause category per incident", points=8, skill="root-cause-analysis",
              dimension=Dimension.TROUBLESHOOTING, criterion=9, probe="findings")
def check_category(call, data: Hidden):
    return findings.category(call)


@grader.check("findings-evidence", title="Evidence cites correlation IDs and timestamps", points=9, skill="evidence",
              dimension=Dimension.TROUBLESHOOTING, criterion=10, probe="findings")
def check_evidence(call, data: Hidden):
    return findings.evidence(call)


@grader.check("findings-next-step", title="Next diagnostic step per incident", points=6, skill="diagnosis",
              dimension=Dimension.TROUBLESHOOTING, criterion=11, probe="findings")
def check_next_step(call, data: Hidden):
    return findings.next_step(call)


@grader.check("findings-mitigation", title="Mitigation per incident", points=6, skill="mitigation",
              dimension=Dimension.INTEGRATION, criterion=11, probe="findings")
def check_mitigation(call, data: Hidden):
    return findings.mitigation(call)


@grader.check("findings-replay", title="Replay safety judged from the evidence", points=8, skill="idempotency",
              dimension=Dimension.INTEGRATION, criterion=12, probe="findings")
def check_replay(call, data: Hidden):
    return findings.replay(call)


@grader.check("findings-no-secrets", title="No secrets copied into the findings", points=3, skill="secret-masking",
              dimension=Dimension.SECURITY, criterion=13, probe="findings")
def check_no_secrets(call, data: Hidden):
    return findings.no_secrets(call)
