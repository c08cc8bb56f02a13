"""Map LedgerOne SOAP invoices to canonical invoice JSON.

Your task (README.md has the full contract):

- ``parse_invoice(xml)``: read a SOAP envelope carrying one invoice, check
  it, and return the canonical invoice as a dict; or raise
  ``Rejected(code, message, line)``.
- ``classify_fault(xml)``: describe the SOAP Fault in an envelope (SOAP 1.1
  or 1.2) and say whether a retry can help; None when there is no Fault.

Parse with lxml, and never with its default settings: the documents come
from outside. Run ``pytest`` for the visible tests and ``iclab check`` for the
grader, which uses documents you have not seen.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal  # money is Decimal, never float
from pathlib import Path

from lxml import etree

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
INV = "http://ledgerone.example.com/schema/invoice/2011"

# The XSD sits next to this file (the grader puts its own copy there too).
XSD_PATH = Path(__file__).with_name("invoice.xsd")

# ISO 4217 minor units of the currencies the XSD allows; all others have 2.
MINOR_UNITS = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3}


class Rejected(Exception):
    """A document that cannot be turned into an invoice.

    ``code`` is one of UNSAFE_XML, MALFORMED, SOAP_FAULT, SCHEMA_INVALID,
    TOTAL_MISMATCH; ``message`` says what is wrong; ``line`` is the line of the
    document it is about, or None. Example::

        raise Rejected("TOTAL_MISMATCH", "GrossAmount should be 1169.79", 75)

    This class is complete; you do not need to change it.
    """

    def __init__(self, code: str, message: str, line: int | None = None) -> None:
        super().__init__(f"{code}: {message}" + (f" (line {line})" if line else ""))
        self.code = code
        self.message = message
        self.line = line


def parse_invoice(xml: bytes) -> dict:
    """Turn a SOAP envelope carrying one LedgerOne invoice into the canonical invoice.

    In this order: refuse any DOCTYPE (UNSAFE_XML); parse (MALFORMED); find
    the element inside the SOAP Body; a Fault there raises SOAP_FAULT;
    validate that element against invoice.xsd (SCHEMA_INVALID, with the
    schema's first error's line and message); check every stated amount
    against the lines (TOTAL_MISMATCH, with the line of the first wrong one).

    Returns a dict shaped like invoice.schema.json, money as strings with the
    currency's minor units ("1169.79", "15833", "7.250").
    """
    raise NotImplementedError("parse_invoice")


def classify_fault(xml: bytes) -> dict | None:
    """Describe the SOAP Fault in ``xml``, or return None when the Body holds no Fault.

    Returns ``{"soap_version": "1.1" | "1.2", "code": "Server", "message":
    "...", "retryable": True}``. Only Server (SOAP 1.1) and Receiver
    (SOAP 1.2) faults are retryable. Hostile or malformed documents raise
    Rejected exactly as in parse_invoice.
    """
    raise NotImplementedError("classify_fault")
