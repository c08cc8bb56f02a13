"""Authenticate partner webhooks and bearer tokens.

Two entry points, standard library only:

- ``verify_webhook`` checks an HMAC-SHA256 signature over the timestamp and
  the raw body, the timestamp's age, and the delivery ID against the replay
  store, then returns the event.
- ``validate_jwt`` checks an HS256 JSON Web Token: structure, algorithm,
  signature, ``exp``/``nbf`` with leeway, ``iss`` and ``aud``.

Every failure raises :class:`AuthError` with a reason code from a closed set,
checked in the order the contract fixes, so a request fails for one
predictable reason.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from decimal import Decimal

__all__ = ["AuthError", "verify_webhook", "validate_jwt"]

SIGNATURE_HEADER = "webhook-signature"


class AuthError(Exception):
    """A webhook or token that must be refused; ``reason`` is a contract code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------
# Webhooks
# --------------------------------------------------------------------------


def _header(headers: dict, name: str) -> str | None:
    """A header's value, whatever the case of its name (HTTP names are case-insensitive)."""
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == name:
            return value
    return None


def _parse_signature_header(value: str | None) -> tuple[int, list[str]]:
    """``t=<unix seconds>,v1=<hex>[,v1=<hex>...]`` -> (timestamp, v1 signatures)."""
    if not isinstance(value, str):
        raise AuthError("malformed_header")
    timestamp = None
    signatures = []
    for item in value.split(","):
        key, sep, text = item.strip().partition("=")
        if not sep:
            continue  # an empty item, or one without "=": nothing to read
        if key == "t":
            timestamp = text
        elif key == "v1":
            signatures.append(text)
        # Other schemes (v0, V1, ...) are ignored: we only trust HMAC-SHA256.
    if timestamp is None or not timestamp.isascii() or not timestamp.isdigit() or not signatures:
        raise AuthError("malformed_header")
    return int(timestamp), signatures


def _webhook_signature(secret: str, timestamp: int, raw_body: bytes) -> bytes:
    # Normalise the payload first so that the signature does not depend on
    # how the body happened to be transmitted.
    try:
        payload = json.dumps(json.loads(raw_body)).encode("utf-8")
    except ValueError:
        payload = raw_body
    message = str(timestamp).encode("ascii") + b"." + payload
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest().encode("ascii")


def verify_webhook(headers: dict, raw_body: bytes, secret: str, now: int, seen_ids: list[str], tolerance: int = 300) -> dict:
    """Authenticate one webhook delivery and return its event.

    Checks, in order: the ``Webhook-Signature`` header's shape, the v1
    signature(s), the timestamp against ``now`` +/- ``tolerance`` seconds, the
    body (a JSON object with a string ``id``), and the replay store. Only an
    accepted delivery's ID is appended to ``seen_ids``.
    """
    timestamp, candidates = _parse_signature_header(_header(headers, SIGNATURE_HEADER))
    expected = _webhook_signature(secret, timestamp, raw_body)
    # compare_digest takes the same time wherever the first difference is, so
    # an attacker cannot guess a valid signature one character at a time.
    if not any(hmac.compare_digest(expected, candidate.encode("utf-8")) for candidate in candidates):
        raise AuthError("bad_signature")
    if abs(now - timestamp) > tolerance:
        raise AuthError("stale_timestamp")
    try:
        event = json.loads(raw_body, parse_float=Decimal)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep
        raise AuthError("malformed_body") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not event["id"]:
        raise AuthError("malformed_body")
    if event["id"] in seen_ids:
        raise AuthError("replayed")
    seen_ids.append(event["id"])
    return event


# --------------------------------------------------------------------------
# JWT (HS256)
# --------------------------------------------------------------------------


def _b64url_decode(segment: str) -> bytes:
    if not segment.isascii():
        raise AuthError("malformed")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise AuthError("malformed") from None


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json_object(segment: str) -> dict:
    try:
        value = json.loads(_b64url_decode(segment))
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep
        raise AuthError("malformed") from None
    if not isinstance(value, dict):
        raise AuthError("malformed")
    return value


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate_jwt(token: str, key: str, now: int, issuer: str, audience: str, leeway: int = 30) -> dict:
    """Validate an HS256 JWT and return its claims.

    Checks, in order: three base64url segments holding JSON objects, ``alg``
    exactly ``HS256``, the signature, ``exp`` (required) and ``nbf``
    (optional) with ``leeway`` seconds, ``iss`` and ``aud``.
    """
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise AuthError("malformed")
    header_b64, payload_b64, signature_b64 = parts
    header = _json_object(header_b64)
    claims = _json_object(payload_b64)
    # The algorithm is pinned by us, never chosen by the token: "none" or
    # another algorithm in the header is an attack, not a preference.
    if header.get("alg") != "HS256":
        raise AuthError("unsupported_alg")
    signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
    expected = _b64url_encode(hmac.new(key.encode("utf-8"), signing_input, hashlib.sha256).digest())
    if not hmac.compare_digest(expected.encode("ascii"), signature_b64.encode("utf-8")):
        raise AuthError("bad_signature")

    exp = claims.get("exp")
    if exp is None:
        raise AuthError("expired")  # a token that never expires is not accepted
    if not _number(exp):
        raise AuthError("malformed")
    if now >= exp + leeway:
        raise AuthError("expired")
    nbf = claims.get("nbf")
    if nbf is not None:
        if not _number(nbf):
            raise AuthError("malformed")
        if now < nbf - leeway:
            raise AuthError("not_yet_valid")
    if claims.get("iss") != issuer:
        raise AuthError("wrong_issuer")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if audience not in audiences:
        raise AuthError("wrong_audience")
    return claims
