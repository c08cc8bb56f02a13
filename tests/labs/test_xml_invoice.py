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


@pytest.mark.parametrize("name", ["valid", "invalid", "mismatch", "faults", "variants", "expansion", "external"])
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
        tampered = case.label.split("(")[1].split(" ")[0]  # e.g. "Totals/GrossAmount" or "TaxSubtotal2"
        expected = "TaxSummary" if tampered.startswith("TaxSubtotal") and "/" not in tampered else tampered.split("/")[-1]
        assert etree.QName(element).localname == expected, case.label


def test_variants_defeat_prefix_matching():
    # The mistake this set catches: querying with the samples' prefixes through the document's own nsmap.
    for case in DATA.variants:
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
        assert b"<!DOCTYPE" in case.xml, case.label


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
