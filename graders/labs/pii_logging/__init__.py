"""Hidden checks for pii-logging: a logging filter that masks secrets and personal data, and nothing else.

Hidden log records, generated from a fixed seed, go through the learner's
``PiiFilter`` and ``JsonFormatter`` inside the sandbox (the trusted harness
``_iclab_pii_logging`` builds and emits them). Here, the output is scanned:

- every planted secret has *fragments* (its distinctive pieces); if any
  fragment survives, the secret leaked, even when it was masked in part;
- every safe value (correlation ID, order number, timestamp, amount) must
  survive verbatim, and so must each record's plain context words.

A check owns one kind of data. The records in ``message`` hold one kind each
and no args, so a rule that is missing costs only its own check. The args
and extras checks count only kinds the filter already masks in a plain
message, so a filter that ignores args loses those two checks and not every
category again.

The grader package is split because one module would pass 650 lines:
planted.py (secrets and safe values), records.py (the hidden records) and
output.py (reading and scanning what the harness reports); this module
holds the probe and the checks.
"""
from __future__ import annotations

import datetime as dt
import json

from ...checks import Grader, failed, passed
from ...evidence import mismatch_table, show
from ...results import Dimension
from .output import _case_rows, _excerpt, _hide_leaks, _leaks, _outputs, _problem, _render
from .records import Case, Hidden, make_hidden

__all__ = ["grader", "HARNESS", "CATEGORIES", "SAFE_CHECKS", "Hidden", "make_hidden"]

HARNESS = "_iclab_pii_logging:emit"
CATEGORIES = {  # check id -> (kind, what the learner reads)
    "masks-emails": ("email", "e-mail addresses"),
    "masks-phones": ("phone", "international phone numbers"),
    "masks-cards": ("card", "Luhn-valid card numbers"),
    "masks-national-ids": ("national-id", "SSNs and NI numbers"),
    "masks-auth-headers": ("auth", "bearer tokens and Authorization credentials"),
    "masks-query-form-secrets": ("query", "client_secret/password/api_key in query strings and form bodies"),
    "masks-json-secrets": ("json", "client_secret/password/api_key in JSON and escaped JSON"),
    "masks-url-encoded": ("urlenc", "URL-encoded secrets and e-mail addresses"),
}
SAFE_CHECKS = {
    "keeps-correlation-ids": ("correlation", "correlation and trace IDs"),
    "keeps-order-numbers": ("order", "order, invoice and shipment numbers"),
    "keeps-timestamps-amounts": ("time-amount", "timestamps and amounts"),
}


def _spec(case: Case) -> dict:
    return {"logger": case.logger, "level": case.level, "msg": case.msg, "args": case.args,
            "extra": case.extra, "created": case.created}


grader = Grader(seed=20261209, data=make_hidden, preload=True)


@grader.probe("emitted")
def _probe_emitted(run):
    return run.call(HARNESS, [_spec(c) for c in run.data.cases])


def _handled_kinds(outs, data) -> set[str]:
    """Kinds whose every plain-message record was masked cleanly: what the args/extras checks may judge."""
    kinds = {kind for kind, _ in CATEGORIES.values()}
    for out, case in zip(outs, data.cases):
        if case.group == "message" and _case_rows([(out, case)], {s.kind for s in case.secrets})[0]:
            kinds -= {s.kind for s in case.secrets}
    return kinds


# -- checks -------------------------------------------------------------------
def _category_check(check_id: str, kind: str, what: str, points: int, criterion: int):
    @grader.check(check_id, title=f"Masks {what}", points=points, skill="pii-masking",
                  dimension=Dimension.SECURITY, criterion=criterion, probe="emitted")
    def judge(record, data):
        """Scan the relevant records' output."""
        outs, why = _outputs(record, data)
        if outs is None:
            return failed(why)
        pairs = [(o, c) for o, c in zip(outs, data.cases) if c.group == "message"]
        rows, judged = _case_rows(pairs, {kind})
        if rows:
            return failed(f"{len(rows)} of {judged} log messages with {what} leak them or lose their context",
                          mismatch_table(rows, judged))
        return passed(f"all {judged} log messages with {what} masked, context kept")

    return judge


for _id, (_kind, _what), _points, _criterion in zip(
        CATEGORIES, CATEGORIES.values(), (7, 5, 8, 6, 8, 7, 6, 7), (1, 1, 2, 3, 4, 5, 5, 5)):
    _category_check(_id, _kind, _what, _points, _criterion)


def _location_check(check_id: str, group: str, title: str, where: str, always: frozenset):
    @grader.check(check_id, title=title, points=8, skill="structured-logging", dimension=Dimension.SECURITY,
                  criterion=6, probe="emitted")
    def judge(record, data):
        """Scan the relevant records' output."""
        outs, why = _outputs(record, data)
        if outs is None:
            return failed(why)
        kinds = _handled_kinds(outs, data) | always
        pairs = [(o, c) for o, c in zip(outs, data.cases) if c.group == group]
        rows, judged = _case_rows(pairs, kinds)
        if judged < 3:  # records holding a kind the filter masks in plain messages
            return failed(f"your filter masks too few kinds of data in plain messages to judge {where} "
                          "(fix the masks-* checks first)", f"kinds masked in messages: {sorted(kinds - always)}")
        if rows:
            return failed(f"{len(rows)} of {judged} records leak data passed {where}: mask the final message and "
                          "every extra", mismatch_table(rows, judged))
        return passed(f"all {judged} records with secrets passed {where} masked")

    return judge


_location_check("masks-args", "args", "Masks data passed as %-args (tuple and dict)", "as %-args", frozenset())
_location_check("masks-extras", "extras", "Masks structured extras, nested ones too", "in extras",
                frozenset({"structured"}))


@grader.check("no-caller-mutation", title="The caller's extra objects are not changed", points=4,
              skill="structured-logging", dimension=Dimension.INTEGRATION, criterion=6, probe="emitted")
def check_mutation(record, data):
    """The harness compares each extra= object with a deep copy taken before logging."""
    outs, why = _outputs(record, data)
    if outs is None:
        return failed(why)
    judged = [(o, c) for o, c in zip(outs, data.cases) if c.extra and any(isinstance(v, (dict, list)) for v in c.extra.values())]
    rows = [(c.label, ["the dict/list passed in extra= was modified (e.g. the live request headers)"])
            for o, c in judged if o.mutated]
    if rows:
        return failed(f"{len(rows)} of {len(judged)} records had their caller's objects changed: build masked "
                      "copies instead", mismatch_table(rows, len(judged)))
    return passed(f"the caller's objects are untouched in all {len(judged)} records with nested extras")


def _safe_check(check_id: str, kind: str, what: str, points: int):
    @grader.check(check_id, title=f"Keeps {what} readable", points=points, skill="log-usefulness",
                  dimension=Dimension.TROUBLESHOOTING, criterion=7, probe="emitted")
    def judge(record, data):
        """Scan the relevant records' output."""
        outs, why = _outputs(record, data)
        if outs is None:
            return failed(why)
        if not _handled_kinds(outs, data):  # keeping everything readable is easy when nothing is masked
            return failed(f"your filter masks none of the data kinds yet, so keeping {what} readable earns nothing")
        rows, judged = [], 0
        for out, case in zip(outs, data.cases):
            for value in (v for k, v in case.safe if k == kind):
                judged += 1
                problem = _problem(out)
                if problem or value not in out.rendered:
                    text = _hide_leaks(out.rendered, case)
                    rows.append((f"{case.label} ({case.where})", [f"expected {value!r} verbatim",
                                                                 problem or f"got: {_excerpt(text, '', 120)}"]))
        if rows:
            return failed(f"{len(rows)} of {judged} {what} were masked or changed: support needs them readable",
                          mismatch_table(rows, judged))
        return passed(f"all {judged} {what} kept verbatim")

    return judge


for _id, (_kind, _what), _points in zip(SAFE_CHECKS, SAFE_CHECKS.values(), (6, 6, 5)):
    _safe_check(_id, _kind, _what, _points)


def _expected_ts(created: float) -> str:
    moment = dt.datetime.fromtimestamp(created, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@grader.check("json-formatter", title="JsonFormatter writes one JSON object per record", points=6,
              skill="structured-logging", dimension=Dimension.API_DATA, criterion=8, probe="emitted")
def check_formatter(record, data):
    """Each line parses to the documented object, matching what the filter left on the record."""
    outs, why = _outputs(record, data)
    if outs is None:
        return failed(why)
    rows, judged = [], 0
    for out, case in zip(outs, data.cases):
        if _problem(out) or out.message is None:
            continue  # the filter's own checks own this record
        judged += 1
        if out.line is None:
            rows.append((case.label, [f"format() failed: {out.line_error or 'no line'}"]))
            continue
        try:
            doc = json.loads(out.line)
        except ValueError as exc:
            rows.append((case.label, [f"not JSON ({exc.msg}): {show(out.line, 80)}"]))
            continue
        if not isinstance(doc, dict) or "\n" in out.line:
            rows.append((case.label, ["expected one JSON object on one line", f"got {show(out.line, 80)}"]))
            continue
        want = {"ts": _expected_ts(case.created), "level": case.level, "logger": case.logger, "message": out.message}
        want.update({k: json.loads(json.dumps(out.extras.get(k), default=_render)) for k in (case.extra or {})})
        diff = [f"{k}: expected {show(_hide_leaks(json.dumps(v, default=str), case), 60)}, "
                f"got {show(_hide_leaks(json.dumps(doc.get(k, '<absent>'), default=str), case), 60)}"
                for k, v in want.items() if doc.get(k, "<absent>") != v]
        if diff:
            rows.append((case.label, diff))
    if judged < 5:
        return failed(f"only {judged} records came through your filter, too few to judge the formatter")
    if rows:
        return failed(f"{len(rows)} of {judged} formatted lines are not the documented JSON object",
                      mismatch_table(rows, judged))
    return passed(f"all {judged} lines are one JSON object with ts, level, logger, message and the extras")


@grader.check("mask-format", title="Masks use the documented markers", points=3, skill="pii-masking",
              dimension=Dimension.SECURITY, criterion=9, probe="emitted")
def check_markers(record, data):
    """Masked secrets in plain messages carry the contract's marker."""
    outs, why = _outputs(record, data)
    if outs is None:
        return failed(why)
    rows, judged = [], 0
    for out, case in zip(outs, data.cases):
        if case.group != "message" or _problem(out):
            continue
        for secret in case.secrets:
            if not secret.marker or _leaks(out, case, {secret.kind}):
                continue  # a leak belongs to its category's check
            judged += 1
            if secret.marker not in (out.message or ""):
                rows.append((case.label, [f"expected {secret.marker!r} in the message",
                                          f"got {show(_hide_leaks(out.message or '', case), 100)}"]))
    if judged < 5:
        return failed(f"only {judged} secrets were masked at all, too few to judge the markers")
    if rows:
        return failed(f"{len(rows)} of {judged} masks do not use the contract's marker", mismatch_table(rows, judged))
    return passed(f"all {judged} masks use the documented markers")
