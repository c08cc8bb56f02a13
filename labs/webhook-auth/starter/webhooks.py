"""Authenticate partner webhooks and bearer tokens.

Your task (see README.md for the full contract):

- ``verify_webhook(...)``: check the ``Webhook-Signature`` header (HMAC-SHA256
  over the timestamp and the raw body), the timestamp's age and the replay
  store, then return the event.
- ``validate_jwt(...)``: check an HS256 JSON Web Token and return its claims.

Both raise ``AuthError(reason)`` when a request must be refused. Use the
standard library only: ``hmac``, ``hashlib``, ``base64`` and ``json`` are all
you need. Run ``pytest`` for the visible tests and ``iclab check`` for the
grader, which uses secrets, keys and clocks you have not seen.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from decimal import Decimal


class AuthError(Exception):
    """A webhook or token that must be refused.

    ``reason`` is one of the contract's codes, e.g. ``raise AuthError("bad_signature")``.
    This class is complete; you do not need to change it.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def verify_webhook(headers: dict, raw_body: bytes, secret: str, now: int, seen_ids: list[str], tolerance: int = 300) -> dict:
    """Authenticate one webhook delivery and return its event (the parsed JSON body).

    Checks, in this order, raising ``AuthError`` at the first problem:

    1. the ``Webhook-Signature`` header (``t=<unix seconds>,v1=<hex>``):
       missing or unreadable -> ``malformed_header``
    2. a v1 signature equal to HMAC-SHA256(secret, ``b"<t>." + raw_body``)
       -> otherwise ``bad_signature``
    3. ``abs(now - t) <= tolerance`` -> otherwise ``stale_timestamp``
    4. the body is a JSON object with a non-empty string ``id``
       -> otherwise ``malformed_body``
    5. ``id`` not in ``seen_ids`` -> otherwise ``replayed``

    On success, append the ``id`` to ``seen_ids``; on failure leave it alone.
    """
    raise NotImplementedError("verify_webhook")


def validate_jwt(token: str, key: str, now: int, issuer: str, audience: str, leeway: int = 30) -> dict:
    """Validate an HS256 JSON Web Token and return its claims.

    Checks, in this order, raising ``AuthError`` at the first problem:
    ``malformed``, ``unsupported_alg`` (alg must be exactly "HS256"),
    ``bad_signature``, ``expired``, ``not_yet_valid``, ``wrong_issuer``,
    ``wrong_audience``. See README.md for each rule.
    """
    raise NotImplementedError("validate_jwt")
