"""The invoice and fault model that every hidden document is rendered from.

Namespaces and currency minor units are the contract's. An ``Invoice`` holds
no totals: oracle.py derives every amount a document states from its lines.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["SOAP11", "SOAP12", "INV", "MSG", "ERP", "MINOR", "Line", "Invoice", "Fault"]

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
INV = "http://ledgerone.example.com/schema/invoice/2011"
MSG = "http://ledgerone.example.com/schema/messaging/2011"
ERP = "urn:partner:erp:extensions:v3"
MINOR = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3}


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
    suffix: str = ""  # dots after it as written: a SOAP 1.1 refinement (".Timeout"), or part of a 1.2 code
    subcode: str | None = None  # SOAP 1.2 Subcode value
    texts: tuple = ()  # ((lang, text), ...); SOAP 1.1 uses the first text only
    detail: bool = False
    # How the code's QName is written: "envelope" (a prefix bound to the envelope's namespace),
    # "bare-default" (no prefix, the envelope's namespace the default: SOAP 1.2 only), "bare-none"
    # (no prefix, no default namespace), or a namespace URI (a partner's prefix "app").
    code_ns: str = "envelope"
    subcode_in_envelope_ns: bool = False  # a Subcode whose value names a standard code, to mislead
