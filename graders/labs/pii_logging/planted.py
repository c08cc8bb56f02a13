"""What the grader plants in hidden log records: secrets with their leak fragments, and safe look-alikes.

A secret's *fragments* are the distinctive pieces that must not survive
masking; order numbers that fail the Luhn check and UUIDs are safe values
that must survive verbatim.
"""
from __future__ import annotations

import string
from dataclasses import dataclass

__all__ = ["Secret", "ALNUM", "email", "phone", "card", "national_id"]


@dataclass(frozen=True)
class Secret:
    """A planted secret: its kind (the check that owns it), value, leak fragments and expected marker."""

    kind: str
    value: str
    fragments: tuple
    marker: str = ""


ALNUM = string.ascii_letters + string.digits
FIRST = ["amara", "bjorn", "chiara", "dmitri", "esme", "farouk", "greta", "hiroshi", "ines", "jovan", "kalani", "lucia"]
LAST = ["okonkwo", "lindqvist", "ferraro", "volkov", "delacroix", "haddad", "brandt", "tanaka", "moreau", "petrovic"]
DOMAINS = ["tidewater-freight.example", "mail.corvid-analytics.example", "kestrelbank.example.co.uk", "Lumen-Retail.EXAMPLE"]


def _word(rng, n, alphabet=ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _runs(text: str, n: int) -> tuple:
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


def _not_luhn(rng, n: int, first: str = "") -> str:
    digits = _luhn_complete(first + _word(rng, n - 1 - len(first), string.digits))
    return digits[:-1] + str((int(digits[-1]) + rng.randint(1, 9)) % 10)


def email(rng) -> Secret:
    """An e-mail address; its local part is what must not survive."""
    local = rng.choice([f"{rng.choice(FIRST)}.{rng.choice(LAST)}{rng.randint(10, 99)}",
                        f"{rng.choice(FIRST)}_{rng.choice(LAST)}", f"ops+alerts{rng.randint(100, 999)}",
                        f"{rng.choice(FIRST).title()}.{rng.choice(LAST).title()}"])
    return Secret("email", f"{local}@{rng.choice(DOMAINS)}", (local,), "[EMAIL]")


def phone(rng) -> Secret:
    """An international phone number in one of the common layouts."""
    d = lambda n: _word(rng, n, string.digits)  # noqa: E731
    written = rng.choice([f"+44 20 7946 {d(4)}", f"+1 (415) 555-{d(4)}", f"+49 151 {d(4)} {d(4)}",
                          f"+33 6 {d(2)} {d(2)} {d(2)} {d(2)}", f"+614{d(8)}", f"+81-3-{d(4)}-{d(4)}"])
    return Secret("phone", written, (written[4:].strip(), *[r for r in _runs(written, 4) if len(r) >= 4]), "[PHONE]")


def card(rng) -> Secret:
    """A Luhn-valid card number, contiguous or grouped."""
    while True:  # a group equal to the last four would show up in the marker
        secret = _card(rng)
        if secret.marker[-5:-1] not in secret.fragments:
            return secret


def _card(rng) -> Secret:
    brand = rng.choice([("4", 16), ("5" + str(rng.randint(1, 5)), 16), ("3" + rng.choice("47"), 15), ("6011", 19),
                        ("4", 13)])
    digits = _luhn_complete(brand[0] + _word(rng, brand[1] - 1 - len(brand[0]), string.digits))
    sep = rng.choice(["", " ", "-"])
    if sep and len(digits) == 15:
        groups = [digits[:4], digits[4:10], digits[10:]]
    elif sep and len(digits) in (16, 19):
        groups = [digits[i:i + 4] for i in range(0, len(digits), 4)]
    else:
        groups = [digits]
    head = digits[:-4]
    windows = tuple(head[i:i + 6] for i in range(len(head) - 5))
    return Secret("card", sep.join(groups), tuple(groups[:-1]) * (len(groups) > 1) + windows,
                  f"[CARD ****{digits[-4:]}]")


def national_id(rng, us: bool) -> Secret:
    """A US SSN or a UK National Insurance number."""
    if us:
        area = rng.choice([n for n in range(1, 900) if n != 666])
        ssn = f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
        return Secret("national-id", ssn, (ssn, ssn.replace("-", ""), ssn[4:]), "[NATIONAL-ID]")
    first, second = "Z", "Z"
    while first + second in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ"):  # never-issued prefixes
        first, second = rng.choice("ABCEGHJKLMNPRSTWXYZ"), rng.choice("ABCEGHJKLMNPRSTWXYZ")
    digits, suffix = _word(rng, 6, string.digits), rng.choice("ABCD")
    spaced = f"{first}{second} {digits[:2]} {digits[2:4]} {digits[4:]} {suffix}"
    value = rng.choice([spaced, spaced.replace(" ", "")])
    return Secret("national-id", value, (spaced, spaced.replace(" ", ""), digits, spaced[3:11]), "[NATIONAL-ID]")


def _secret_value(rng, specials: str = "") -> str:
    chunks = [_word(rng, 7) for _ in range(3)]
    return "".join(c + (rng.choice(specials) if specials and i < 2 else "") for i, c in enumerate(chunks))


def _jwt(rng) -> str:
    return "eyJhbGciOiJIUzI1NiJ9." + _word(rng, 40, ALNUM + "-_") + "." + _word(rng, 43, ALNUM + "-_")


def _uuid(rng) -> str:
    h = _word(rng, 32, "0123456789abcdef")
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{rng.choice('89ab')}{h[17:20]}-{h[20:]}"
