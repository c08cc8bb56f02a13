"""Hidden checks for pii-logging: a logging filter that masks secrets and personal data, and nothing else.

Three layers, each judged on its own terms (so one mistake costs the
criterion it breaks, once):

- ``mask_text`` gets hidden log lines (texts.py), each built from plain
  parts and planted secrets, so the exact output is known. A secret leaks if
  any of its fragments survives; the parts around it must survive; safe
  values (IDs, order numbers, timestamps, amounts) must survive verbatim.
- ``PiiFilter`` gets hidden records (records.py). What it leaves on a record
  is compared with what the contract builds from the learner's own
  ``mask_text``; the caller's objects, as the harness finds them after the
  filter ran, are compared with what the grader sent.
- ``JsonFormatter`` formats hidden records directly, without the filter.

The trusted harness ``_iclab_pii_logging`` only reports what it observed;
every comparison is made here. Modules: planted.py (secrets and look-alikes),
texts.py and records.py (hidden data), output.py (reading the harness's
answers), judging.py (the comparisons); this module holds probes and checks.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass

from ...checks import Grader, failed, passed
from ...evidence import mismatch_table, show
from ...results import Dimension
from .judging import (Unjudgeable, as_sent, expected_extra, expected_line, first_difference, handled_kinds,
                      hide_values, marker_rows, safe_rows, same, text_rows)
from .output import read_filtered, read_formatted, read_masked
from .records import Record, make_filter_records, make_format_records
from .texts import Text, make_texts

__all__ = ["grader", "HARNESS", "CATEGORIES", "SAFE_CHECKS", "Hidden", "make_hidden", "Text", "Record", "COVERAGE"]

HARNESS = "_iclab_pii_logging"
CATEGORIES = {  # check id -> (kind, what the learner reads, points, criterion)
    "masks-emails": ("email", "e-mail addresses", 7, 1),
    "masks-phones": ("phone", "international phone numbers", 5, 1),
    "masks-cards": ("card", "Luhn-valid card numbers", 8, 2),
    "masks-national-ids": ("national-id", "SSNs and NI numbers", 6, 3),
    "masks-auth-headers": ("auth", "bearer tokens and Authorization credentials", 8, 4),
    "masks-query-form-secrets": ("query", "client_secret/password/api_key in query strings and form bodies", 7, 5),
    "masks-json-secrets": ("json", "client_secret/password/api_key in JSON and escaped JSON", 6, 5),
    "masks-url-encoded": ("urlenc", "URL-encoded secrets and e-mail addresses", 7, 5),
}
SAFE_CHECKS = {  # check id -> (kind, what the learner reads, points)
    "keeps-correlation-ids": ("correlation", "correlation and trace IDs", 6),
    "keeps-order-numbers": ("order", "order, invoice and shipment numbers", 6),
    "keeps-timestamps-amounts": ("time-amount", "timestamps and amounts", 5),
}

COVERAGE = {
    1: ("e-mails first, last, before a full stop, in <>, quotes, mailto:, key=value and JSON, upper case, three in "
        "one line — texts._emails",
        "phones in every contract layout (spaces, hyphens, brackets, contiguous), 8 and 15 digits, two in one line "
        "— texts._phones; 7 and 16 digits after a + kept — texts._safe"),
    2: ("cards contiguous, by four with spaces and hyphens, 4-6-5, 4-6-4, 13 and 19 digits, first/last/full "
        "stop/brackets/pan=, two in one line — texts._cards",
        "Luhn-invalid 16/18/19-digit and grouped numbers, Luhn-valid runs of 12 and 20 digits or next to a hyphen, "
        "letter or underscore kept — texts._safe"),
    3: ("SSNs and NI numbers (spaced, compact) first, last, before a full stop, in brackets and key=value, three in "
        "one line — texts._national_ids",
        "SSN look-alikes with a reserved area (9xx) or group (00) kept — texts._safe"),
    4: ("Authorization with Basic, Bearer, Token, ApiKey, Negotiate and no scheme, ':' and '=', Proxy-, any case "
        "— texts._auth",
        "Bearer alone first in a line, with = padding, upper case, two tokens in one line, in a dict repr — texts._auth"),
    5: ("key=value for each key in any case, stopped by & , ; < > quote and whitespace, first and last, three keys "
        "in one query — texts._query",
        "JSON spaced, compact, space before the colon, single-quoted, escaped, nested, two keys, punctuation and \\\" "
        "in values — texts._json",
        "URL-encoded %3D/%26 in both cases, %2F, +, e-mails as %40 right after an escape, first and last — "
        "texts._url_encoded"),
    6: ("%-args as a tuple and a mapping with %s/%d/%.1f, None and Decimal args, the key in the template and the value "
        "in the args, plain messages — records.make_filter_records",
        "extras flat, nested, in lists and tuples, 4 levels deep, empty containers; the four keys in any case at every "
        "depth with str, int, list, dict and None values; other values of every type kept — "
        "records.make_filter_records",
        "the caller's extra dicts/lists and mapping args compared before and after — checks no-caller-mutation"),
    7: ("correlation IDs, traceparent, request and trace IDs, an all-digit UUID — texts._safe",
        "order, SSCC, bank and PO numbers, invoice numbers, timestamps with offsets, signed and grouped amounts, "
        "beside secrets in the same line — texts._safe and texts._cards"),
    8: ("extras of type Decimal, date, aware and naive datetime, UUID, path, bool, None, float, nested dicts/lists/"
        "tuples — records.make_format_records",
        "extras named level/logger/ts (base keys win), %-args tuple and mapping, a multi-line message, UTC midnight "
        "and 23:59:59.875 with the child on UTC-3:30 — records.make_format_records"),
    9: ("every marker compared character for character with the text around it, in every masked line — "
        "checks mask-format",
        "markers with the last four digits of each card layout — texts._cards"),
}


@dataclass(frozen=True)
class Hidden:
    """The hidden data: lines for mask_text, records for the filter and for the formatter."""

    texts: tuple
    records: tuple
    planted: tuple  # every secret planted in the filter's records, hidden from evidence
    formats: tuple


def make_hidden(rng: random.Random) -> Hidden:
    """Every hidden line and record, from the grader's seed."""
    texts = make_texts(rng)
    records, planted = make_filter_records(rng)
    return Hidden(texts, records, planted, make_format_records(rng))


def _pieces(records) -> list[str]:
    """Every text the contract sends through mask_text for these records: messages and string extras."""
    out: dict[str, None] = {}

    def walk(value):
        if isinstance(value, str):
            out[value] = None
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    for r in records:
        out[r.message] = None
        walk(r.extra)
    return list(out)


grader = Grader(seed=20261209, data=make_hidden, preload=True, coverage=COVERAGE)


@grader.probe("masked")
def _probe_masked(run):
    return run.call(f"{HARNESS}:mask_all", [t.text for t in run.data.texts])


@grader.probe("filtered")
def _probe_filtered(run):
    pieces = _pieces(run.data.records)
    return (run.call(f"{HARNESS}:emit", [r.spec() for r in run.data.records]),
            tuple(pieces), run.call(f"{HARNESS}:mask_all", pieces))


@grader.probe("formatted")
def _probe_formatted(run):
    return run.call(f"{HARNESS}:format_all", [r.spec() for r in run.data.formats])


# -- mask_text: criteria 1-5, 7, 9 ----------------------------------------------------
def _category_check(check_id: str, kind: str, what: str, points: int, criterion: int):
    @grader.check(check_id, title=f"Masks {what}", points=points, skill="pii-masking",
                  dimension=Dimension.SECURITY, criterion=criterion, probe="masked")
    def judge(record, data):
        """Every line holding this kind: no fragment left, the text around it kept."""
        masked, why = read_masked(record, len(data.texts))
        if masked is None:
            return failed(why)
        rows, judged = text_rows(data.texts, masked, kind)
        if rows:
            return failed(f"{len(rows)} of {judged} log lines with {what} leak them or lose the text around them",
                          mismatch_table(rows, judged))
        return passed(f"all {judged} log lines with {what} masked, the text around them kept")

    return judge


for _id, (_kind, _what, _points, _criterion) in CATEGORIES.items():
    _category_check(_id, _kind, _what, _points, _criterion)


def _safe_check(check_id: str, kind: str, what: str, points: int):
    @grader.check(check_id, title=f"Keeps {what} readable", points=points, skill="log-usefulness",
                  dimension=Dimension.TROUBLESHOOTING, criterion=7, probe="masked")
    def judge(record, data):
        """Every safe value of this kind verbatim in mask_text's output."""
        masked, why = read_masked(record, len(data.texts))
        if masked is None:
            return failed(why)
        if not handled_kinds(data.texts, masked):  # keeping everything readable is easy when nothing is masked
            return failed(f"your mask_text masks none of the data kinds yet, so keeping {what} readable earns nothing")
        rows, judged = safe_rows(data.texts, masked, kind)
        if rows:
            return failed(f"{len(rows)} of {judged} {what} were masked or changed: support needs them readable",
                          mismatch_table(rows, judged))
        return passed(f"all {judged} {what} kept verbatim")

    return judge


for _id, (_kind, _what, _points) in SAFE_CHECKS.items():
    _safe_check(_id, _kind, _what, _points)


@grader.check("mask-format", title="Masks use the documented markers", points=3, skill="pii-masking",
              dimension=Dimension.SECURITY, criterion=9, probe="masked")
def check_markers(record, data):
    """Lines masked without a leak or a lost word must equal the contract's output exactly."""
    masked, why = read_masked(record, len(data.texts))
    if masked is None:
        return failed(why)
    rows, judged = marker_rows(data.texts, masked)
    if judged < 5:
        return failed(f"only {judged} lines were masked cleanly, too few to judge the markers (see the masks-* checks)")
    if rows:
        return failed(f"{len(rows)} of {judged} masked lines do not use the contract's markers exactly",
                      mismatch_table(rows, judged))
    return passed(f"all {judged} masked lines use the documented markers, character for character")


# -- PiiFilter: criterion 6 ------------------------------------------------------------
def _filter_evidence(evidence, data):
    """(filtered records, mask_text answers by text) or (None, reason)."""
    emitted, pieces, masked_record = evidence
    filtered, why = read_filtered(emitted, len(data.records))
    if filtered is None:
        return None, why
    masked, why = read_masked(masked_record, len(pieces))
    if masked is None:
        return None, why
    return (filtered, dict(zip(pieces, masked))), ""


def _expected(record, masked) -> dict | None:
    """The extras the contract builds for ``record``, or None when mask_text fails on one of its texts."""
    if masked[record.message].problem:
        return None  # the filter cannot mask this message: mask_text's checks own it
    try:
        return {k: expected_extra(v, k, masked) for k, v in (record.extra or {}).items()}
    except Unjudgeable:
        return None


def _raises_without_extras(records, filtered, masked) -> bool:
    """Does the filter raise on judgeable records without extras (so the fault is not in its extras handling)?"""
    return any(f.raised for r, f in zip(records, filtered) if not r.extra and _expected(r, masked) is not None)


@grader.check("masks-args", title="Masks the final message: the template with its %-args applied", points=8,
              skill="structured-logging", dimension=Dimension.SECURITY, criterion=6, probe="filtered")
def check_message(evidence, data):
    """record.msg == mask_text(getMessage()) and record.args == (), for every record; none dropped."""
    got, why = _filter_evidence(evidence, data)
    if got is None:
        return failed(why)
    filtered, masked = got
    rows, judged, observable, unjudged = [], 0, 0, 0
    general = _raises_without_extras(data.records, filtered, masked)
    for r, f in zip(data.records, filtered):
        if _expected(r, masked) is None:
            unjudged += 1  # mask_text fails on one of its texts: mask_text's checks own it
            continue
        if f.raised and r.extra and not general:
            continue  # the filter raises only where there are extras: masks-extras owns it
        m = masked[r.message]
        judged += 1
        observable += m.value != r.message
        problem = f.problem or (f"getMessage() failed after your filter ran: {f.message_error}" if f.message_error else None)
        lines = [problem] if problem else []
        if not problem and f.message != m.value:
            lines = [f"expected mask_text(message): {show(hide_values(m.value, data.planted), 90)}",
                     f"got {show(hide_values(f.message or '', data.planted), 90)}"]
        if not problem and not same(f.args, ()):
            lines.append(f"record.args is {show(f.args, 40)} after your filter: set it to () (the args are in the "
                         "message now)")
        if lines:
            rows.append((r.label, lines))
    if observable < 3:
        return failed(f"your mask_text changes too few of these messages to judge the filter ({unjudged} could not be "
                      "masked at all): see the masks-* checks")
    if rows:
        return failed(f"{len(rows)} of {judged} records do not carry mask_text(record.getMessage()) with args (): mask "
                      "the final message, then drop the args", mismatch_table(rows, judged))
    return passed(f"all {judged} records carry their final message masked, args ()")


@grader.check("masks-extras", title="Masks structured extras, nested ones too", points=8, skill="structured-logging",
              dimension=Dimension.SECURITY, criterion=6, probe="filtered")
def check_extras(evidence, data):
    """Each extra as the contract builds it: sensitive keys "***", strings through mask_text, the rest kept."""
    got, why = _filter_evidence(evidence, data)
    if got is None:
        return failed(why)
    filtered, masked = got
    rows, judged, dropped = [], 0, 0
    general = _raises_without_extras(data.records, filtered, masked)
    for r, f in zip(data.records, filtered):
        want = _expected(r, masked) if r.extra else None
        if want is None:
            continue  # no extras, or mask_text fails on one of its texts (mask_text's checks own that)
        if f.problem and (not f.raised or general):
            dropped += 1  # dropped, or the filter raises on plain records too: masks-args owns it
            continue
        judged += 1
        if f.raised:
            rows.append((r.label, [f.problem]))
            continue
        diff = first_difference(want, f.extras)
        if diff:
            path, w, g = diff
            rows.append((r.label, [f"{path}: expected {_shown(w, data)}, got {_shown(g, data)}"]))
    if judged < 3:
        return failed(f"only {judged} records with extras could be judged ({dropped} dropped or failing on plain "
                      "records too): see masks-args and the masks-* checks")
    if rows:
        return failed(f"{len(rows)} of {judged} records' extras are not masked as the contract says: sensitive keys "
                      "\"***\", strings through mask_text, containers rebuilt, other values kept",
                      mismatch_table(rows, judged))
    return passed(f"all {judged} records' extras masked, nested ones too, other values kept")


def _shown(value, data) -> str:
    return hide_values(show(value, 60), data.planted)


@grader.check("no-caller-mutation", title="The caller's extra objects are not changed", points=4,
              skill="structured-logging", dimension=Dimension.INTEGRATION, criterion=6, probe="filtered")
def check_mutation(evidence, data):
    """The caller's extra= dicts/lists and mapping args, as found after the filter, equal what was sent."""
    got, why = _filter_evidence(evidence, data)
    if got is None:
        return failed(why)
    filtered, _ = got
    rows, judged = [], 0
    for r, f in zip(data.records, filtered):
        nested = any(isinstance(v, (dict, list, tuple)) for v in (r.extra or {}).values()) or isinstance(r.args, dict)
        if not nested:
            continue
        judged += 1
        lines = []
        for name, sent, after in (("extra", r.extra, f.callers.get("extra", "<absent>")),
                                  ("args", r.args, f.callers.get("args", "<absent>"))):
            diff = first_difference(as_sent(sent), after)
            if diff:
                lines.append(f"the {name} object passed in was changed at {diff[0]} (e.g. the live request headers)")
        if lines:
            rows.append((r.label, lines))
    if rows:
        return failed(f"{len(rows)} of {judged} records had their caller's objects changed: build masked copies "
                      "instead", mismatch_table(rows, judged))
    return passed(f"the caller's objects are untouched in all {judged} records with nested extras or mapping args")


# -- JsonFormatter: criterion 8 -----------------------------------------------------------
@grader.check("json-formatter", title="JsonFormatter writes one JSON object per record", points=6,
              skill="structured-logging", dimension=Dimension.API_DATA, criterion=8, probe="formatted")
def check_formatter(record, data):
    """Each line parses to exactly the documented object: ts (UTC, ms), level, logger, message, every extra."""
    lines, why = read_formatted(record, len(data.formats))
    if lines is None:
        return failed(why)
    rows = []
    for r, out in zip(data.formats, lines):
        if out.problem:
            rows.append((r.label, [out.problem]))
            continue
        try:
            doc = json.loads(out.line)
        except (ValueError, RecursionError) as exc:
            rows.append((r.label, [f"not JSON ({getattr(exc, 'msg', type(exc).__name__)}): {show(out.line, 80)}"]))
            continue
        if not isinstance(doc, dict) or "\n" in out.line:
            rows.append((r.label, ["expected one JSON object on one line", f"got {show(out.line, 80)}"]))
            continue
        want = expected_line(r)
        diff = [f"{k}: expected {show(want.get(k, '<absent>'), 60)}, got {show(doc.get(k, '<absent>'), 60)}"
                for k in sorted(set(want) | set(doc), key=str) if doc.get(k, "<absent>") != want.get(k, "<absent>")
                or type(doc.get(k)) is not type(want.get(k))]
        if diff:
            rows.append((r.label, diff))
    if rows:
        return failed(f"{len(rows)} of {len(data.formats)} formatted lines are not the documented JSON object",
                      mismatch_table(rows, len(data.formats)))
    return passed(f"all {len(data.formats)} lines are one JSON object: ts, level, logger, message and the extras")
