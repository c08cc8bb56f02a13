"""Hidden checks for xml-invoice (legacy SOAP/XML invoices to canonical JSON).

Every hidden document is rendered here from a small invoice or fault model
generated from a fixed seed, and every expected value is computed from that
model, never by parsing what the submission returned. The grader parses only
its own non-hostile documents (to ask lxml which line and message an invalid
one earns). Hostile documents are sent to the child and judged by the code
and text it answers with: an external entity points at a file planted in the
child's working folder, so resolving it shows up as that file's token.
"""
from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from xml.sax.saxutils import escape

import jsonschema
from lxml import etree

from .. import paths
from ..checks import Grader, failed, passed
from ..evidence import field_diff, mismatch_table, show
from ..results import Dimension

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
INV = "http://ledgerone.example.com/schema/invoice/2011"
MSG = "http://ledgerone.example.com/schema/messaging/2011"
ERP = "urn:partner:erp:extensions:v3"
MINOR = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3}
CANARY_FILE, DTD_FILE = "ledgerone-canary.txt", "ledgerone-2011.dtd"
LAB = paths.LABS / "xml-invoice"

# country, currency, seller, VAT id, tax rates (the first is the standard rate)
SELLERS = [
    ("DE", "EUR", "Rheinauen Elektro GmbH", "DE298765431", ("19", "7")),
    ("FR", "EUR", "Maison Corbel & Fils SAS", "FR61423874519", ("20", "5.5")),
    ("NL", "EUR", "Waddenzee Koeltechniek B.V.", "NL862310457B01", ("21", "9")),
    ("GB", "GBP", "Pennine Fasteners Ltd", "GB298451762", ("20", "5", "0")),
    ("CH", "CHF", "Säntis Messtechnik AG", "CHE-415.902.337", ("8.1", "2.6")),
    ("SE", "SEK", "Vättern Maskin AB", "SE556812440301", ("25", "12")),
    ("US", "USD", "Blue Heron Supply Co.", None, ("6.25", "0")),
    ("JP", "JPY", "Hoshizora Kiki K.K. 星空機器", "T4120001093821", ("10", "8")),
    ("KW", "KWD", "Al Salam Marine Trading W.L.L.", None, ("0",)),
    ("BH", "BHD", "Muharraq Cold Chain S.P.C.", "BH220045178900002", ("10", "0")),
    ("PL", "PLN", "Odra Komponenty Sp. z o.o.", "PL7831620455", ("23", "8")),
    ("OM", "OMR", "Sohar Industrial Gases LLC", "OM1100293847", ("5", "0")),
]
BUYERS = ["Kestrel Analytics", "Harbour & Finch Dental", "Oakridge Logistics", "Quayside Marine", "Lumen Print Works",
          "Saltmarsh Foods", "Granite Peak Insurance", "Tidewater Clinics", "Copperleaf Studios", "Bäckerei Körner KG",
          "Riverbend Farms", "Silverline Couriers", "Aurora Textiles", "Starling Robotics"]
ITEMS = [("PMP-220", "Circulation pump 220 W", "EA"), ("SRV-ONS", "On-site service engineer", "HUR"),
         ("CBL-3X25", "Cable 3 x 2.5 mm², per metre", "MTR"), ("GRS-LT", "Lithium grease <food grade>", "KGM"),
         ("LIC-MON", "Monitoring licence, monthly", "MON"), (None, "Freight & handling", "EA"),
         ("FLT-HEPA", "HEPA filter cartridge", "EA"), ("CAL-DAY", "Calibration, per day", "DAY")]


# -- the model ------------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    """One invoice line as LedgerOne stores it."""

    line_no: int
    sku: str | None
    description: str
    quantity: Decimal
    unit: str
    price: Decimal
    discount: Decimal | None
    rate: Decimal


@dataclass(frozen=True)
class Invoice:
    """One invoice; every stated amount is derived from it by ``amounts``."""

    number: str
    issue: str
    due: str | None
    currency: str
    order_ref: str | None
    seller: tuple  # (party_id, name, vat_id, country)
    buyer: tuple
    lines: tuple
    tax_order: tuple  # rates in the order the document's TaxSummary lists them
    note: str | None
    lexical: bool = False  # write some numbers as " +3.50 " rather than "3.5"


@dataclass(frozen=True)
class Fault:
    """One SOAP fault, in either version."""

    soap: str
    code: str  # the standard code's local name
    suffix: str = ""  # SOAP 1.1 refinement, e.g. ".Timeout"
    subcode: str | None = None  # SOAP 1.2 Subcode value
    texts: tuple = ()  # ((lang, text), ...); SOAP 1.1 uses the first text only
    detail: bool = False


def _q(value: Decimal, minor: int) -> Decimal:
    """Round half-up to ``minor`` decimals."""
    return value.quantize(Decimal(1).scaleb(-minor), rounding=ROUND_HALF_UP)


def _plain(value: Decimal) -> str:
    """2.500 -> "2.5", 10 -> "10": no exponent, no trailing zeros."""
    return format(value.normalize(), "f")


def amounts(inv: Invoice) -> dict:
    """Every amount the contract derives, as Decimals, keyed like the renderer's elements."""
    minor = MINOR.get(inv.currency, 2)
    out, nets = {}, []
    for i, line in enumerate(inv.lines, 1):
        net = _q(line.quantity * line.price - (line.discount or 0), minor)
        out[f"Line{i}/LineAmount"] = net
        nets.append((line.rate, net))
    tax_total = Decimal(0)
    for i, rate in enumerate(inv.tax_order, 1):
        taxable = sum((n for r, n in nets if r == rate), Decimal(0))
        tax = _q(taxable * rate / 100, minor)
        out[f"TaxSubtotal{i}/TaxableAmount"], out[f"TaxSubtotal{i}/TaxAmount"] = taxable, tax
        tax_total += tax
    net_total = sum((n for _, n in nets), Decimal(0))
    out.update({"Totals/NetAmount": net_total, "Totals/TaxAmount": tax_total, "Totals/GrossAmount": net_total + tax_total})
    return out


def expected_invoice(inv: Invoice) -> dict:
    """The canonical invoice the contract asks for (the oracle)."""
    minor = MINOR.get(inv.currency, 2)
    money = lambda v: format(_q(v, minor), "f")  # noqa: E731
    a = amounts(inv)
    party = lambda p: {"party_id": p[0], "name": p[1], "vat_id": p[2], "country": p[3]}  # noqa: E731
    lines = [{
        "line_no": ln.line_no, "sku": ln.sku, "description": ln.description, "quantity": _plain(ln.quantity),
        "unit": ln.unit, "unit_price": _plain(ln.price) if -ln.price.normalize().as_tuple().exponent > minor else money(ln.price),
        "discount": money(ln.discount or Decimal(0)), "tax_rate": _plain(ln.rate), "net_amount": money(a[f"Line{i}/LineAmount"]),
    } for i, ln in enumerate(inv.lines, 1)]
    tax = [{"rate": _plain(r), "taxable_amount": money(a[f"TaxSubtotal{i}/TaxableAmount"]),
            "tax_amount": money(a[f"TaxSubtotal{i}/TaxAmount"])} for i, r in enumerate(inv.tax_order, 1)]
    return {
        "invoice_number": inv.number, "issue_date": inv.issue, "due_date": inv.due, "currency": inv.currency,
        "order_reference": inv.order_ref, "seller": party(inv.seller), "buyer": party(inv.buyer), "lines": lines,
        "tax": tax, "totals": {"net": money(a["Totals/NetAmount"]), "tax": money(a["Totals/TaxAmount"]),
                               "gross": money(a["Totals/GrossAmount"])}, "note": inv.note,
    }


def expected_fault(fault: Fault) -> dict:
    """What classify_fault must return for ``fault``."""
    english = [t for lang, t in fault.texts if lang == "en"]
    message = english[0] if english and fault.soap == SOAP12 else fault.texts[0][1]
    return {"soap_version": "1.1" if fault.soap == SOAP11 else "1.2", "code": fault.code,
            "message": " ".join(message.split()), "retryable": fault.code in ("Server", "Receiver")}


# -- rendering ------------------------------------------------------------------
@dataclass(frozen=True)
class Style:
    """How a sender chose to write the same invoice: prefixes, declarations, layout."""

    soap: str = SOAP11
    soap_prefix: str = "soap"  # "" = default namespace
    inv_prefix: str = "inv"  # "" = default namespace
    inv_on_envelope: bool = True  # else declared on the Invoice element
    line_prefix: str | None = None  # re-declare the invoice namespace on each Line under this prefix
    decoy: bool = False  # bind the prefix "inv" to a partner namespace, add partner elements
    body_comment: bool = False
    code_prefix: str | None = None  # faults: write the fault code QName with this prefix


CANONICAL = Style()


class _Doc:
    """Lines of an XML document; remembers which line each keyed element is on."""

    def __init__(self, changes: dict, extra: dict):
        self.lines: list[str] = []
        self.marks: dict[str, int] = {}
        self.changes, self.extra = changes, extra

    def add(self, depth: int, text: str, key: str | None = None) -> None:
        self.lines.append("  " * depth + text)
        if key:
            self.marks[key] = len(self.lines)

    def leaf(self, depth: int, p: str, name: str, text: str | None, key: str, attrs: str = "") -> None:
        text = self.changes.get(key, text)
        if text is not None:
            self.add(depth, f"<{p}{name}{attrs}>{text}</{p}{name}>", key)
        if key in self.extra:
            self.add(depth, self.extra[key])


def _pfx(prefix: str) -> str:
    return f"{prefix}:" if prefix else ""


def _xmlns(prefix: str, uri: str) -> str:
    return f' xmlns:{prefix}="{uri}"' if prefix else f' xmlns="{uri}"'


def _dec(value: Decimal) -> str:
    return format(value, "f")  # str() may answer "1E+1"


def _num(value: Decimal, lexical: bool, kind: str) -> str:
    """A number as LedgerOne writes it; "lexical" invoices use other valid xs:decimal spellings."""
    if not lexical:
        return _dec(value)
    if kind == "Quantity" and value == value.to_integral_value():
        return f"{_dec(value)}.000"
    return f" +{_dec(value)} " if kind.endswith("Amount") else f" {_dec(value)}\t"


def _open_envelope(doc: _Doc, style: Style, doctype: str | None, extra_ns: str = "") -> str:
    s = _pfx(style.soap_prefix)
    doc.add(0, '<?xml version="1.0" encoding="UTF-8"?>')
    if doctype:
        doc.add(0, doctype)
    doc.add(0, f"<{s}Envelope{_xmlns(style.soap_prefix, style.soap)}{extra_ns}>")
    return s


def render_invoice(inv: Invoice, style: Style = CANONICAL, changes: dict | None = None, extra: dict | None = None,
                   doctype: str | None = None) -> tuple[bytes, dict]:
    """The invoice as a SOAP response, and the line of every keyed element."""
    doc = _Doc(changes or {}, extra or {})
    stated = amounts(inv)
    inv_decl = _xmlns(style.inv_prefix, INV)
    envelope_ns = inv_decl if style.inv_on_envelope else ""
    if style.decoy:
        envelope_ns += _xmlns("inv", ERP)
    s = _open_envelope(doc, style, doctype, envelope_ns)
    doc.add(1, f"<{s}Header>")
    doc.add(2, f'<msg:MessageHeader{_xmlns("msg", MSG)}>')
    doc.add(3, f"<msg:ID>MSG-{inv.number[-6:]}-{len(inv.lines)}</msg:ID>")
    doc.add(3, f"<msg:Sent>{inv.issue}T06:{len(inv.lines):02d}:00Z</msg:Sent>")
    doc.add(2, "</msg:MessageHeader>")
    doc.add(1, f"</{s}Header>")
    doc.add(1, f"<{s}Body>")
    if style.body_comment:
        doc.add(2, "<!-- LedgerOne 4.2 GetInvoiceResponse -->")
    p = _pfx(style.inv_prefix)
    doc.add(2, f"<{p}Invoice{'' if style.inv_on_envelope else inv_decl}>", "Invoice")
    doc.leaf(3, p, "ID", escape(inv.number), "ID")
    doc.leaf(3, p, "IssueDate", inv.issue, "IssueDate")
    doc.leaf(3, p, "DueDate", inv.due, "DueDate")
    doc.leaf(3, p, "Currency", inv.currency, "Currency")
    doc.leaf(3, p, "OrderReference", inv.order_ref and escape(inv.order_ref), "OrderReference")
    for role, party in (("Seller", inv.seller), ("Buyer", inv.buyer)):
        doc.add(3, f"<{p}{role}>", role)
        for name, value in zip(("ID", "Name", "VatID", "CountryCode"), party):
            doc.leaf(4, p, name, value and escape(value), f"{role}/{name}")
        doc.add(3, f"</{p}{role}>")
    doc.add(3, f"<{p}Lines>", "Lines")
    for i, line in enumerate(inv.lines, 1):
        lp, decl = (_pfx(style.line_prefix), _xmlns(style.line_prefix, INV)) if style.line_prefix else (p, "")
        key = f"Line{i}"
        if doc.changes.get(key, "") is None:
            continue
        doc.add(4, f"<{lp}Line{decl}>", key)
        description = f"<![CDATA[{line.description}]]>" if "<" in line.description and i % 2 else escape(line.description)
        for name, value in (("LineNumber", str(line.line_no)), ("SKU", line.sku and escape(line.sku)),
                            ("Description", description), ("Quantity", _num(line.quantity, inv.lexical, "Quantity")),
                            ("UnitCode", line.unit), ("UnitPrice", _dec(line.price)),
                            ("Discount", None if line.discount is None else _dec(line.discount)),
                            ("TaxRate", _num(line.rate, inv.lexical, "TaxRate")),
                            ("LineAmount", _num(stated[f"{key}/LineAmount"], inv.lexical, "LineAmount"))):
            doc.leaf(5, lp, name, value, f"{key}/{name}")
        doc.add(4, f"</{lp}Line>")
    doc.add(3, f"</{p}Lines>")
    doc.add(3, f"<{p}TaxSummary>", "TaxSummary")
    for i, rate in enumerate(inv.tax_order, 1):
        key = f"TaxSubtotal{i}"
        if doc.changes.get(key, "") is None:
            continue
        doc.add(4, f"<{p}TaxSubtotal>", key)
        doc.leaf(5, p, "Rate", _dec(rate), f"{key}/Rate")
        doc.leaf(5, p, "TaxableAmount", _dec(stated[f"{key}/TaxableAmount"]), f"{key}/TaxableAmount")
        doc.leaf(5, p, "TaxAmount", _dec(stated[f"{key}/TaxAmount"]), f"{key}/TaxAmount")
        doc.add(4, f"</{p}TaxSubtotal>")
    doc.add(3, f"</{p}TaxSummary>")
    doc.add(3, f"<{p}Totals>")
    for name in ("NetAmount", "TaxAmount", "GrossAmount"):
        doc.leaf(4, p, name, _num(stated[f"Totals/{name}"], inv.lexical, name), f"Totals/{name}")
    doc.add(3, f"</{p}Totals>")
    doc.leaf(3, p, "Note", inv.note and escape(inv.note), "Note")
    if style.decoy:
        # Same local names as invoice elements, in the partner's namespace: never part of the invoice.
        doc.add(3, f"<{p}Extension>")
        doc.add(4, f"<inv:ID>ERP-{inv.number[::-1]}</inv:ID>")
        doc.add(4, "<inv:Currency>XAU</inv:Currency>")
        doc.add(3, f"</{p}Extension>")
    doc.add(2, f"</{p}Invoice>")
    doc.add(1, f"</{s}Body>")
    doc.add(0, f"</{s}Envelope>")
    return ("\n".join(doc.lines) + "\n").encode("utf-8"), doc.marks


def render_fault(fault: Fault, style: Style = CANONICAL, changes: dict | None = None,
                 doctype: str | None = None) -> bytes:
    """A SOAP 1.1 or 1.2 Fault response."""
    doc = _Doc(changes or {}, {})
    if style == CANONICAL and fault.soap == SOAP12:
        style = Style(soap_prefix="env")  # the SOAP 1.2 specification's own prefix
    style = replace(style, soap=fault.soap)
    s = _open_envelope(doc, style, doctype)
    cp = style.code_prefix or style.soap_prefix
    decl = _xmlns(cp, fault.soap) if cp != style.soap_prefix else ""
    doc.add(1, f"<{s}Body>")
    doc.add(2, f"<{s}Fault{decl}>")
    if fault.soap == SOAP11:
        doc.leaf(3, "", "faultcode", f"{cp}:{fault.code}{fault.suffix}", "faultcode")
        doc.leaf(3, "", "faultstring", escape(fault.texts[0][1]), "faultstring")
        if fault.detail:
            doc.add(3, "<faultactor>https://billing.ledgerone.example.com/GetInvoice</faultactor>")
            doc.add(3, f'<detail><e:Error xmlns:e="{ERP}"><e:Code>{fault.code.upper()}-42</e:Code></e:Error></detail>')
    else:
        doc.add(3, f"<{s}Code>")
        doc.leaf(4, s, "Value", f"{cp}:{fault.code}", "Value")
        if fault.subcode:
            doc.add(4, f'<{s}Subcode><{s}Value xmlns:app="{ERP}">app:{fault.subcode}</{s}Value></{s}Subcode>')
        doc.add(3, f"</{s}Code>")
        doc.add(3, f"<{s}Reason>")
        for i, (lang, text) in enumerate(fault.texts):
            doc.leaf(4, s, "Text", escape(text), f"Text{i}", f' xml:lang="{lang}"')
        doc.add(3, f"</{s}Reason>")
        if fault.detail:
            doc.add(3, f'<{s}Detail><e:Error xmlns:e="{ERP}"><e:Code>{fault.code.upper()}-42</e:Code></e:Error></{s}Detail>')
    doc.add(2, f"</{s}Fault>")
    doc.add(1, f"</{s}Body>")
    doc.add(0, f"</{s}Envelope>")
    return ("\n".join(doc.lines) + "\n").encode("utf-8")


# -- hidden data ----------------------------------------------------------------
def _price(rng: random.Random, minor: int) -> Decimal:
    """A unit price in the currency's minor units, now and then finer (metered services)."""
    if minor == 0:
        return Decimal(rng.randint(1, 3000) * 10)
    if minor == 2 and rng.random() < 0.2:
        return Decimal(rng.randint(100, 99999)) / 10000  # sub-cent unit prices (metered services)
    top = rng.choice([5_000, 50_000, 250_000]) * 10 ** (minor - 2)
    return Decimal(rng.randint(50 * 10 ** (minor - 2), top)).scaleb(-minor)


def _quantity(rng: random.Random, unit: str) -> Decimal:
    if unit in ("HUR", "DAY"):
        return Decimal(rng.randint(2, 160)) / 4
    if unit in ("KGM", "MTR"):
        return Decimal(rng.randint(250, 90000)) / 1000
    return Decimal(rng.randint(1, 40))


def _edge_line(kind: str, minor: int, rate: Decimal, line_no: int) -> Line:
    """A line whose exact amount ends on a half: float rounding gets it wrong, Decimal half-up does not."""
    price = {"half": Decimal("4.25") if minor == 2 else Decimal("1.125") if minor == 3 else Decimal("1013"),
             "huge": Decimal("987654321098765.43")}[kind]
    if kind == "half":
        return Line(line_no, "BRS-SHV", "Brass shavings, per kg", Decimal("0.5"), "KGM", price, None, rate)
    return Line(line_no, None, "Hydro plant EPC contract, milestone payment", Decimal(3), "EA", price, None, rate)


def _random_lines(rng: random.Random, count: int, step: int, rates: tuple, minor: int, spread: bool) -> list:
    """``count`` lines numbered by ``step``; some discounted by 5-15 %."""
    lines = []
    for i in range(count):
        sku, description, unit = rng.choice(ITEMS)
        quantity, price = _quantity(rng, unit), _price(rng, minor)
        gross = _q(quantity * price, minor)
        discount = _q(gross * rng.choice([5, 10, 15]) / 100, minor) if rng.random() < 0.3 and gross > 1 else None
        rate = rates[i] if spread and i < 2 else rng.choice(rates)
        lines.append(Line((i + 1) * step, sku, description, quantity, unit, price, discount, Decimal(rate)))
    return lines


def _has_tie(lines: list, minor: int) -> bool:
    """Does an amount fall exactly half-way between two minor units?

    Only the deliberate edge lines may: anywhere else a float solution
    would fail checks that are not about money.
    """
    scale = Decimal(10) ** minor
    exact = [(ln.quantity * ln.price - (ln.discount or 0)) * scale for ln in lines]
    for rate in {ln.rate for ln in lines}:
        taxable = sum((_q(ln.quantity * ln.price - (ln.discount or 0), minor) for ln in lines if ln.rate == rate), Decimal(0))
        exact.append(taxable * rate / 100 * scale)
    return any(value % 1 == Decimal("0.5") for value in exact)


def make_invoice(rng: random.Random, n: int, edge: str | None = None, lexical: bool = False,
                 spread: bool = False) -> Invoice:
    """Invoice number ``n`` of a hidden set; ``spread`` gives it two lines or more at two tax rates or more."""
    country, currency, seller_name, vat, rates = SELLERS[n % len(SELLERS)]
    if spread and len(rates) < 2:
        country, currency, seller_name, vat, rates = SELLERS[0]
    minor = MINOR.get(currency, 2)
    step = rng.choice([1, 1, 10])
    count = rng.randint(2 if spread else 1, 4) if edge is None else 2 if edge == "half" else 0
    # The huge-amount edge stays alone so that its totals keep within the XSD's 18 digits.
    lines = _random_lines(rng, count, step, rates, minor, spread)
    while _has_tie(lines, minor):
        lines = _random_lines(rng, count, step, rates, minor, spread)
    if edge:
        lines.append(_edge_line(edge, minor, Decimal(rates[0]), (len(lines) + 1) * step))
    used = sorted({ln.rate for ln in lines}, reverse=rng.random() < 0.5)
    issue = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(900))
    due = issue + dt.timedelta(days=rng.choice([14, 30, 45, 60])) if rng.random() < 0.8 else None
    buyer_country = rng.choice([country, country, "DE", "GB", "US", "AE"])
    buyer = (f"C-{rng.randrange(10000, 99999)}", rng.choice(BUYERS),
             f"{buyer_country}{rng.randrange(10**8, 10**9)}" if rng.random() < 0.6 else None, buyer_country)
    note = rng.choice([None, None, "Payment by bank transfer only.", "Goods remain our property until paid in full & cleared.",
                       "Ref. contract 2021/77 - price list 'B'."])
    return Invoice(
        number=f"LO-{issue.year}-{rng.randrange(10**6):06d}", issue=issue.isoformat(),
        due=due and due.isoformat(), currency=currency,
        order_ref=f"PO {rng.randrange(10**5, 10**6)}" if rng.random() < 0.6 else None,
        seller=(f"S-{country}-{n % 7 + 1:02d}", seller_name, vat, country), buyer=buyer,
        lines=tuple(lines), tax_order=tuple(used), note=note, lexical=lexical)


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


grader = Grader(seed=20261201, data=make_hidden, files=hidden_files)


# -- probes: run the submission, keep frozen records ------------------------------
def _each(run, cases) -> tuple:
    return tuple(run.call(f"invoice_mapper:{case.target}", case.xml) for case in cases)


# One probe per hidden set, named like the set; each case says which entry point it calls.
for _name in ("valid", "invalid", "mismatch", "variants", "expansion", "external"):
    grader.probe(_name)(lambda run, _name=_name: _each(run, getattr(run.data, _name)))


@grader.probe("faults")
def _probe_faults(run):
    return _each(run, run.data.faults), _each(run, (run.data.not_fault,))[0], _each(run, run.data.fault_as_invoice)


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


@grader.check("refuses-entity-expansion", title="Entity expansion refused", points=8, skill="xml-security",
              dimension=Dimension.SECURITY, criterion=1, probe="expansion")
def check_expansion(records, data):
    return _hostile(records, data.expansion, data.token, "internal entities (billion laughs and friends)")


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


@grader.check("namespace-variants", title="Names matched by namespace, not prefix", points=10,
              skill="xml-namespaces", dimension=Dimension.API_DATA, criterion=7, probe="variants")
def check_variants(records, data):
    rows = []
    for record, case in zip(records, data.variants):
        got = _got(record)
        fields = ("soap_version", "code", "message") if "retryable" in case.want else None
        if isinstance(got, tuple) and got[:2] == ("Rejected", "TOTAL_MISMATCH"):
            continue  # arithmetic is money-exact's business, not this check's
        if not isinstance(got, dict):
            rows.append((case.label, [f"expected {'a fault description' if fields else 'the invoice'}, got {_describe(got)}"]))
            continue
        diff = field_diff(case.want, got, fields) if fields else \
            field_diff(case.want, got, HEADER) + _line_diff(case.want, got, LINE_FIELDS)
        if diff:
            rows.append((case.label, diff))
    if rows:
        return failed(f"{len(rows)} of {len(records)} documents written with other prefixes or declarations read wrongly",
                      mismatch_table(rows, len(records)))
    return passed(f"all {len(records)} documents read the same whatever their prefixes, default namespaces and layout")


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
    records, not_fault, as_invoice = evidence
    rows = _fault_rows(records, data.faults, ("soap_version", "code", "message"))
    if not (not_fault.ok and not_fault.value is None):
        rows.append(("an invoice response", [f"expected None (no Fault), got {_describe(_got(not_fault))}"]))
    for record, case in zip(as_invoice, data.fault_as_invoice):
        got = _got(record)
        if not (isinstance(got, tuple) and got[0] == "Rejected" and (got[1], got[3]) == (case.want[1], case.want[3])):
            rows.append((f"parse_invoice on {case.label}",
                         [f"expected Rejected('SOAP_FAULT', message {show(case.want[3], 60)})", f"got {_describe(got)}"]))
    total = len(records) + 1 + len(as_invoice)
    if rows:
        return failed(f"{len(rows)} of {total} fault cases read wrongly", mismatch_table(rows, total))
    return passed(f"version, code and message right for {len(records)} faults; invoices are not faults; "
                  "parse_invoice raises SOAP_FAULT")


@grader.check("fault-retryable", title="Server/Receiver faults retryable, Client/Sender not", points=10,
              skill="retries", dimension=Dimension.INTEGRATION, criterion=9, probe="faults")
def check_fault_retry(evidence, data):
    records = evidence[0]
    rows = _fault_rows(records, data.faults, ("retryable",))
    if rows:
        return failed(f"{len(rows)} of {len(records)} faults classed wrongly for retry", mismatch_table(rows, len(records)))
    return passed(f"all {len(records)} faults classed right: only Server and Receiver faults are retried")


@cache
def _json_schema() -> dict:
    return json.loads((LAB / "invoice.schema.json").read_text(encoding="utf-8"))


@grader.check("schema-valid-output", title="Every invoice validates against invoice.schema.json", points=5,
              skill="schema-validation", dimension=Dimension.API_DATA, criterion=10, probe="valid")
def check_output_schema(records, data):
    validator = jsonschema.Draft202012Validator(_json_schema())
    invoices = [(case, r.value) for r, case in zip(records, data.valid) if r.ok]
    if not invoices:
        return failed("no invoice came back for any valid document, so nothing could be validated")
    rows = []
    for case, value in invoices:
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
        if errors:
            rows.append((case.label, [f"{'/'.join(map(str, e.path)) or '(invoice)'}: {e.message[:100]}" for e in errors]))
    if rows:
        return failed(f"{len(rows)} of {len(invoices)} invoices do not validate against invoice.schema.json",
                      mismatch_table(rows, len(invoices)))
    return passed(f"all {len(invoices)} invoices validate against invoice.schema.json")
