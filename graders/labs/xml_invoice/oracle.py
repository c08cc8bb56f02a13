"""The oracle: every amount and expected answer, computed from the model, never parsed."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from .model import MINOR, SOAP11, SOAP12, Fault, Invoice

__all__ = ["amounts", "expected_invoice", "expected_fault", "expected_code"]


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


def expected_code(fault: Fault) -> str:
    """The ``code`` the contract derives from how the fault's QName is written."""
    if fault.code_ns in ("envelope", "bare-default", fault.soap):
        # SOAP 1.1 refines codes with dots; in SOAP 1.2 a dot is part of the name.
        return fault.code if fault.soap == SOAP11 else fault.code + fault.suffix
    if fault.code_ns == "bare-none":
        return fault.code + fault.suffix  # no namespace to resolve: read as written
    return f"{{{fault.code_ns}}}{fault.code}{fault.suffix}"


def expected_fault(fault: Fault) -> dict:
    """What classify_fault must return for ``fault``."""
    english = [t for lang, t in fault.texts if lang.lower().split("-")[0] == "en"]
    message = english[0] if english and fault.soap == SOAP12 else fault.texts[0][1]
    code = expected_code(fault)
    return {"soap_version": "1.1" if fault.soap == SOAP11 else "1.2", "code": code,
            "message": " ".join(message.split()), "retryable": code in ("Server", "Receiver")}
