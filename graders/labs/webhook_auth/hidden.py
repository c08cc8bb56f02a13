"""The hidden deliveries and tokens, from the grader's seed: each group feeds one probe and one check.

deliveries.py builds the webhook groups and tokens.py the JWT groups;
cases.py holds what a case is.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from .deliveries import webhook_groups
from .tokens import token_groups

__all__ = ["Hidden", "make_hidden", "DELIVERY_GROUPS", "TOKEN_GROUPS"]

DELIVERY_GROUPS = ("valid", "raw_body", "bad_signature", "header_parsing", "stale", "malformed_body", "replay",
                   "records", "webhook_order")
TOKEN_GROUPS = ("jwt_valid", "jwt_bad_signature", "jwt_time", "jwt_issuer", "jwt_audience", "jwt_alg", "jwt_order")


@dataclass(frozen=True)
class Hidden:
    """Every group of hidden cases; each group feeds one probe and one check."""

    valid: tuple
    raw_body: tuple
    bad_signature: tuple
    header_parsing: tuple
    stale: tuple
    malformed_body: tuple
    replay: tuple
    records: tuple
    webhook_order: tuple
    jwt_valid: tuple
    jwt_bad_signature: tuple
    jwt_time: tuple
    jwt_issuer: tuple
    jwt_audience: tuple
    jwt_alg: tuple
    jwt_order: tuple


def make_hidden(rng: random.Random) -> Hidden:
    """The hidden deliveries and tokens, from the grader's seed."""
    return Hidden(**webhook_groups(rng), **token_groups(rng))
