"""The hidden dataset: one set of documents per probe, each with what the contract says about it.

Expected values come from the oracle; the only documents parsed here are the
grader's own invalid ones, to ask lxml which line and message they earn.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cache
from xml.sax.saxutils import escape

from lxml import etree

from ... import paths
from .documents import Style, _dec, render_fault, render_invoice
from .invoices import make_invoice
from .model import INV, MINOR, SOAP11, SOAP12, Fault
from .oracle import amounts, expected_fault, expected_invoice

__all__ = ["CANARY_FILE", "DTD_FILE", "LAB", "FAULTS", "Case", "Hidden", "make_hidden", "hidden_files"]

CANARY_FILE, DTD_FILE = "ledgerone-canary.txt", "ledgerone-2011.dtd"
LAB = paths.LABS / "xml-invoice"


@dataclass(frozen=True)
class Case:
    """One hidden document and what the contract says about it."""

    label: str
    xml: bytes
    want: object  # a canonical invoice, a fault dict, None, or ("Rejected", code[, line[, message]])
    target: str = "parse_invoice"


@dataclass(frozen=True)
class Hidden:
    """The hidden dataset: one tuple of cases per probe, and the bait token."""

    valid: tuple
    invalid: tuple
    mismatch: tuple
    faults: tuple
    not_fault: Case
    fault_as_invoice: tuple
    variants: tuple
    expansion: tuple
    external: tuple
    token: str


def _valid_cases(rng: random.Random) -> tuple:
    cases = []
    for n in range(16):
        edge = {3: "half", 7: "half", 8: "half", 12: "huge"}.get(n)
        inv = make_invoice(rng, n, edge=edge, lexical=n % 5 == 2)
        cases.append(Case(inv.number, render_invoice(inv)[0], expected_invoice(inv)))
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
    ]
    cases = []
    for i, (label, changes, extra) in enumerate(mutations):
        xml = render_invoice(make_invoice(rng, 20 + i), changes=changes, extra=extra)[0]
        cases.append(Case(label, xml, _xsd_verdict(xml)))
    inv = make_invoice(rng, 30)
    xml = render_invoice(inv)[0]
    cases.append(Case("unclosed element", xml.replace(b"</inv:Description>", b"", 1), ("Rejected", "MALFORMED")))
    cases.append(Case("bare & in a name", xml.replace(escape(inv.buyer[1]).encode(), b"Smith & Sons", 1),
                      ("Rejected", "MALFORMED")))
    bare = xml[xml.index(b"<inv:Invoice"):xml.index(b"</soap:Body>")]
    bare = bare.replace(b"<inv:Invoice", f'<inv:Invoice xmlns:inv="{INV}"'.encode(), 1)
    cases.append(Case("invoice without a SOAP envelope", bare, ("Rejected", "MALFORMED")))
    return tuple(cases)


def _mismatch_cases(rng: random.Random) -> tuple:
    cases = []
    for i, key in enumerate(["Line2/LineAmount", "TaxSubtotal1/TaxableAmount", "TaxSubtotal2/TaxAmount",
                             "Totals/NetAmount", "Totals/TaxAmount", "Totals/GrossAmount", "TaxSubtotal2",
                             "Line1/LineAmount"]):
        inv = make_invoice(rng, 40 + i, spread=True)
        if key == "Line1/LineAmount":  # stated before the discount: a classic upstream bug
            discount = Decimal("1.00") if MINOR.get(inv.currency, 2) else Decimal(100)
            inv = replace(inv, lines=(replace(inv.lines[0], discount=discount),) + inv.lines[1:])
        minor = MINOR.get(inv.currency, 2)
        stated = amounts(inv)
        unit = Decimal(1).scaleb(-minor)
        if key == "TaxSubtotal2":
            changes, line_key = {key: None}, "TaxSummary"
        elif key == "Line1/LineAmount":
            changes, line_key = {key: _dec(stated[key] + inv.lines[0].discount)}, key
        else:
            delta = unit * rng.choice([1, -1, 10])
            changes, line_key = {key: _dec(stated[key] + (delta if stated[key] + delta >= 0 else -delta))}, key
        xml, marks = render_invoice(inv, changes=changes)
        cases.append(Case(f"{inv.number} ({key} wrong)", xml, ("Rejected", "TOTAL_MISMATCH", marks[line_key])))
    return tuple(cases)


FAULTS = [
    Fault(SOAP11, "Client", texts=(("en", "Invoice LO-2019-000001 does not exist"),)),
    Fault(SOAP11, "Server", texts=(("en", "Ledger database unavailable, try again later"),), detail=True),
    Fault(SOAP11, "Client", ".Authentication", texts=(("en", "  WS-Security token expired  "),)),
    Fault(SOAP11, "Server", ".Timeout", texts=(("en", "Upstream tax engine timed out after 30 s"),), detail=True),
    Fault(SOAP11, "VersionMismatch", texts=(("en", "Envelope namespace not supported"),)),
    Fault(SOAP12, "Sender", subcode="InvalidInvoiceNumber", texts=(("en", "InvoiceNumber must match LO-YYYY-NNNNNN"),)),
    Fault(SOAP12, "Receiver", subcode="DatabaseTimeout", texts=(("en", "Billing back end did not answer"),), detail=True),
    Fault(SOAP12, "Receiver", texts=(("de", "Dienst vorübergehend nicht verfügbar"),
                                     ("en", "Service temporarily unavailable"))),
    Fault(SOAP12, "MustUnderstand", texts=(("en", "Header msg:Routing was not understood"),)),
]


def _variant_cases(rng: random.Random) -> tuple:
    styles = [
        ("SOAP-ENV and ns2 prefixes", Style(soap_prefix="SOAP-ENV", inv_prefix="ns2")),
        ("default invoice namespace", Style(soap_prefix="s", inv_prefix="", inv_on_envelope=False, body_comment=True)),
        ("prefix 'inv' bound to a partner namespace", Style(soap_prefix="soapenv", inv_prefix="i", decoy=True)),
        ("namespace re-declared on each line", Style(inv_prefix="li", inv_on_envelope=False, line_prefix="ln")),
        ("SOAP 1.2 envelope", Style(soap=SOAP12, soap_prefix="env", inv_prefix="b", body_comment=True)),
        ("default SOAP namespace", Style(soap_prefix="", inv_prefix="x", inv_on_envelope=False)),
    ]
    cases = []
    for i, (label, style) in enumerate(styles):
        inv = make_invoice(rng, 50 + i)
        cases.append(Case(f"{label} ({inv.number})", render_invoice(inv, style)[0], expected_invoice(inv)))
    for label, fault, style in [
        ("SOAP-ENV fault", FAULTS[1], Style(soap_prefix="SOAP-ENV")),
        ("fault code with its own prefix", FAULTS[2], Style(soap_prefix="s", code_prefix="sc")),
        ("SOAP 1.2 fault, prefix soap12", FAULTS[5], Style(soap_prefix="soap12", code_prefix="e")),
    ]:
        cases.append(Case(label, render_fault(fault, style), expected_fault(fault), "classify_fault"))
    return tuple(cases)


def _hostile_cases(rng: random.Random, token: str) -> tuple[tuple, tuple]:
    inv = make_invoice(rng, 60)
    laughs = "<!ENTITY lol0 \"lol\">" + "".join(
        f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 10))
    quad = '<!ENTITY blob "' + "A" * 10000 + '">'
    expansion = [
        ("billion laughs in Note", render_invoice(inv, changes={"Note": "&lol9;"},
                                                  doctype=f"<!DOCTYPE soap:Envelope [{laughs}]>")[0]),
        ("quadratic blow-up in Note", render_invoice(inv, changes={"Note": "&blob;" * 1000},
                                                     doctype=f"<!DOCTYPE soap:Envelope [{quad}]>")[0]),
        ("internal entity as a macro", render_invoice(
            inv, changes={"Buyer/Name": "&buyer;"},
            doctype='<!DOCTYPE soap:Envelope [<!ENTITY buyer "Kestrel Analytics">]>')[0]),
        ("billion laughs in a fault", render_fault(FAULTS[1], changes={"faultstring": "&lol9;"},
                                                   doctype=f"<!DOCTYPE soap:Envelope [{laughs}]>")),
    ]
    xxe = f'<!DOCTYPE soap:Envelope [<!ENTITY xxe SYSTEM "{CANARY_FILE}">]>'
    external = [
        ("external entity in Buyer Name", render_invoice(inv, changes={"Buyer/Name": "&xxe;"}, doctype=xxe)[0]),
        ("external DTD", render_invoice(inv, changes={"Buyer/Name": "&partner;"},
                                        doctype=f'<!DOCTYPE soap:Envelope SYSTEM "{DTD_FILE}">')[0]),
        ("parameter entity loading a DTD", render_invoice(
            inv, changes={"Note": "&partner;"},
            doctype=f'<!DOCTYPE soap:Envelope [<!ENTITY % remote SYSTEM "{DTD_FILE}"> %remote;]>')[0]),
        ("external entity over the network", render_invoice(
            inv, changes={"Note": "&meta;"},
            doctype='<!DOCTYPE soap:Envelope [<!ENTITY meta SYSTEM "http://169.254.169.254/latest/meta-data/">]>')[0]),
        ("external entity in a fault", render_fault(FAULTS[6], changes={"Text0": "&xxe;"},
                                                    doctype=xxe.replace("soap:", "env:"))),
    ]
    pack = lambda docs: tuple(Case(label, xml, ("Rejected", "UNSAFE_XML"),  # noqa: E731
                                   "classify_fault" if "fault" in label else "parse_invoice") for label, xml in docs)
    return pack(expansion), pack(external)


def make_hidden(rng: random.Random) -> Hidden:
    token = f"CANARY-{rng.randrange(16 ** 12):012x}"
    faults = tuple(Case(f"SOAP {expected_fault(f)['soap_version']} {f.code}{f.suffix}", render_fault(f), expected_fault(f),
                        "classify_fault") for f in FAULTS)
    plain = make_invoice(rng, 70)
    expansion, external = _hostile_cases(rng, token)
    return Hidden(
        valid=_valid_cases(rng), invalid=_invalid_cases(rng), mismatch=_mismatch_cases(rng), faults=faults,
        not_fault=Case(f"invoice {plain.number}", render_invoice(plain)[0], None, "classify_fault"),
        fault_as_invoice=tuple(Case(c.label, c.xml, ("Rejected", "SOAP_FAULT", None, c.want["message"]))
                               for c in (faults[1], faults[5])),
        variants=_variant_cases(rng), expansion=expansion, external=external, token=token)


def hidden_files(data: Hidden) -> dict[str, bytes]:
    """The XSD the learner loads (our copy, whatever theirs says), and the bait files for external entities."""
    return {
        "invoice.xsd": (LAB / "invoice.xsd").read_bytes(),
        CANARY_FILE: f"{data.token}\n".encode(),
        DTD_FILE: f'<!ENTITY partner "{data.token}-DTD">\n'.encode(),
    }
