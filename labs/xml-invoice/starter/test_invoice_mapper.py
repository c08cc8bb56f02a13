"""Visible tests for invoice_mapper.py: run them with ``pytest`` in this folder.

They use the sample documents in ``fixtures/``. Passing them is a good start,
not the finish line: ``iclab check`` grades with other invoices, other
currencies, other namespace prefixes and other hostile documents.
"""

import json
from pathlib import Path

import jsonschema
import pytest

from invoice_mapper import Rejected, classify_fault, parse_invoice

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
INV = "http://ledgerone.example.com/schema/invoice/2011"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def expected(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def rejection(xml: bytes) -> Rejected:
    with pytest.raises(Rejected) as info:
        parse_invoice(xml)
    return info.value


def test_maps_the_sample_invoice():
    # Three lines at two tax rates, a discount, "&amp;" and "&lt;" in text.
    assert parse_invoice(fixture("invoice-eur.xml")) == expected("invoice-eur.json")


def test_yen_amounts_have_no_decimals_and_round_half_up():
    # 2.5 h x 6333 JPY = 15832.5, which rounds half-up to 15833.
    invoice = parse_invoice(fixture("invoice-jpy.xml"))
    assert invoice == expected("invoice-jpy.json")
    assert invoice["lines"][1]["net_amount"] == "15833"


def test_other_prefixes_give_the_same_invoice():
    # Prefixes are the sender's choice: only the namespace URI counts.
    xml = fixture("invoice-eur.xml")
    for old, new in ((b"inv", b"b"), (b"soap", b"SOAP-ENV")):
        xml = xml.replace(b"<" + old + b":", b"<" + new + b":").replace(b"</" + old + b":", b"</" + new + b":")
        xml = xml.replace(b"xmlns:" + old + b"=", b"xmlns:" + new + b"=")
    assert b"inv:" not in xml
    assert parse_invoice(xml) == expected("invoice-eur.json")


def test_schema_invalid_document_reports_the_xsd_line_and_message():
    problem = rejection(fixture("invalid-quantity.xml"))
    assert problem.code == "SCHEMA_INVALID"
    assert problem.line == 43
    assert problem.message == (
        f"Element '{{{INV}}}Quantity': '2,5' is not a valid value of the atomic type '{{{INV}}}Quantity'."
    )


def test_malformed_xml_is_rejected():
    truncated = fixture("invoice-eur.xml")[:500]
    assert rejection(truncated).code == "MALFORMED"


def test_totals_must_add_up_to_the_lines():
    # GrossAmount says 947.58; the lines give 1169.79.
    problem = rejection(fixture("total-mismatch.xml"))
    assert (problem.code, problem.line) == ("TOTAL_MISMATCH", 75)


def test_soap11_client_fault_is_not_retryable():
    assert classify_fault(fixture("fault-soap11-client.xml")) == {
        "soap_version": "1.1",
        "code": "Client",  # from "soap:Client.InvalidInvoice"
        "message": "Unknown invoice number LO-2024-999999",
        "retryable": False,
    }


def test_soap12_receiver_fault_is_retryable():
    assert classify_fault(fixture("fault-soap12-receiver.xml")) == {
        "soap_version": "1.2",
        "code": "Receiver",
        "message": "Ledger is locked for period close, retry later",
        "retryable": True,
    }


def test_an_invoice_is_not_a_fault_and_a_fault_is_not_an_invoice():
    assert classify_fault(fixture("invoice-eur.xml")) is None
    problem = rejection(fixture("fault-soap12-receiver.xml"))
    assert (problem.code, problem.message) == ("SOAP_FAULT", "Ledger is locked for period close, retry later")


def test_billion_laughs_is_refused():
    assert rejection(fixture("billion-laughs.xml")).code == "UNSAFE_XML"


def test_external_entity_is_refused_not_resolved(tmp_path, monkeypatch):
    # The document asks for "secret.txt"; put one where it would be found.
    (tmp_path / "secret.txt").write_text("TOP-SECRET-42", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    problem = rejection(fixture("xxe.xml"))
    assert problem.code == "UNSAFE_XML"
    assert "TOP-SECRET-42" not in f"{problem} {problem.message}"


def test_invoices_validate_against_the_target_schema():
    schema = json.loads((HERE / "invoice.schema.json").read_text(encoding="utf-8"))
    for name in ("invoice-eur.xml", "invoice-jpy.xml"):
        jsonschema.validate(parse_invoice(fixture(name)), schema)
