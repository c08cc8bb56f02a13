"""Hidden checks for xml-invoice (legacy SOAP/XML invoices to canonical JSON).

Every hidden document is rendered here from a small invoice or fault model
generated from a fixed seed, and every expected value is computed from that
model, never by parsing what the submission returned. The grader parses only
its own non-hostile documents (to ask lxml which line and message an invalid
one earns). Hostile documents are sent to the child and judged by the code
and text it answers with: an external entity points at a file planted in the
child's working folder, so resolving it shows up as that file's token.

The grader package is split because one module would pass 850 lines:
model.py (the invoice and fault model), oracle.py (expected values),
documents.py (SOAP rendering), invoices.py (random invoices) and hidden.py
(the hidden sets and files); this module holds the probes and checks.
"""
from __future__ import annotations

import json
from functools import cache

import jsonschema

from ...checks import Grader, failed, passed
from ...evidence import field_diff, mismatch_table, show
from ...results import Dimension
from .hidden import CANARY_FILE, COVERAGE, DTD_FILE, LAB, Hidden, hidden_files, make_hidden
from .invoices import _has_tie, make_invoice  # noqa: F401 (_has_tie: tests read it here)
from .model import INV, MINOR, SOAP11, SOAP12
from .oracle import amounts, expected_fault, expected_invoice

__all__ = ["grader", "Hidden", "make_hidden", "hidden_files", "make_invoice", "amounts", "expected_invoice",
           "expected_fault", "LAB", "CANARY_FILE", "DTD_FILE", "INV", "MINOR", "SOAP11", "SOAP12"]

grader = Grader(seed=20261201, data=make_hidden, files=hidden_files, preload=True, coverage=COVERAGE)


# -- probes: run the submission, keep frozen records ------------------------------
def _each(run, cases) -> tuple:
    return tuple(run.call(f"invoice_mapper:{case.target}", case.xml) for case in cases)


# One probe per hidden set, named like the set; each case says which entry point it calls.
for _name in ("valid", "invalid", "mismatch", "expansion", "external"):
    grader.probe(_name)(lambda run, _name=_name: _each(run, getattr(run.data, _name)))


@grader.probe("variants")
def _probe_variants(run):
    """Each variant, and the same invoice or fault written the samples' way: criterion 7 asks that they read alike."""
    cases = run.data.variants
    canonical = tuple(run.call(f"invoice_mapper:{c.target}", c.canonical) if c.canonical else None for c in cases)
    return _each(run, cases), canonical


@grader.probe("faults")
def _probe_faults(run):
    return (_each(run, run.data.faults), _each(run, (run.data.not_fault,))[0], _each(run, run.data.fault_as_invoice),
            _each(run, run.data.ns_faults))


# -- checks: judge the records ----------------------------------------------------
def _got(record):
    """A returned value, ("Rejected", code, line, message), or ("error", problem)."""
    if record.ok:
        return record.value
    if record.error is not None and record.error.type == "Rejected":
        attrs = record.error.attrs
        return ("Rejected", attrs.get("code"), attrs.get("line"), attrs.get("message"))
    return ("error", record.problem())


def _describe(got) -> str:
    if isinstance(got, tuple) and got[0] == "Rejected":
        return f"Rejected({got[1]!r}, line {got[2]!r}: {show(got[3], 70)})"
    if isinstance(got, tuple):
        return got[1]
    return f"returned {show(got, 80)}"


HEADER = ("invoice_number", "issue_date", "due_date", "currency", "order_reference", "seller", "buyer", "note")
LINE_FIELDS = ("line_no", "sku", "description", "quantity", "unit", "tax_rate")
LINE_MONEY = ("unit_price", "discount", "net_amount")


def _rows(records, cases, compare, owner: str):
    """Mismatch rows of the valid invoices. A valid invoice wrongly rejected counts against
    the check that owns its reason (TOTAL_MISMATCH: money; anything else: header), so one
    mistake costs one criterion instead of every field check."""
    rows, judged = [], 0
    for record, case in zip(records, cases):
        got = _got(record)
        if not isinstance(got, dict):
            mine = "money" if isinstance(got, tuple) and got[0] == "Rejected" and got[1] == "TOTAL_MISMATCH" else "header"
            if mine == owner:
                judged += 1
                rows.append((case.label, [f"expected an invoice, got {_describe(got)}"]))
            continue
        judged += 1
        lines = compare(case.want, got)
        if lines:
            rows.append((case.label, lines))
    return rows, judged


def _verdict(rows, judged: int, total: int, what: str, ok: str):
    if judged < min(3, total):
        return failed(f"only {judged} of {total} valid invoices came back, too few to judge the {what}s",
                      "see the other failed checks for why the rest were rejected")
    if rows:
        return failed(f"{len(rows)} of {judged} valid invoices have a wrong {what}", mismatch_table(rows, judged))
    return passed(ok)


def _line_diff(want: dict, got: dict, fields) -> list[str]:
    have = got.get("lines")
    if not isinstance(have, list) or len(have) != len(want["lines"]):
        return [f"lines: expected {len(want['lines'])} lines, got {show(have, 60)}"]
    out = []
    for i, (w, g) in enumerate(zip(want["lines"], have), 1):
        out += [f"line {i} {d}" for d in field_diff(w, g, fields)]
    return out


def _hostile(records, cases, token: str, what: str):
    rows = []
    for record, case in zip(records, cases):
        got = _got(record)
        leaked = token in json.dumps([record.value, record.error and record.error.message,
                                      record.error and record.error.attrs], default=str)
        if leaked:
            rows.append((case.label, ["the content of a local file planted by the grader came back: the entity was resolved"]))
        elif not (isinstance(got, tuple) and got[0] == "Rejected" and got[1] == "UNSAFE_XML"):
            rows.append((case.label, ["expected Rejected('UNSAFE_XML')", f"got {_describe(got)}"]))
    if rows:
        return failed(f"{len(rows)} of {len(cases)} documents with {what} were not refused", mismatch_table(rows, len(cases)))
    return passed(f"all {len(cases)} documents with {what} refused as UNSAFE_XML, nothing expanded or fetched")


@grader.check("refuses-entity-expansion", title="Internal DTDs refused, entity expansion never runs", points=8,
              skill="xml-security", dimension=Dimension.SECURITY, criterion=1, probe="expansion")
def check_expansion(records, data):
    return _hostile(records, data.expansion, data.token, "an internal DTD (billion laughs and friends)")


@grader.check("refuses-external-entities", title="External entities and DTDs never resolved", points=7,
              skill="xml-security", dimension=Dimension.SECURITY, criterion=1, probe="external")
def check_external(records, data):
    return _hostile(records, data.external, data.token, "external entities or DTDs")


def _compare_rejections(records, cases, what: str, ok: str):
    """Each case must raise Rejected with what its ``want`` names: the code, then line and message if given."""
    rows = []
    for record, case in zip(records, cases):
        got, want = _got(record), case.want
        if not (isinstance(got, tuple) and got[0] == "Rejected" and got[:len(want)] == want):
            expected = f"Rejected({want[1]!r}" + (f", line {want[2]}" if len(want) > 2 else "") + \
                       (f": {show(want[3], 90)}" if len(want) > 3 else "") + ")"
            rows.append((case.label, [f"expected {expected}", f"got {_describe(got)}"]))
    if rows:
        return failed(f"{len(rows)} of {len(cases)} {what}", mismatch_table(rows, len(cases)))
    return passed(ok)


@grader.check("rejects-invalid", title="Invalid documents rejected with the XSD's line and message", points=10,
              skill="xml-schema", dimension=Dimension.API_DATA, criterion=2, probe="invalid")
def check_invalid(records, data):
    schema = sum(case.want[1] == "SCHEMA_INVALID" for case in data.invalid)
    return _compare_rejections(records, data.invalid, "invalid documents were not rejected as the contract says",
                               f"all {schema} schema-invalid documents rejected with the XSD's own line and message, "
                               f"and {len(data.invalid) - schema} malformed ones as MALFORMED")


@grader.check("maps-header", title="Header and parties mapped", points=10, skill="data-mapping",
              dimension=Dimension.API_DATA, criterion=3, probe="valid")
def check_header(records, data):
    rows, judged = _rows(records, data.valid, lambda w, g: field_diff(w, g, HEADER), "header")
    return _verdict(rows, judged, len(data.valid), "header field", f"header and parties right in all {judged} invoices")


@grader.check("maps-lines", title="Line items mapped", points=10, skill="data-mapping",
              dimension=Dimension.API_DATA, criterion=4, probe="valid")
def check_lines(records, data):
    rows, judged = _rows(records, data.valid, lambda w, g: _line_diff(w, g, LINE_FIELDS), "lines")
    return _verdict(rows, judged, len(data.valid), "line item", f"line items right in all {judged} invoices")


def _money_diff(want: dict, got: dict) -> list[str]:
    lines = got.get("lines")
    # A wrong number of lines is maps-lines' business; here only the amounts.
    same_count = isinstance(lines, list) and len(lines) == len(want["lines"])
    return (_line_diff(want, got, LINE_MONEY) if same_count else []) + field_diff(want, got, ("tax", "totals"))


@grader.check("money-exact", title="Money exact, in the currency's minor units", points=15, skill="decimal-money",
              dimension=Dimension.API_DATA, criterion=5, probe="valid")
def check_money(records, data):
    rows, judged = _rows(records, data.valid, _money_diff, "money")
    return _verdict(rows, judged, len(data.valid), "amount",
                    f"every amount exact in all {judged} invoices (half-up rounding, 0 and 3 decimal currencies, 18 digits)")


@grader.check("totals-checked", title="Totals checked against the lines", points=10, skill="reconciliation",
              dimension=Dimension.API_DATA, criterion=6, probe="mismatch")
def check_totals(records, data):
    return _compare_rejections(records, data.mismatch,
                               "invoices whose stated amounts do not add up were not rejected at the right line",
                               f"all {len(data.mismatch)} inconsistent invoices rejected as TOTAL_MISMATCH "
                               "at the first wrong amount")


def _same_fields(a, b, fields) -> bool:
    return all(a.get(k, "<absent>") == b.get(k, "<absent>") for k in fields)


@grader.check("namespace-variants", title="Names matched by namespace, not prefix", points=10,
              skill="xml-namespaces", dimension=Dimension.API_DATA, criterion=7, probe="variants")
def check_variants(evidence, data):
    """Judged on its own terms: a variant is read right when it reads like the same document written the
    samples' way (whatever that gives: a field read wrongly everywhere is another check's miss), or right."""
    records, canonical = evidence
    rows, unjudged = [], 0
    for record, base_record, case in zip(records, canonical, data.variants):
        got = _got(record)
        if isinstance(got, tuple) and got[:2] == ("Rejected", "TOTAL_MISMATCH"):
            continue  # arithmetic is money-exact's business, not this check's
        is_fault = case.target == "classify_fault"
        if is_fault and base_record is None:
            fields = ("code",)  # the code's QName written another way: only what it resolves to is judged here
        elif is_fault:
            fields = ("soap_version", "code", "message")
        else:
            fields = HEADER + ("lines",)
        base = _got(base_record) if base_record is not None else None
        if not isinstance(got, dict):
            if base_record is not None and not isinstance(base, dict):
                unjudged += 1  # the samples' writing is not read either: the field checks charge that
                continue
            rows.append((case.label, [f"expected {'a fault description' if is_fault else 'the invoice'}, "
                                      f"got {_describe(got)}"]))
            continue
        if isinstance(base, dict) and _same_fields(got, base, fields):
            continue
        if is_fault or fields == ("code",):
            diff = field_diff(case.want, got, fields)
        else:
            diff = field_diff(case.want, got, HEADER) + _line_diff(case.want, got, LINE_FIELDS)
        if diff:
            rows.append((case.label, ["read differently from the same document written with the samples' prefixes"]
                         + diff if isinstance(base, dict) else diff))
    judged = len(records) - unjudged
    if judged == 0:
        return failed("no variant could be judged: the same documents written the samples' way are not read "
                      "either (see maps-header and fault-read)")
    if rows:
        return failed(f"{len(rows)} of {judged} documents written with other prefixes or declarations read wrongly",
                      mismatch_table(rows, judged))
    return passed(f"all {judged} documents read the same whatever their prefixes, default namespaces and layout")


def _fault_rows(records, cases, fields):
    rows = []
    for record, case in zip(records, cases):
        got = _got(record)
        if not isinstance(got, dict):
            rows.append((case.label, [f"expected {show({k: case.want[k] for k in fields}, 90)}", f"got {_describe(got)}"]))
            continue
        diff = field_diff(case.want, got, fields)
        if diff:
            rows.append((case.label, diff))
    return rows


@grader.check("fault-read", title="SOAP 1.1 and 1.2 faults recognised and read", points=5, skill="soap-faults",
              dimension=Dimension.INTEGRATION, criterion=8, probe="faults")
def check_fault_read(evidence, data):
    records, not_fault, as_invoice, _ = evidence
    rows = _fault_rows(records, data.faults, ("soap_version", "code", "message"))
    if not (not_fault.ok and not_fault.value is None):
        rows.append(("an invoice response", [f"expected None (no Fault), got {_describe(_got(not_fault))}"]))
    for record, case in zip(as_invoice, data.fault_as_invoice):
        got = _got(record)
        if not (isinstance(got, tuple) and got[0] == "Rejected" and got[1:4] == case.want[1:4]):
            rows.append((f"parse_invoice on {case.label}",
                         [f"expected Rejected('SOAP_FAULT', line {case.want[2]} (the Fault element), message "
                          f"{show(case.want[3], 60)})", f"got {_describe(got)}"]))
    total = len(records) + 1 + len(as_invoice)
    if rows:
        return failed(f"{len(rows)} of {total} fault cases read wrongly", mismatch_table(rows, total))
    return passed(f"version, code and message right for {len(records)} faults; invoices are not faults; "
                  "parse_invoice raises SOAP_FAULT")


@grader.check("fault-retryable", title="Server/Receiver faults retryable, Client/Sender not", points=10,
              skill="retries", dimension=Dimension.INTEGRATION, criterion=9, probe="faults")
def check_fault_retry(evidence, data):
    """Judged on the submission's own terms: a fault not read, or a code read wrongly, is fault-read's or
    namespace-variants' miss; here only whether ``retryable`` follows from the code it reported."""
    records, _, _, ns_records = evidence
    rows, lenient, unread, judged = [], 0, 0, 0
    for record, case in zip(records + ns_records, data.faults + data.ns_faults):
        got = _got(record)
        if not isinstance(got, dict):
            unread += 1
            continue
        judged += 1
        want = case.want["retryable"]
        if got.get("code") != case.want["code"] and type(got.get("code")) is str:
            want, lenient = got["code"] in ("Server", "Receiver"), lenient + 1
        if got.get("retryable") is not want:
            rows.append((case.label, [f"code {show(got.get('code'), 40)}: retryable should be {want}, "
                                      f"got {show(got.get('retryable'), 20)}"]))
    note = "".join([f"; {lenient} judged against the code you reported, which fault-read or namespace-variants find "
                    "wrong" if lenient else "",
                    f"; {unread} faults not read at all (see fault-read)" if unread else ""])
    if judged == 0:
        return failed(f"no fault came back as a description, so retryable cannot be judged{note}")
    if rows:
        return failed(f"{len(rows)} of {judged} faults classed wrongly for retry{note}", mismatch_table(rows, judged))
    return passed(f"all {judged} faults classed right: only Server and Receiver faults are retried{note}")


@cache
def _json_schema() -> dict:
    return json.loads((LAB / "invoice.schema.json").read_text(encoding="utf-8"))


def _judged_right(got, want):
    """``got`` with every value the field checks judge replaced by the expected one, extra keys kept:
    what is left for the schema to judge is what no field check already charges."""
    if isinstance(got, dict) and isinstance(want, dict):
        merged = {k: _judged_right(v, want[k]) if k in want else v for k, v in got.items()}
        return {**{k: v for k, v in want.items() if k not in got}, **merged}
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        return [_judged_right(g, w) for g, w in zip(got, want)]
    return want


@grader.check("schema-valid-output", title="Every invoice validates against invoice.schema.json", points=5,
              skill="schema-validation", dimension=Dimension.API_DATA, criterion=10, probe="valid")
def check_output_schema(records, data):
    """Judged on its own terms: values the field checks judge count as right here (they charge them), so this
    check charges what only the schema sees, such as keys the canonical invoice does not have."""
    validator = jsonschema.Draft202012Validator(_json_schema())
    invoices = [(case, r.value) for r, case in zip(records, data.valid) if r.ok]
    if not invoices:
        return failed("no invoice came back for any valid document, so nothing could be validated")
    rows = []
    for case, value in invoices:
        if not isinstance(value, dict):
            rows.append((case.label, [f"expected a JSON object, got {show(value, 60)}"]))
            continue
        try:
            errors = sorted(validator.iter_errors(_judged_right(value, case.want)), key=lambda e: list(map(str, e.path)))
        except RecursionError:
            errors = None
        if errors is None:
            rows.append((case.label, ["the invoice is nested too deeply to validate"]))
        elif errors:
            rows.append((case.label, [f"{'/'.join(map(str, e.path)) or '(invoice)'}: {e.message[:100]}" for e in errors]))
    if rows:
        return failed(f"{len(rows)} of {len(invoices)} invoices do not validate against invoice.schema.json "
                      "(beyond the fields the other checks judge)", mismatch_table(rows, len(invoices)))
    return passed(f"all {len(invoices)} invoices validate against invoice.schema.json")
