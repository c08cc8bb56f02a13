"""The hidden dataset: one set of documents per probe, each with what the contract says about it.

Expected values come from the oracle; the only documents parsed here are the
grader's own invalid ones, to ask lxml which line and message they earn.
``COVERAGE`` says, per acceptance criterion, which edge classes the sets hold
and where each is made.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cache
from xml.sax.saxutils import escape

from lxml import etree

from ... import paths
from .documents import Style, _dec, fault_line, render_fault, render_invoice
from .faults import FAULTS, NS_FAULTS
from .hostile import CANARY_FILE, DTD_FILE, hostile_documents
from .invoices import make_invoice
from .model import INV, MINOR, SOAP11, SOAP12
from .oracle import amounts, expected_fault, expected_invoice

__all__ = ["CANARY_FILE", "DTD_FILE", "LAB", "FAULTS", "COVERAGE", "Case", "Hidden", "make_hidden", "hidden_files"]

LAB = paths.LABS / "xml-invoice"

COVERAGE = {
    1: ("internal DTDs: billion laughs, quadratic blow-up, a macro, an ATTLIST, an empty DOCTYPE, one after a comment, "
        "one in UTF-16 — hostile.hostile_documents",
        "external: SYSTEM and PUBLIC entities and DTDs, a parameter entity, a network entity, in UTF-16 too — "
        "hostile.hostile_documents",
        "both entry points, SOAP 1.1 and 1.2 envelopes — hostile.hostile_documents (labels naming a fault)"),
    2: ("XSD errors in the header, a party, the first and the last line, the tax summary, the totals and the note; "
        "a wrong type, a missing element, an extra one, one out of order, a limit crossed — _invalid_cases",
        "two errors in one document (the first reported), a schema error before a wrong total, a default-namespace "
        "document — _invalid_cases",
        "not well-formed, empty, HTML, a bare invoice, an Envelope in no or the 2001 draft namespace, a Body as root, "
        "no Body, an empty Body, a Body of the other SOAP version, for both entry points — _malformed_cases"),
    3: ("optional elements present and absent (DueDate, OrderReference, VatID, Note), parties from 14 countries — "
        "invoices.make_invoice", "text wrapped in newlines and runs of spaces, entities and CDATA — Style(padded=True), "
        "documents.render_invoice"),
    4: ("1 to 4 lines numbered by 1 or 10, SKU absent, quantities with 0 to 3 decimals — invoices._random_lines",
        "numbers written +3.50, ' 3.5 ', 3.000 and rates 19.00 — documents._num, Style(rate_text='.00')"),
    5: ("half-up ties at line and tax level in 0, 2 and 3 decimal currencies — invoices._edge_line half, tax-half",
        "amounts just under and just over a half, either side of each tie — invoices._edge_line below/above, "
        "tax-below/tax-above", "a discount with one decimal more than the currency, ending on a half; 16-digit "
        "amounts; sub-cent unit prices — invoices._edge_line discount/huge, _price"),
    6: ("one wrong amount at each level: a line (first, second, last), a subtotal's taxable and tax amount, each total, "
        "a rate missing, an extra rate, a rate twice — _mismatch_cases",
        "two wrong amounts where the contract's order decides which is reported; off by one minor unit both ways and "
        "by ten, in 0 and 3 decimal currencies — _mismatch_cases"),
    7: ("SOAP-ENV/ns2, default invoice namespace, 'inv' bound to a partner, a prefix re-bound inside the Invoice, "
        "per-line re-declarations, SOAP 1.2, a default SOAP namespace — _variant_cases",
        "faults with their own code prefix, a code prefix declared on faultcode itself, a default SOAP 1.2 namespace "
        "— _variant_cases, faults.FAULTS"),
    8: ("every SOAP 1.1 and 1.2 code; codes with no dot, one and two dots; a dotted SOAP 1.2 code — faults.FAULTS",
        "reason texts with English first, middle, last, twice, absent, in en-GB / EN-us / En; an empty and a "
        "multi-line faultstring — faults.FAULTS", "an invoice is not a fault; parse_invoice on 1.1, 1.2 and "
        "default-namespace faults, with the Fault's line — make_hidden fault_as_invoice"),
    9: ("Server and Receiver retryable, dotted Server.X.Y too; Client, Sender, VersionMismatch, MustUnderstand, "
        "DataEncodingUnknown and a dotted 1.2 Receiver.Busy not — faults.FAULTS",
        "the same names in a partner's namespace are not retryable; unprefixed codes — faults.FAULTS code_ns"),
    10: ("every valid invoice's output, edges included — _valid_cases",
         "nulls for absent optional elements, money and plain decimals as strings — _valid_cases"),
}


@dataclass(frozen=True)
class Case:
    """One hidden document and what the contract says about it."""

    label: str
    xml: bytes
    want: object  # a canonical invoice, a fault dict, None, or ("Rejected", code[, line[, message]])
    target: str = "parse_invoice"
    canonical: bytes | None = None  # variants: the same invoice or fault in the samples' own writing


@dataclass(frozen=True)
class Hidden:
    """The hidden dataset: one tuple of cases per probe, and the bait token."""

    valid: tuple
    invalid: tuple
    mismatch: tuple
    faults: tuple
    not_fault: Case
    fault_as_invoice: tuple
    ns_faults: tuple  # faults whose code is written with other prefixes or namespaces (also in variants)
    variants: tuple
    expansion: tuple
    external: tuple
    token: str


# (n, edge, style): n picks the seller (SELLERS[n % 14]), so each edge lands on the currency it needs.
_VALID = [(n, {3: "half", 7: "half", 8: "half", 14: "huge"}.get(n), None) for n in range(16)] + [
    (16, "below", None), (21, "below", None), (23, "below", None),              # EUR, JPY, BHD
    (17, "above", None), (26, "above", None), (25, "above", None),              # GBP, KRW, OMR
    (18, "tax-half", None), (35, "tax-half", None), (37, "tax-half", None),     # CHF 8.1 %, JPY, BHD
    (19, "tax-below", None), (27, "tax-below", None),                           # SEK, JOD
    (20, "tax-above", None), (40, "tax-above", None),                           # USD 6.25 %, KRW
    (30, "discount", None), (49, "discount", None),                             # EUR, JPY
    (31, None, Style(rate_text=".00")), (32, None, Style(padded=True)),
]


def _valid_cases(rng: random.Random) -> tuple:
    cases = []
    for n, edge, style in _VALID:
        inv = make_invoice(rng, n, edge=edge, lexical=n % 5 == 2 and n < 16)
        label = inv.number + (f" ({edge})" if edge else "")
        cases.append(Case(label, render_invoice(inv, style or Style())[0], expected_invoice(inv)))
    return tuple(cases)


@cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(LAB / "invoice.xsd")))


def _xsd_verdict(xml: bytes) -> tuple:
    """What lxml says about one of our own (non-hostile) invalid documents."""
    root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    payload = next(child for child in root.find(f"{{{SOAP11}}}Body") if isinstance(child.tag, str))
    schema = _schema()
    assert not schema.validate(payload), "an 'invalid' hidden document validates"
    first = schema.error_log[0]
    return ("Rejected", "SCHEMA_INVALID", first.line, first.message)


def _invalid_cases(rng: random.Random) -> tuple:
    mutations = [
        ("Quantity 'two'", {"Line1/Quantity": "two"}, {}),
        ("IssueDate 30 February", {"IssueDate": "2024-02-30"}, {}),
        ("currency RUB", {"Currency": "RUB"}, {}),
        ("no IssueDate", {"IssueDate": None}, {}),
        ("Buyer without Name", {"Buyer/Name": None}, {}),
        ("unknown element in a line", {}, {"Line1/UnitCode": "<inv:Colour>blue</inv:Colour>"}),
        ("UnitPrice with 5 decimals", {"Line1/UnitPrice": "12.34567"}, {}),
        ("negative Quantity", {"Line1/Quantity": "-2"}, {}),
        ("TaxRate 120", {"Line1/TaxRate": "120", "TaxSubtotal1/Rate": "120"}, {}),
        ("ID of 36 characters", {"ID": "LO-" + "7" * 33}, {}),
        ("DueDate before IssueDate", {"DueDate": None}, {"ID": "<inv:DueDate>2024-12-31</inv:DueDate>"}),
        ("currency in lower case", {"Currency": "eur"}, {}),
        ("Seller CountryCode DEU", {"Seller/CountryCode": "DEU"}, {}),
        ("LineNumber 0", {"Line1/LineNumber": "0"}, {}),
        ("UnitCode BOXES in the last line", {"LAST/UnitCode": "BOXES"}, {}),
        ("Quantity with 4 decimals", {"Line1/Quantity": "1.2345"}, {}),
        ("Rate 100.5 in the tax summary", {"TaxSubtotal1/Rate": "100.5"}, {}),
        ("TaxSubtotal without TaxableAmount", {"TaxSubtotal1/TaxableAmount": None}, {}),
        ("GrossAmount with a thousands separator", {"Totals/GrossAmount": "1,234.50"}, {}),
        ("no NetAmount", {"Totals/NetAmount": None}, {}),
        ("Note of 301 characters", {"Note": "x" * 301}, {}),
        ("two errors: Quantity, then GrossAmount", {"Line1/Quantity": "x", "Totals/GrossAmount": "y"}, {}),
        ("two errors: CountryCode, then UnitPrice", {"LAST/UnitPrice": "-1", "Buyer/CountryCode": "gb"}, {}),
        ("a schema error and a wrong total", {"Buyer/CountryCode": "gb", "Totals/NetAmount": "1.00"}, {}),
    ]
    cases = []
    for i, (label, changes, extra) in enumerate(mutations):
        inv = make_invoice(rng, 20 + i, spread=True)
        changes = {key.replace("LAST", f"Line{len(inv.lines)}"): value for key, value in changes.items()}
        style = Style(inv_prefix="", inv_on_envelope=False) if i % 6 == 5 and not extra else Style()
        xml = render_invoice(inv, style, changes=changes, extra=extra)[0]
        cases.append(Case(label, xml, _xsd_verdict(xml)))
    return tuple(cases) + _malformed_cases(rng)


def _malformed_cases(rng: random.Random) -> tuple:
    """Documents that are not well-formed or not a SOAP envelope, for both entry points."""
    inv = make_invoice(rng, 30)
    xml = render_invoice(inv)[0]
    body = xml[xml.index(b"<soap:Body>"):xml.index(b"</soap:Body>") + len(b"</soap:Body>")]
    invoice = xml[xml.index(b"<inv:Invoice"):xml.index(b"</soap:Body>")]
    bare = invoice.replace(b"<inv:Invoice", f'<inv:Invoice xmlns:inv="{INV}"'.encode(), 1)
    head = b'<?xml version="1.0" encoding="UTF-8"?>\n'
    docs = [
        ("unclosed element", xml.replace(b"</inv:Description>", b"", 1)),
        ("bare & in a name", xml.replace(escape(inv.buyer[1]).encode(), b"Smith & Sons", 1)),
        ("invoice without a SOAP envelope", bare),
        ("an empty document", b""),
        ("an HTML error page", b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
        ("a document cut off", xml[: len(xml) // 2]),
        ("Envelope in the 2001 SOAP 1.2 draft namespace",
         xml.replace(SOAP11.encode(), b"http://www.w3.org/2001/12/soap-envelope")),
        ("Envelope in no namespace",
         head + b"<Envelope>\n" + body.replace(b"soap:Body", b"Body").replace(b"<Body>", f'<Body xmlns:inv="{INV}">'.encode())
         + b"\n</Envelope>\n"),
        ("a Body as the root", head + body.replace(b"<soap:Body>", f'<soap:Body xmlns:soap="{SOAP11}" '
                                                                    f'xmlns:inv="{INV}">'.encode())),
        ("an Envelope with a Header and no Body", xml.replace(body, b"")),
        ("an empty Body", xml.replace(body, b"<soap:Body>\n    <!-- nothing today -->\n  </soap:Body>")),
        ("a SOAP 1.2 Body in a SOAP 1.1 Envelope", xml.replace(body, body.replace(
            b"<soap:Body>", f'<s12:Body xmlns:s12="{SOAP12}">'.encode()).replace(b"</soap:Body>", b"</s12:Body>"))),
    ]
    return tuple(Case(label, doc, ("Rejected", "MALFORMED"), "classify_fault" if i % 2 else "parse_invoice")
                 for i, (label, doc) in enumerate(docs))


# Each case: the amounts made wrong, in the contract's order of checking; the first is the one reported.
_MISMATCHES = [("Line2/LineAmount",), ("TaxSubtotal1/TaxableAmount",), ("TaxSubtotal2/TaxAmount",), ("Totals/NetAmount",),
               ("Totals/TaxAmount",), ("Totals/GrossAmount",), ("TaxSubtotal2",), ("Line1/LineAmount",),
               ("LAST/LineAmount",), ("Line2/LineAmount", "Totals/GrossAmount"),
               ("TaxSubtotal1/TaxAmount", "TaxSubtotal2/TaxableAmount"),
               ("TaxSubtotal1/TaxableAmount", "TaxSubtotal1/TaxAmount"), ("Totals/TaxAmount", "Totals/GrossAmount"),
               ("extra rate",), ("rate twice",)]


def _mismatch_cases(rng: random.Random) -> tuple:
    cases = []
    for i, keys in enumerate(_MISMATCHES):
        inv = make_invoice(rng, 40 + i, spread=True)
        keys = tuple(k.replace("LAST", f"Line{len(inv.lines)}") for k in keys)
        if keys[0] == "Line1/LineAmount":  # stated before the discount: a classic upstream bug
            discount = Decimal("1.00") if MINOR.get(inv.currency, 2) else Decimal(100)
            inv = replace(inv, lines=(replace(inv.lines[0], discount=discount),) + inv.lines[1:])
        stated = amounts(inv)
        unit = Decimal(1).scaleb(-MINOR.get(inv.currency, 2))
        changes = {}
        for key in keys:
            if key == "TaxSubtotal2":
                changes[key] = None
            elif key == "Line1/LineAmount":
                changes[key] = _dec(stated[key] + inv.lines[0].discount)
            elif "/" in key:
                delta = unit * rng.choice([1, -1, 10])
                changes[key] = _dec(stated[key] + (delta if stated[key] + delta >= 0 else -delta))
        if keys[0] == "extra rate":  # a subtotal for a rate no line uses
            inv = replace(inv, tax_order=inv.tax_order + (Decimal("99"),))
        elif keys[0] == "rate twice":
            inv = replace(inv, tax_order=inv.tax_order + inv.tax_order[:1])
        xml, marks = render_invoice(inv, changes=changes)
        where = "TaxSummary" if "/" not in keys[0] else keys[0]
        cases.append(Case(f"{inv.number} ({' and '.join(keys)} wrong)", xml, ("Rejected", "TOTAL_MISMATCH", marks[where])))
    return tuple(cases)


def _variant_cases(rng: random.Random) -> tuple:
    styles = [
        ("SOAP-ENV and ns2 prefixes", Style(soap_prefix="SOAP-ENV", inv_prefix="ns2")),
        ("default invoice namespace", Style(soap_prefix="s", inv_prefix="", inv_on_envelope=False, body_comment=True)),
        ("prefix 'inv' bound to a partner namespace", Style(soap_prefix="soapenv", inv_prefix="i", decoy=True)),
        ("namespace re-declared on each line", Style(inv_prefix="li", inv_on_envelope=False, line_prefix="ln")),
        ("SOAP 1.2 envelope", Style(soap=SOAP12, soap_prefix="env", inv_prefix="b", body_comment=True)),
        ("default SOAP namespace", Style(soap_prefix="", inv_prefix="x", inv_on_envelope=False)),
        ("SOAP 1.2, default invoice namespace", Style(soap=SOAP12, soap_prefix="soap12", inv_prefix="",
                                                      inv_on_envelope=False)),
        ("prefix re-bound inside the Invoice", Style(inv_prefix="x", inv_on_envelope=False, shadow=True)),
    ]
    cases = []
    for i, (label, style) in enumerate(styles):
        inv = make_invoice(rng, 50 + i)
        cases.append(Case(f"{label} ({inv.number})", render_invoice(inv, style)[0], expected_invoice(inv),
                          canonical=render_invoice(inv)[0]))
    for label, fault, style in [
        ("SOAP-ENV fault", FAULTS[1], Style(soap_prefix="SOAP-ENV")),
        ("fault code with its own prefix", FAULTS[2], Style(soap_prefix="s", code_prefix="sc")),
        ("SOAP 1.2 fault, prefix soap12", FAULTS[5], Style(soap_prefix="soap12", code_prefix="e")),
        ("SOAP 1.2 fault in the default namespace", FAULTS[7], Style(soap_prefix="")),
    ]:
        cases.append(Case(label, render_fault(fault, style), expected_fault(fault), "classify_fault",
                          canonical=render_fault(fault)))
    return tuple(cases) + _ns_fault_cases()


def _ns_fault_cases() -> tuple:
    return tuple(Case(label, render_fault(fault), expected_fault(fault), "classify_fault") for label, fault in NS_FAULTS)


def make_hidden(rng: random.Random) -> Hidden:
    token = f"CANARY-{rng.randrange(16 ** 12):012x}"
    faults = tuple(Case(f"SOAP {expected_fault(f)['soap_version']} {f.code}{f.suffix}", render_fault(f),
                        expected_fault(f), "classify_fault") for f in FAULTS)
    plain = make_invoice(rng, 70)
    expansion, external = hostile_documents(rng)
    pack = lambda docs: tuple(Case(label, xml, ("Rejected", "UNSAFE_XML"),  # noqa: E731
                                   "classify_fault" if "fault" in label else "parse_invoice") for label, xml in docs)
    return Hidden(
        valid=_valid_cases(rng), invalid=_invalid_cases(rng), mismatch=_mismatch_cases(rng), faults=faults,
        not_fault=Case(f"invoice {plain.number}", render_invoice(plain)[0], None, "classify_fault"),
        fault_as_invoice=tuple(Case(c.label, c.xml, ("Rejected", "SOAP_FAULT", fault_line(c.xml), c.want["message"]))
                               for c in (faults[1], faults[5], faults[7])),
        ns_faults=_ns_fault_cases(), variants=_variant_cases(rng), expansion=pack(expansion), external=pack(external), token=token)


def hidden_files(data: Hidden) -> dict[str, bytes]:
    """The XSD the learner loads (our copy, whatever theirs says), and the bait files for external entities."""
    return {
        "invoice.xsd": (LAB / "invoice.xsd").read_bytes(),
        CANARY_FILE: f"{data.token}\n".encode(),
        DTD_FILE: f'<!ENTITY partner "{data.token}-DTD">\n'.encode(),
    }
