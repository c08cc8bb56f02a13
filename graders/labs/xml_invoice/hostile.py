"""Hostile documents: every kind of DOCTYPE the ticket names, in both entry points and more than one encoding.

Internal DTDs (billion laughs, quadratic blow-up, a harmless-looking macro, an
ATTLIST that adds default attributes, a DOCTYPE with no declarations at all,
one after a comment, one in UTF-16) and external ones (SYSTEM and PUBLIC
entities and DTDs, a parameter entity, a network entity). An external entity
points at a file the grader plants in the child's folder, so resolving it
shows up as that file's token.
"""
from __future__ import annotations

import random

from .documents import render_fault, render_invoice
from .faults import FAULTS
from .invoices import make_invoice

__all__ = ["CANARY_FILE", "DTD_FILE", "hostile_documents"]

CANARY_FILE, DTD_FILE = "ledgerone-canary.txt", "ledgerone-2011.dtd"


def _utf16(xml: bytes) -> bytes:
    """The same document in UTF-16, declaration included: a byte search for '<!DOCTYPE' no longer finds it."""
    return xml.decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"', 1).encode("utf-16")


def hostile_documents(rng: random.Random) -> tuple[list, list]:
    """(internal, external): lists of (label, xml); a label naming a fault goes to classify_fault."""
    inv = make_invoice(rng, 60)
    laughs = "<!ENTITY lol0 \"lol\">" + "".join(
        f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 10))
    quad = '<!ENTITY blob "' + "A" * 10000 + '">'
    bomb = render_invoice(inv, changes={"Note": "&lol9;"}, doctype=f"<!DOCTYPE soap:Envelope [{laughs}]>")[0]
    internal = [
        ("billion laughs in Note", bomb),
        ("quadratic blow-up in Note", render_invoice(inv, changes={"Note": "&blob;" * 1000},
                                                     doctype=f"<!DOCTYPE soap:Envelope [{quad}]>")[0]),
        ("internal entity as a macro", render_invoice(
            inv, changes={"Buyer/Name": "&buyer;"},
            doctype='<!DOCTYPE soap:Envelope [<!ENTITY buyer "Kestrel Analytics">]>')[0]),
        ("billion laughs in a fault", render_fault(FAULTS[1], changes={"faultstring": "&lol9;"},
                                                   doctype=f"<!DOCTYPE soap:Envelope [{laughs}]>")),
        ("a DOCTYPE that declares nothing", render_invoice(inv, doctype="<!DOCTYPE soap:Envelope>")[0]),
        ("an ATTLIST adding default attributes", render_invoice(
            inv, doctype='<!DOCTYPE soap:Envelope [<!ATTLIST soap:Envelope audit CDATA "on">]>')[0]),
        ("a DOCTYPE after a comment", bomb.replace(b"?>\n", b"?>\n<!-- relayed by partner gateway -->\n", 1)),
        ("billion laughs in UTF-16", _utf16(bomb)),
        ("internal entity in a SOAP 1.2 fault", render_fault(
            FAULTS[7], changes={"Text1": "&why;"},
            doctype='<!DOCTYPE env:Envelope [<!ENTITY why "Service temporarily unavailable">]>')),
    ]
    xxe = f'<!DOCTYPE soap:Envelope [<!ENTITY xxe SYSTEM "{CANARY_FILE}">]>'
    external = [
        ("external entity in Buyer Name", render_invoice(inv, changes={"Buyer/Name": "&xxe;"}, doctype=xxe)[0]),
        ("external DTD", render_invoice(inv, changes={"Buyer/Name": "&partner;"},
                                        doctype=f'<!DOCTYPE soap:Envelope SYSTEM "{DTD_FILE}">')[0]),
        ("external DTD with a PUBLIC identifier", render_invoice(
            inv, changes={"Note": "&partner;"},
            doctype=f'<!DOCTYPE soap:Envelope PUBLIC "-//LedgerOne//DTD Invoice 2011//EN" "{DTD_FILE}">')[0]),
        ("parameter entity loading a DTD", render_invoice(
            inv, changes={"Note": "&partner;"},
            doctype=f'<!DOCTYPE soap:Envelope [<!ENTITY % remote SYSTEM "{DTD_FILE}"> %remote;]>')[0]),
        ("external entity over the network", render_invoice(
            inv, changes={"Note": "&meta;"},
            doctype='<!DOCTYPE soap:Envelope [<!ENTITY meta SYSTEM "http://169.254.169.254/latest/meta-data/">]>')[0]),
        ("PUBLIC external entity in UTF-16", _utf16(render_invoice(
            inv, changes={"Buyer/Name": "&xxe;"},
            doctype=f'<!DOCTYPE soap:Envelope [<!ENTITY xxe PUBLIC "-//LedgerOne//Canary//EN" "{CANARY_FILE}">]>')[0])),
        ("external entity in a fault", render_fault(FAULTS[6], changes={"Text0": "&xxe;"},
                                                    doctype=xxe.replace("soap:", "env:"))),
    ]
    return internal, external
