"""Tests specific to the xml-invoice lab: its hidden data and its oracle.

`iclab verify xml-invoice` proves the reference and the flaws; these tests
prove what verify cannot see: that the hidden documents are what the checks
claim they are (valid, tampered at the marked line, really written with other
prefixes, hostile without giving the bait away) and that the grader's oracle
and the reference solution, written independently, agree.
"""
from __future__ import annotations

import importlib.util
import os
import random
import re
import subprocess
import sys
from decimal import Decimal

import pytest
from lxml import etree

from graders import paths
from graders.labs import xml_invoice as lab
from graders.sandbox.records import CallError, CallRecord, CallStatus

DATA = lab.grader.data()
XSD = etree.XMLSchema(etree.parse(str(lab.LAB / "invoice.xsd")))
# Only our own, DOCTYPE-free documents are ever parsed here.
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _payload(xml: bytes) -> etree._Element:
    root = etree.fromstring(xml, PARSER)
    body = root.find(f"{{{etree.QName(root).namespace}}}Body")
    return next(child for child in body if isinstance(child.tag, str))


@pytest.fixture(scope="module")
def reference():
    """The reference solution, imported in-process, reading the lab's XSD."""
    path = paths.SOLUTIONS / "xml-invoice" / "reference" / "invoice_mapper.py"
    spec = importlib.util.spec_from_file_location("xml_invoice_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.XSD_PATH = lab.LAB / "invoice.xsd"
    module._schema.cache_clear()
    return module


def _outcome(module, case):
    try:
        return getattr(module, case.target)(case.xml)
    except module.Rejected as exc:
        return ("Rejected", exc.code, exc.line, exc.message)


def test_hidden_data_is_the_same_for_the_same_seed():
    assert lab.make_hidden(random.Random(lab.grader.seed)) == DATA


_DIGEST = """
import hashlib
from graders.labs import xml_invoice as lab
data, h = lab.grader.data(), hashlib.sha256()
for name in ("valid", "invalid", "mismatch", "faults", "variants", "expansion", "external", "fault_as_invoice"):
    for case in getattr(data, name):
        h.update(case.xml + repr(case.want).encode() + case.target.encode())
print(h.hexdigest() + data.token)
"""


def test_hidden_data_does_not_depend_on_hash_randomisation():
    # Two gradings in one process share a hash seed; learners' gradings do not.
    digests = set()
    for seed in ("0", "1"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run([sys.executable, "-c", _DIGEST], cwd=paths.ROOT, env=env, capture_output=True,
                             text=True, timeout=60, check=True)
        digests.add(run.stdout)
    assert len(digests) == 1


@pytest.mark.parametrize("name", ["valid", "mismatch", "variants"])
def test_documents_meant_to_pass_the_xsd_do(name):
    invoices = [case for case in getattr(DATA, name) if case.target == "parse_invoice"]
    assert invoices
    for case in invoices:
        assert XSD.validate(_payload(case.xml)), (case.label, XSD.error_log[0].message)


@pytest.mark.parametrize("name", ["valid", "invalid", "mismatch", "faults", "variants", "expansion", "external",
                                  "fault_as_invoice", "ns_faults"])
def test_oracle_and_reference_agree(reference, name):
    for case in getattr(DATA, name):
        got = _outcome(reference, case)
        want = case.want
        if isinstance(want, tuple):
            assert got[:len(want)] == want, case.label
        elif case.target == "classify_fault" and name == "variants":
            assert {k: got[k] for k in ("soap_version", "code", "message")} == \
                   {k: want[k] for k in ("soap_version", "code", "message")}, case.label
        else:
            assert got == want, case.label


def test_tampered_amounts_are_on_the_marked_line():
    for case in DATA.mismatch:
        line = case.want[2]
        element = next(e for e in etree.fromstring(case.xml, PARSER).iter() if e.sourceline == line)
        tampered = case.label.split("(")[1].split(" ")[0]  # e.g. "Totals/GrossAmount", "TaxSubtotal2" or "extra"
        expected = "TaxSummary" if "/" not in tampered else tampered.split("/")[-1]
        assert etree.QName(element).localname == expected, case.label
    # Where two amounts are wrong, the contract's order decides: both are tampered, the first is reported.
    assert sum(" and " in case.label for case in DATA.mismatch) >= 4


def test_variants_defeat_prefix_matching():
    # The mistake this set catches: querying with the samples' prefixes through the document's own nsmap.
    for case in DATA.variants:
        if case.canonical is None:  # the code's QName is written another way: its own prefix or none at all
            assert b">app:" in case.xml or b">Server<" in case.xml or b">Receiver<" in case.xml \
                or b">Sender<" in case.xml or b'xmlns:app="' + lab.SOAP11.encode() in case.xml, case.label
            continue
        declared = dict(re.findall(rb'xmlns:([\w-]+)="([^"]+)"', case.xml))
        usual = {b"soap": lab.SOAP11.encode(), b"env": lab.SOAP12.encode(), b"inv": lab.INV.encode()}
        wanted = [b"inv"] if case.target == "parse_invoice" else []
        wanted.append(b"soap" if lab.SOAP11.encode() in case.xml else b"env")
        assert any(declared.get(prefix) != usual[prefix] for prefix in wanted), case.label


def test_money_edges_break_float():
    edges = 0
    for case in DATA.valid:
        minor = lab.MINOR.get(case.want["currency"], 2)
        for line in case.want["lines"]:
            exact = line["net_amount"]
            as_float = f"{round(float(line['quantity']) * float(line['unit_price']), minor):.{minor}f}"
            if line["discount"] == format(Decimal(0).scaleb(-minor), "f") and as_float != exact:
                edges += 1
    assert edges >= 4  # one per edge invoice: half-up in 0, 2 and 3 decimals, and 18 digits


def test_random_invoices_never_land_on_a_half():
    # Otherwise a float solution would also fail checks that are not about money.
    rng = random.Random(7)
    for n in range(200):
        inv = lab.make_invoice(rng, n, spread=n % 2 == 0)
        minor = lab.MINOR.get(inv.currency, 2)
        assert not lab._has_tie(list(inv.lines), minor)
        amounts = lab.amounts(inv)
        for i, line in enumerate(inv.lines, 1):
            as_float = round(float(line.quantity) * float(line.price) - float(line.discount or 0), minor)
            assert abs(as_float - float(amounts[f"Line{i}/LineAmount"])) < 0.001, (n, i)


def test_the_bait_is_only_in_the_planted_files():
    files = lab.hidden_files(DATA)
    assert DATA.token.encode() in files[lab.CANARY_FILE] and DATA.token.encode() in files[lab.DTD_FILE]
    assert files["invoice.xsd"] == (lab.LAB / "invoice.xsd").read_bytes()
    every = [case for name in ("valid", "invalid", "mismatch", "faults", "variants", "expansion", "external")
             for case in getattr(DATA, name)]
    assert not any(DATA.token.encode() in case.xml for case in every)
    for case in DATA.expansion + DATA.external:
        text = case.xml.decode("utf-16") if case.xml.startswith(b"\xff\xfe") else case.xml.decode("utf-8")
        assert "<!DOCTYPE" in text, case.label
    assert any(case.xml.startswith(b"\xff\xfe") for case in DATA.expansion + DATA.external), "a UTF-16 document"


def test_hidden_documents_share_nothing_with_the_visible_fixtures():
    visible = b"".join(p.read_bytes() for p in (paths.FIXTURES / "xml-invoice").iterdir())
    for case in DATA.valid + DATA.variants:
        if case.target != "parse_invoice":
            continue
        for value in (case.want["invoice_number"], case.want["seller"]["name"], case.want["buyer"]["name"]):
            assert value.encode() not in visible, value


def _record(value=None, error: CallError | None = None) -> CallRecord:
    status = CallStatus.RAISED if error else CallStatus.RETURNED
    return CallRecord("invoice_mapper:parse_invoice", (), {}, status, value=value, error=error)


def test_hostile_check_fails_a_resolved_entity_and_passes_a_refusal():
    refused = CallError("Rejected", "UNSAFE_XML: DOCTYPE", attrs={"code": "UNSAFE_XML", "message": "DOCTYPE", "line": None})
    records = tuple(_record(error=refused) for _ in DATA.external)
    assert lab.check_external(records, DATA).status.value == "passed"

    leaked = {"buyer": {"name": DATA.token}}
    outcome = lab.check_external((_record(value=leaked),) + records[1:], DATA)
    assert outcome.status.value == "failed"
    assert "planted by the grader" in outcome.evidence

    # Refusing with the token in the message still means it was read.
    told = CallError("Rejected", f"UNSAFE_XML: {DATA.token}",
                     attrs={"code": "UNSAFE_XML", "message": DATA.token, "line": None})
    assert lab.check_external((_record(error=told),) + records[1:], DATA).status.value == "failed"


def test_a_wrongly_rejected_valid_invoice_costs_only_the_owning_check():
    mismatch = CallError("Rejected", "TOTAL_MISMATCH", attrs={"code": "TOTAL_MISMATCH", "message": "x", "line": 3})
    records = (_record(error=mismatch),) + tuple(_record(value=case.want) for case in DATA.valid[1:])
    assert lab.check_money(records, DATA).status.value == "failed"
    assert lab.check_header(records, DATA).status.value == "passed"
    assert lab.check_lines(records, DATA).status.value == "passed"


# -- the hidden sets cover each criterion's edge classes ---------------------------
def test_every_currency_class_and_rounding_side_is_exercised():
    currencies = {case.want["currency"] for case in DATA.valid}
    assert {"JPY", "KRW", "BHD", "KWD", "OMR", "JOD", "EUR"} <= currencies
    labels = " ".join(case.label for case in DATA.valid)
    for edge in ("(half)", "(below)", "(above)", "(tax-half)", "(tax-below)", "(tax-above)", "(discount)", "(huge)"):
        assert edge in labels, edge
    # Half-even (Python's default rounding) gets every tie wrong: each tie case tells the two apart.
    for case in DATA.valid:
        unit = Decimal(1).scaleb(-lab.MINOR.get(case.want["currency"], 2))
        even = lambda v: v.quantize(unit, rounding="ROUND_HALF_EVEN")  # noqa: E731
        if case.label.endswith("(half)"):
            assert any(even(Decimal(ln["quantity"]) * Decimal(ln["unit_price"])) != Decimal(ln["net_amount"])
                       for ln in case.want["lines"]), case.label
        if case.label.endswith("(tax-half)"):
            assert any(even(Decimal(t["taxable_amount"]) * Decimal(t["rate"]) / 100) != Decimal(t["tax_amount"])
                       for t in case.want["tax"]), case.label


def test_faults_cover_every_code_version_dot_and_language_order():
    faults = [case.want for case in DATA.faults]
    codes = {(f["soap_version"], f["code"]) for f in faults}
    assert {("1.1", c) for c in ("Client", "Server", "VersionMismatch", "MustUnderstand")} <= codes
    assert {("1.2", c) for c in ("Sender", "Receiver", "VersionMismatch", "MustUnderstand", "DataEncodingUnknown",
                                 "Receiver.Busy")} <= codes
    written = b"\n".join(case.xml for case in DATA.faults)
    assert b"Server.Database.Deadlock" in written and b"EN-us" in written and b"en-GB" in written
    assert {f["retryable"] for f in faults} == {True, False}
    assert {case.want["code"][:1] for case in DATA.ns_faults} >= {"{", "S", "R"}, "partner-namespace and bare codes"
    assert all(case.want[2] and case.want[3] for case in DATA.fault_as_invoice), "SOAP_FAULT with the Fault's line"


def test_malformed_and_invalid_documents_reach_both_entry_points():
    malformed = [case for case in DATA.invalid if case.want[1] == "MALFORMED"]
    assert {case.target for case in malformed} == {"parse_invoice", "classify_fault"}
    assert len(malformed) >= 10
    schema = [case for case in DATA.invalid if case.want[1] == "SCHEMA_INVALID"]
    elements = {re.search(r"\}(\w+)'", case.want[3]).group(1) for case in schema}
    assert {"ID", "Currency", "CountryCode", "LineNumber", "UnitCode", "Rate", "GrossAmount", "Note"} <= elements


# -- one mistake, charged once -------------------------------------------------
def _answers(module, cases):
    return tuple(_record(value=_outcome(module, case)) if not isinstance(_outcome(module, case), tuple)
                 else _record(error=CallError("Rejected", "x", attrs=dict(zip(("code", "line", "message"),
                                                                                 _outcome(module, case)[1:]))))
                 for case in cases)


def test_variants_are_judged_against_the_same_document_written_the_usual_way(reference):
    # A header field read wrongly everywhere (here: the note upper-cased) is maps-header's miss, not this check's.
    wrong = []
    for case in DATA.variants:
        got = _outcome(reference, case)
        if case.target == "parse_invoice":
            got = {**got, "note": (got["note"] or "").upper() or None}
        wrong.append(got)
    records = tuple(_record(value=v) for v in wrong)
    canonical = tuple(None if case.canonical is None else _record(value=w) for case, w in zip(DATA.variants, wrong))
    assert lab.check_variants((records, canonical), DATA).status.value == "passed"
    # The same wrong note only in the variants is a namespace miss.
    right = tuple(_record(value=_outcome(reference, case)) if case.canonical else None for case in DATA.variants)
    assert lab.check_variants((records, right), DATA).status.value == "failed"


def test_schema_check_charges_only_what_no_field_check_judges(reference):
    good = [_outcome(reference, case) for case in DATA.valid]
    blanked = tuple(_record(value={**v, "invoice_number": None}) for v in good)  # maps-header's miss
    assert lab.check_output_schema(blanked, DATA).status.value == "passed"
    extra = tuple(_record(value={**v, "lines": [{**ln, "_net": "1"} for ln in v["lines"]]}) for v in good)
    assert lab.check_output_schema(extra, DATA).status.value == "failed"


def test_retryable_follows_the_code_the_submission_reported():
    wrong_code = tuple(_record(value={**case.want, "code": "Oops", "retryable": False}) for case in DATA.faults)
    ns = tuple(_record(value=case.want) for case in DATA.ns_faults)
    evidence = (wrong_code, _record(value=None), (), ns)
    assert lab.check_fault_retry(evidence, DATA).status.value == "passed"
    everything = tuple(_record(value={**case.want, "retryable": True}) for case in DATA.faults)
    assert lab.check_fault_retry((everything, _record(value=None), (), ns), DATA).status.value == "failed"
