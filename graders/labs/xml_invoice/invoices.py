"""Random invoices for the hidden sets: sellers, buyers, lines and the deliberate rounding edges."""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from .model import MINOR, Invoice, Line
from .oracle import _q

__all__ = ["SELLERS", "BUYERS", "ITEMS", "make_invoice"]

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
    ("KR", "KRW", "Hanbit Precision Co., Ltd.", "KR1208147521", ("10", "0")),
    ("JO", "JOD", "Aqaba Marine Supplies Co.", "JO10034567", ("16", "0")),
]
BUYERS = ["Kestrel Analytics", "Harbour & Finch Dental", "Oakridge Logistics", "Quayside Marine", "Lumen Print Works",
          "Saltmarsh Foods", "Granite Peak Insurance", "Tidewater Clinics", "Copperleaf Studios", "Bäckerei Körner KG",
          "Riverbend Farms", "Silverline Couriers", "Aurora Textiles", "Starling Robotics"]
ITEMS = [("PMP-220", "Circulation pump 220 W", "EA"), ("SRV-ONS", "On-site service engineer", "HUR"),
         ("CBL-3X25", "Cable 3 x 2.5 mm², per metre", "MTR"), ("GRS-LT", "Lithium grease <food grade>", "KGM"),
         ("LIC-MON", "Monitoring licence, monthly", "MON"), (None, "Freight & handling", "EA"),
         ("FLT-HEPA", "HEPA filter cartridge", "EA"), ("CAL-DAY", "Calibration, per day", "DAY")]


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


# A line-level tie: 0.5 x price ends on half a minor unit; "below"/"above" nudge the price a hair either way.
_HALF_PRICE = {0: Decimal("1013"), 2: Decimal("4.25"), 3: Decimal("1.125")}
_NUDGE = {"half": 0, "below": -1, "above": 1}


def _tax_amount(rate: Decimal, minor: int, side: str) -> Decimal:
    """A line amount whose tax at ``rate`` is exactly half a minor unit ("half"), or the nearest amounts
    whose tax falls just under ("below") or just over ("above") a half."""
    best = None
    for units in range(101, 20000):
        frac = (Decimal(units) * rate / 100) % 1
        if side == "half" and frac == Decimal("0.5"):
            return Decimal(units).scaleb(-minor)
        if side == "below" and frac < Decimal("0.5") and (best is None or frac > best[0]):
            best = (frac, units)
        if side == "above" and frac > Decimal("0.5") and (best is None or frac < best[0]):
            best = (frac, units)
    assert best is not None, (rate, side)
    return Decimal(best[1]).scaleb(-minor)


def _edge_line(kind: str, minor: int, rate: Decimal, line_no: int) -> Line:
    """A line on a rounding edge: float rounding gets the ties wrong, Decimal half-up does not."""
    if kind == "huge":
        return Line(line_no, None, "Hydro plant EPC contract, milestone payment", Decimal(3), "EA",
                    Decimal("987654321098765.43"), None, rate)
    if kind in _NUDGE:
        price = _HALF_PRICE[minor] + Decimal(_NUDGE[kind]).scaleb(-4)
        return Line(line_no, "BRS-SHV", "Brass shavings, per kg", Decimal("0.5"), "KGM", price, None, rate)
    if kind.startswith("tax-"):
        amount = _tax_amount(rate, minor, kind[4:])
        return Line(line_no, "SRV-AUD", "Audit fee", Decimal(1), "EA", amount, None, rate)
    # "discount": a discount with one decimal more than the currency has, ending on a half
    price, discount = (Decimal(1000), Decimal("12.5")) if minor == 0 else (Decimal(10), Decimal(1005).scaleb(-minor - 1))
    return Line(line_no, "FLT-HEPA", "HEPA filter cartridge", Decimal(1), "EA", price, discount, rate)


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
    # Line-level edges come with other lines; tax-level ones alone, so the edge line is its rate's whole taxable amount.
    count = rng.randint(2 if spread else 1, 4) if edge is None else 2 if edge in _NUDGE or edge == "discount" else 0
    # The huge-amount edge stays alone so that its totals keep within the XSD's 18 digits.
    lines = _random_lines(rng, count, step, rates, minor, spread)
    while _has_tie(lines, minor):
        lines = _random_lines(rng, count, step, rates, minor, spread)
    if edge:
        rate = next((Decimal(r) for r in rates if Decimal(r)), Decimal(rates[0])) if edge.startswith("tax-") else Decimal(rates[0])
        lines.append(_edge_line(edge, minor, rate, (len(lines) + 1) * step))
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
