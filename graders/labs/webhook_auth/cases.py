"""What a hidden case is: a delivery or a token with the outcome the contract demands (shared by both builders)."""
from __future__ import annotations

import random
import string
from dataclasses import dataclass

__all__ = ["HEADER", "DEFAULT_TOLERANCE", "DEFAULT_LEEWAY", "Delivery", "Token", "Ordered", "word"]

HEADER = "Webhook-Signature"
DEFAULT_TOLERANCE = 300
DEFAULT_LEEWAY = 30


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery as the partner sends it, and the outcome the contract demands."""

    label: str
    headers: dict
    body: bytes
    secret: str
    now: int
    seen: tuple
    tolerance: int | None
    expect: object  # the event dict, or a reason code


@dataclass(frozen=True)
class Token:
    """One bearer token with the validation context, and the outcome the contract demands."""

    label: str
    token: object  # a str, or (once) None: what an absent header gives
    key: str
    now: int
    issuer: str
    audience: str
    leeway: int | None
    expect: object  # the claims dict, or a reason code


@dataclass(frozen=True)
class Ordered:
    """A case breaking two rules, with its two twins breaking one each.

    ``both`` must get ``first``'s reason. It is judged only when the twins get
    theirs: a rule that fails on its own is charged by its own check, and the
    order check then has nothing to say about it.
    """

    label: str
    both: object   # Delivery | Token
    first: object  # the same, breaking only the rule that comes first
    second: object  # the same, breaking only the rule that comes second

    @property
    def expect(self):
        return self.both.expect


def word(rng: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))
