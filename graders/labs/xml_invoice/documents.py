"""Render invoices and faults as SOAP documents, remembering the line of every keyed element.

A ``Style`` is how one sender writes the same document (prefixes, where the
namespaces are declared, comments); ``changes`` and ``extra`` bend single
elements, which is how invalid, tampered and hostile documents are made.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal
from xml.sax.saxutils import escape

from .model import ERP, INV, MSG, SOAP11, SOAP12, Fault, Invoice
from .oracle import amounts

__all__ = ["Style", "CANONICAL", "render_invoice", "render_fault", "fault_line"]


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
    shadow: bool = False  # the envelope binds the invoice's prefix to a partner namespace; Invoice re-binds it
    padded: bool = False  # text values wrapped in newlines and runs of spaces, as a pretty-printer leaves them
    rate_text: str | None = None  # TaxSubtotal rates written with this many trailing zeros, e.g. ".00"


CANONICAL = Style()


# Elements of xs:token types, whose surrounding and inner whitespace collapses (libxml2 does not collapse xs:date).
_TOKENS = frozenset({"ID", "Name", "VatID", "CountryCode", "Currency", "OrderReference", "SKU", "Description",
                     "UnitCode", "Note"})


class _Doc:
    """Lines of an XML document; remembers which line each keyed element is on."""

    def __init__(self, changes: dict, extra: dict, padded: bool = False):
        self.lines: list[str] = []
        self.marks: dict[str, int] = {}
        self.changes, self.extra, self.padded = changes, extra, padded

    def add(self, depth: int, text: str, key: str | None = None) -> None:
        self.lines.append("  " * depth + text)
        if key:
            self.marks[key] = len(self.lines)

    def leaf(self, depth: int, p: str, name: str, text: str | None, key: str, attrs: str = "") -> None:
        text = self.changes.get(key, text)
        if text is not None and self.padded and name in _TOKENS and key not in self.changes and not text.startswith("<!["):
            text = "\n" + "  " * (depth + 1) + text.replace(" ", "  \t ") + "\n" + "  " * depth
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
    doc = _Doc(changes or {}, extra or {}, style.padded)
    stated = amounts(inv)
    inv_decl = _xmlns(style.inv_prefix, INV)
    envelope_ns = inv_decl if style.inv_on_envelope else ""
    if style.decoy:
        envelope_ns += _xmlns("inv", ERP)
    if style.shadow:  # the same prefix means the partner's namespace outside the Invoice and LedgerOne's inside
        envelope_ns += _xmlns(style.inv_prefix, ERP)
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
        doc.leaf(5, p, "Rate", _dec(rate) + (style.rate_text or "") if style.rate_text and rate == rate.to_integral_value()
                 else _dec(rate), f"{key}/Rate")
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
    if fault.code_ns == "bare-default":
        style = replace(style, soap_prefix="", code_prefix=None)  # the envelope's namespace is the default
    style = replace(style, soap=fault.soap)
    s = _open_envelope(doc, style, doctype)
    cp = style.code_prefix or style.soap_prefix
    decl = _xmlns(cp, fault.soap) if cp != style.soap_prefix else ""
    if fault.code_ns == "envelope":
        code, code_decl = f"{_pfx(cp)}{fault.code}{fault.suffix}", ""
    elif fault.code_ns in ("bare-default", "bare-none"):
        code, code_decl = f"{fault.code}{fault.suffix}", ""
    else:
        code, code_decl = f"app:{fault.code}{fault.suffix}", f' xmlns:app="{fault.code_ns}"'
    doc.add(1, f"<{s}Body>")
    doc.add(2, f"<{s}Fault{decl}>", "Fault")
    if fault.soap == SOAP11:
        doc.leaf(3, "", "faultcode", code, "faultcode", code_decl)
        doc.leaf(3, "", "faultstring", escape(fault.texts[0][1]), "faultstring")
        if fault.detail:
            doc.add(3, "<faultactor>https://billing.ledgerone.example.com/GetInvoice</faultactor>")
            doc.add(3, f'<detail><e:Error xmlns:e="{ERP}"><e:Code>{fault.code.upper()}-42</e:Code></e:Error></detail>')
    else:
        doc.add(3, f"<{s}Code>")
        doc.leaf(4, s, "Value", code, "Value", code_decl)
        if fault.subcode and fault.subcode_in_envelope_ns:
            doc.add(4, f"<{s}Subcode><{s}Value>{_pfx(cp)}{fault.subcode}</{s}Value></{s}Subcode>")
        elif fault.subcode:
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


def fault_line(xml: bytes) -> int:
    """The line of the Fault element in a document ``render_fault`` wrote."""
    return next(n for n, text in enumerate(xml.split(b"\n"), 1) if re.search(rb"<([\w-]+:)?Fault[\s>]", text))
