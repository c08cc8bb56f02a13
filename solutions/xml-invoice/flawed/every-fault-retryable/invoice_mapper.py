"""Map LedgerOne SOAP invoices to canonical invoice JSON.

- ``parse_invoice(xml)`` reads a SOAP envelope carrying one invoice and
  returns the canonical invoice, or raises :class:`Rejected`.
- ``classify_fault(xml)`` describes the SOAP Fault in an envelope, or
  returns None.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path

from lxml import etree

__all__ = ["Rejected", "parse_invoice", "classify_fault"]

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
INV = "http://ledgerone.example.com/schema/invoice/2011"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XSD_PATH = Path(__file__).with_name("invoice.xsd")

# ISO 4217 minor units of the currencies the XSD allows; the rest have 2.
MINOR_UNITS = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3}
RETRYABLE_CODES = {"Server", "Receiver"}

# The document's own prefixes are irrelevant: these are ours, bound to the URIs.
_NS = {"i": INV}


class Rejected(Exception):
    """A document that cannot be turned into an invoice: a reason code, a message and a line."""

    def __init__(self, code: str, message: str, line: int | None = None) -> None:
        super().__init__(f"{code}: {message}" + (f" (line {line})" if line else ""))
        self.code = code
        self.message = message
        self.line = line


# --------------------------------------------------------------------------
# Safe parsing
# --------------------------------------------------------------------------


class _RefuseDoctype:
    """Parser target that stops at a DOCTYPE, before any entity is declared or expanded."""

    def doctype(self, name, public_id, system_url):
        raise Rejected("UNSAFE_XML", f"a DOCTYPE ({name}) is not allowed in a SOAP message")

    def start(self, tag, attrib, nsmap=None):
        pass

    def end(self, tag):
        pass

    def data(self, text):
        pass

    def close(self):
        return None


def _safe_parser(**extra) -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, **extra)


def _parse(xml: bytes) -> etree._Element:
    """The document's root, after refusing DTDs and anything not well-formed."""
    try:
        # First pass reads only far enough to see a DOCTYPE: libxml2 would
        # otherwise parse the internal subset (and its entities) first.
        etree.fromstring(xml, _safe_parser(target=_RefuseDoctype()))
    except etree.XMLSyntaxError:
        pass  # reported with its line by the real parse below
    try:
        return etree.fromstring(xml, _safe_parser())
    except etree.XMLSyntaxError as exc:
        raise Rejected("MALFORMED", exc.msg, exc.lineno) from None


def _envelope(xml: bytes) -> tuple[str, etree._Element]:
    """The SOAP namespace of the envelope and the first element inside its Body."""
    root = _parse(xml)
    name = etree.QName(root)
    if name.localname != "Envelope" or name.namespace not in (SOAP11, SOAP12):
        raise Rejected("MALFORMED", f"expected a SOAP Envelope, found {root.tag}", root.sourceline)
    body = root.find(f"{{{name.namespace}}}Body")
    if body is None:
        raise Rejected("MALFORMED", "the SOAP envelope has no Body", root.sourceline)
    # Comments and processing instructions are children too; skip them.
    payload = next((child for child in body if isinstance(child.tag, str)), None)
    if payload is None:
        raise Rejected("MALFORMED", "the SOAP Body is empty", body.sourceline)
    return name.namespace, payload


def _text(element: etree._Element | None) -> str | None:
    """Whitespace-collapsed text (as xs:token does), or None for a missing element."""
    if element is None:
        return None
    return " ".join((element.text or "").split())


# --------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------


def _fault_code(element: etree._Element, soap_ns: str) -> str:
    """The standard fault code a QName such as ``env:Server.Timeout`` names."""
    if element is None:
        return ""
    text = _text(element)
    prefix, _, local = text.rpartition(":")
    # A QName's prefix is resolved where it appears, like an element's.
    namespace = element.nsmap.get(prefix or None)
    if namespace != soap_ns:
        return f"{{{namespace}}}{local}" if namespace else local
    # SOAP 1.1 refines codes with dots: Client.Authentication is a Client fault.
    return local.split(".", 1)[0] if soap_ns == SOAP11 else local


def _read_fault(soap_ns: str, fault: etree._Element) -> dict:
    if soap_ns == SOAP11:
        # SOAP 1.1 fault children are unqualified.
        code = _fault_code(fault.find("faultcode"), soap_ns)
        message = _text(fault.find("faultstring")) or ""
        version = "1.1"
    else:
        code = _fault_code(fault.find(f"{{{soap_ns}}}Code/{{{soap_ns}}}Value"), soap_ns)
        texts = fault.findall(f"{{{soap_ns}}}Reason/{{{soap_ns}}}Text")
        english = [t for t in texts if (t.get(XML_LANG) or "").lower().split("-")[0] == "en"]
        message = _text((english or texts)[0]) if texts else ""
        version = "1.2"
    # The call did not go through: try again.
    return {"soap_version": version, "code": code, "message": message, "retryable": True}


def _is_fault(soap_ns: str, payload: etree._Element) -> bool:
    return payload.tag == f"{{{soap_ns}}}Fault"


def classify_fault(xml: bytes) -> dict | None:
    """Describe the SOAP Fault in ``xml``, or None when the Body holds no Fault.

    Returns ``{"soap_version", "code", "message", "retryable"}``: Server and
    Receiver faults are worth retrying; Client, Sender and the rest are not.
    """
    soap_ns, payload = _envelope(xml)
    if not _is_fault(soap_ns, payload):
        return None
    return _read_fault(soap_ns, payload)


# --------------------------------------------------------------------------
# Invoices
# --------------------------------------------------------------------------


@cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_PATH), _safe_parser()))


def _validate(payload: etree._Element) -> None:
    """XSD-validate the payload in place, so error lines are the document's own."""
    schema = _schema()
    if not schema.validate(payload):
        first = schema.error_log[0]
        raise Rejected("SCHEMA_INVALID", first.message, first.line)


def _money(value: Decimal, minor: int) -> str:
    return format(value.quantize(Decimal(1).scaleb(-minor), rounding=ROUND_HALF_UP), "f")


def _plain(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros: 2.500 -> "2.5", 10 -> "10"."""
    return format(value.normalize(), "f")


def _price(value: Decimal, minor: int) -> str:
    """At least the currency's minor units; more only when they carry digits."""
    if -value.normalize().as_tuple().exponent > minor:
        return _plain(value)
    return _money(value, minor)


def _round(value: Decimal, minor: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-minor), rounding=ROUND_HALF_UP)


def _number(parent: etree._Element, path: str) -> tuple[Decimal, int]:
    element = parent.find(path, _NS)
    return Decimal(element.text.strip()), element.sourceline


def _party(element: etree._Element) -> dict:
    return {
        "party_id": _text(element.find("i:ID", _NS)),
        "name": _text(element.find("i:Name", _NS)),
        "vat_id": _text(element.find("i:VatID", _NS)),
        "country": _text(element.find("i:CountryCode", _NS)),
    }


def _mismatch(what: str, stated: Decimal, expected: Decimal, line: int) -> Rejected:
    return Rejected("TOTAL_MISMATCH", f"{what}: the document says {stated}, the lines give {expected}", line)


def _lines(invoice: etree._Element, minor: int) -> list[dict]:
    lines = []
    for line in invoice.iterfind("i:Lines/i:Line", _NS):
        quantity, _ = _number(line, "i:Quantity")
        price, _ = _number(line, "i:UnitPrice")
        discount = _number(line, "i:Discount")[0] if line.find("i:Discount", _NS) is not None else Decimal(0)
        rate, _ = _number(line, "i:TaxRate")
        net = _round(quantity * price - discount, minor)
        stated, where = _number(line, "i:LineAmount")
        number = int(_text(line.find("i:LineNumber", _NS)))
        if stated != net:
            raise _mismatch(f"LineAmount of line {number}", stated, net, where)
        lines.append({
            "line_no": number, "sku": _text(line.find("i:SKU", _NS)),
            "description": _text(line.find("i:Description", _NS)), "quantity": _plain(quantity),
            "unit": _text(line.find("i:UnitCode", _NS)), "unit_price": _price(price, minor),
            "discount": _money(discount, minor), "tax_rate": _plain(rate), "net_amount": _money(net, minor),
            "_rate": rate, "_net": net,
        })
    return lines


def _tax(invoice: etree._Element, lines: list[dict], minor: int) -> list[dict]:
    summary = invoice.find("i:TaxSummary", _NS)
    subtotals = summary.findall("i:TaxSubtotal", _NS)
    stated_rates = [_number(s, "i:Rate")[0] for s in subtotals]
    # Decimal("19.00") == Decimal("19") and they hash alike, so sets compare values.
    if sorted(stated_rates) != sorted({line["_rate"] for line in lines}):
        raise Rejected("TOTAL_MISMATCH", "the tax summary does not list exactly the rates the lines use",
                       summary.sourceline)
    tax = []
    for subtotal, rate in zip(subtotals, stated_rates):
        taxable = sum((line["_net"] for line in lines if line["_rate"] == rate), Decimal(0))
        amount = _round(taxable * rate / 100, minor)
        for name, expected in (("TaxableAmount", taxable), ("TaxAmount", amount)):
            stated, where = _number(subtotal, f"i:{name}")
            if stated != expected:
                raise _mismatch(f"{name} at rate {_plain(rate)}", stated, expected, where)
        tax.append({"rate": _plain(rate), "taxable_amount": _money(taxable, minor),
                    "tax_amount": _money(amount, minor), "_amount": amount})
    return tax


def _totals(invoice: etree._Element, lines: list[dict], tax: list[dict], minor: int) -> dict:
    net = sum((line["_net"] for line in lines), Decimal(0))
    tax_total = sum((t["_amount"] for t in tax), Decimal(0))
    expected = {"NetAmount": net, "TaxAmount": tax_total, "GrossAmount": net + tax_total}
    for name, value in expected.items():
        stated, where = _number(invoice, f"i:Totals/i:{name}")
        if stated != value:
            raise _mismatch(f"Totals/{name}", stated, value, where)
    return {"net": _money(net, minor), "tax": _money(tax_total, minor), "gross": _money(net + tax_total, minor)}


def _public(rows: list[dict]) -> list[dict]:
    """Rows without the working values kept under "_" keys."""
    return [{k: v for k, v in row.items() if not k.startswith("_")} for row in rows]


def parse_invoice(xml: bytes) -> dict:
    """Turn a SOAP envelope carrying one LedgerOne invoice into the canonical invoice.

    Raises ``Rejected`` with code UNSAFE_XML, MALFORMED, SOAP_FAULT,
    SCHEMA_INVALID or TOTAL_MISMATCH. Money is computed with Decimal and
    written as strings with the currency's minor units.
    """
    soap_ns, payload = _envelope(xml)
    if _is_fault(soap_ns, payload):
        fault = _read_fault(soap_ns, payload)
        raise Rejected("SOAP_FAULT", fault["message"], payload.sourceline)
    _validate(payload)
    currency = _text(payload.find("i:Currency", _NS))
    minor = MINOR_UNITS.get(currency, 2)
    lines = _lines(payload, minor)
    tax = _tax(payload, lines, minor)
    totals = _totals(payload, lines, tax, minor)
    return {
        "invoice_number": _text(payload.find("i:ID", _NS)),
        "issue_date": _text(payload.find("i:IssueDate", _NS)),
        "due_date": _text(payload.find("i:DueDate", _NS)),
        "currency": currency,
        "order_reference": _text(payload.find("i:OrderReference", _NS)),
        "seller": _party(payload.find("i:Seller", _NS)),
        "buyer": _party(payload.find("i:Buyer", _NS)),
        "lines": _public(lines),
        "tax": _public(tax),
        "totals": totals,
        "note": _text(payload.find("i:Note", _NS)),
    }
