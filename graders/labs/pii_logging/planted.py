"""What the grader plants in hidden log text: secrets with their leak fragments, and safe look-alikes.

A secret's *fragments* are the distinctive pieces that must not survive
masking; its *marker* is what the contract replaces it with. Order numbers
that fail the Luhn check, UUIDs and amounts are safe values that must
survive verbatim. Each generator takes an optional layout so that the
hidden data can cover every layout the contract names at least once.
"""
from __future__ import annotations

import string
from dataclasses import dataclass

__all__ = ["Secret", "ALNUM", "email", "phone", "card", "national_id", "PHONE_LAYOUTS", "CARD_LAYOUTS",
           "luhn_valid", "not_luhn", "JWT_HEADER", "secret_value", "jwt", "uuid_text", "word", "runs"]


@dataclass(frozen=True)
class Secret:
    """A planted secret: its kind (the check that owns it), value, leak fragments and expected marker."""

    kind: str
    value: str
    fragments: tuple
    marker: str = "***"


ALNUM = string.ascii_letters + string.digits
FIRST = ["amara", "bjorn", "chiara", "dmitri", "esme", "farouk", "greta", "hiroshi", "ines", "jovan", "kalani", "lucia"]
LAST = ["okonkwo", "lindqvist", "ferraro", "volkov", "delacroix", "haddad", "brandt", "tanaka", "moreau", "petrovic"]
DOMAINS = ["tidewater-freight.example", "mail.corvid-analytics.example", "kestrelbank.example.co.uk", "Lumen-Retail.EXAMPLE"]


def word(rng, n, alphabet=ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def runs(text: str, n: int) -> tuple:
    """Alphanumeric runs of at least ``n`` characters: the pieces of a secret that must not survive."""
    out, run = [], ""
    for ch in text + " ":
        if ch.isascii() and ch.isalnum():
            run += ch
        else:
            if len(run) >= n:
                out.append(run)
            run = ""
    return tuple(out)


def _luhn_complete(partial: str) -> str:
    for check in "0123456789":
        total = 0
        for i, ch in enumerate(reversed(partial + check)):
            d = int(ch) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return partial + check
    raise AssertionError("unreachable")


def luhn_valid(rng, n: int, first: str = "") -> str:
    """``n`` digits starting with ``first`` that pass the Luhn check."""
    return _luhn_complete(first + word(rng, n - 1 - len(first), string.digits))


def not_luhn(rng, n: int, first: str = "") -> str:
    """``n`` digits starting with ``first`` that fail the Luhn check (an order number, an SSCC)."""
    digits = luhn_valid(rng, n, first)
    return digits[:-1] + str((int(digits[-1]) + rng.randint(1, 9)) % 10)


def email(rng, *, plus: bool = True, upper: bool = False) -> Secret:
    """An e-mail address; its local part is what must not survive."""
    locals_ = [f"{rng.choice(FIRST)}.{rng.choice(LAST)}{rng.randint(10, 99)}", f"{rng.choice(FIRST)}_{rng.choice(LAST)}",
               f"{rng.choice(FIRST).title()}.{rng.choice(LAST).title()}"]
    if plus:
        locals_.append(f"ops+alerts{rng.randint(100, 999)}")
    local = rng.choice(locals_)
    value = f"{local}@{rng.choice(DOMAINS)}"
    if upper:
        value, local = value.upper(), local.upper()
    return Secret("email", value, (local,), "[EMAIL]")


def _d(rng, n: int) -> str:
    return word(rng, n, string.digits)


# Every layout the contract's phone row names: spaces, hyphens, one group in parentheses, contiguous;
# 8 digits (the fewest) and 15 (the most).
PHONE_LAYOUTS = (
    lambda r: f"+44 20 7946 {_d(r, 4)}", lambda r: f"+1 (415) 555-{_d(r, 4)}", lambda r: f"+49 151 {_d(r, 4)} {_d(r, 4)}",
    lambda r: f"+33 6 {_d(r, 2)} {_d(r, 2)} {_d(r, 2)} {_d(r, 2)}", lambda r: f"+614{_d(r, 8)}",
    lambda r: f"+81-3-{_d(r, 4)}-{_d(r, 4)}", lambda r: f"+500 {_d(r, 5)}", lambda r: f"+882 {_d(r, 4)} {_d(r, 4)} {_d(r, 4)}",
)


def phone(rng, layout: int | None = None) -> Secret:
    """An international phone number in one of the contract's layouts."""
    make = PHONE_LAYOUTS[layout] if layout is not None else rng.choice(PHONE_LAYOUTS)
    written = make(rng)
    pieces = tuple(r for r in runs(written, 4))
    return Secret("phone", written, (written[4:].strip(), *pieces), "[PHONE]")


# (prefix, digits, separator): contiguous, grouped by four with spaces or hyphens (19 digits end with three),
# 4-6-5 (15 digits) and 4-6-4 (14 digits).
CARD_LAYOUTS = (("4", 16, ""), ("52", 16, " "), ("4", 16, "-"), ("37", 15, ""), ("34", 15, " "), ("37", 15, "-"),
                ("36", 14, ""), ("36", 14, " "), ("6011", 19, ""), ("6011", 19, " "), ("6011", 19, "-"), ("4", 13, ""),
                ("55", 16, ""))


def card(rng, layout: int | None = None) -> Secret:
    """A Luhn-valid card number in one of the contract's layouts."""
    while True:  # a group equal to the last four would show up in the marker
        secret = _card(rng, CARD_LAYOUTS[layout] if layout is not None else rng.choice(CARD_LAYOUTS))
        if secret.marker[-5:-1] not in secret.fragments and secret.marker[-5:-1] not in secret.value[:-4]:
            return secret


def _card(rng, brand) -> Secret:
    first, n, sep = brand
    digits = luhn_valid(rng, n, first)
    if sep and n in (14, 15):
        groups = [digits[:4], digits[4:10], digits[10:]]
    elif sep:
        groups = [digits[i:i + 4] for i in range(0, n, 4)]
    else:
        groups = [digits]
    head = digits[:-4]
    windows = tuple(head[i:i + 6] for i in range(len(head) - 5))
    return Secret("card", sep.join(groups), tuple(groups[:-1]) * (len(groups) > 1) + windows,
                  f"[CARD ****{digits[-4:]}]")


def national_id(rng, us: bool, spaced: bool | None = None) -> Secret:
    """A US SSN or a UK National Insurance number (spaced or not)."""
    if us:
        area = rng.choice([n for n in range(1, 900) if n != 666])
        ssn = f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
        return Secret("national-id", ssn, (ssn, ssn.replace("-", ""), ssn[4:]), "[NATIONAL-ID]")
    first, second = "Z", "Z"
    while first + second in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ"):  # never-issued prefixes
        first, second = rng.choice("ABCEGHJKLMNPRSTWXYZ"), rng.choice("ABCEGHJKLMNPRSTWXYZ")
    digits, suffix = word(rng, 6, string.digits), rng.choice("ABCD")
    spaced_text = f"{first}{second} {digits[:2]} {digits[2:4]} {digits[4:]} {suffix}"
    if spaced is None:
        spaced = rng.random() < 0.5
    value = spaced_text if spaced else spaced_text.replace(" ", "")
    return Secret("national-id", value, (spaced_text, spaced_text.replace(" ", ""), digits, spaced_text[3:11]),
                  "[NATIONAL-ID]")


def secret_value(rng, specials: str = "") -> str:
    """A password-like value: three chunks of seven, joined by ``specials`` when given."""
    chunks = [word(rng, 7) for _ in range(3)]
    return "".join(c + (rng.choice(specials) if specials and i < 2 else "") for i, c in enumerate(chunks))


JWT_HEADER = "eyJhbGciOiJIUzI1NiJ9"  # {"alg":"HS256"}


def jwt(rng) -> str:
    return JWT_HEADER + "." + word(rng, 40, ALNUM + "-_") + "." + word(rng, 43, ALNUM + "-_")


def uuid_text(rng) -> str:
    h = word(rng, 32, "0123456789abcdef")
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{rng.choice('89ab')}{h[17:20]}-{h[20:]}"
