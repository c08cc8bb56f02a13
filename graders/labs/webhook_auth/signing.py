"""Webhook signatures and compact JWS tokens, computed with the standard library.

Also used to build the visible fixtures.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json

__all__ = ["sign_webhook", "b64url", "make_jwt", "sign_segments"]


def sign_webhook(secret: str, timestamp: int, body: bytes) -> str:
    """The v1 signature: hex HMAC-SHA256 of ``b"<timestamp>." + body``."""
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()


def b64url(data: bytes) -> str:
    """Base64url without padding, as JWS segments are written."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_segments(key: str, signing_input: str, *, encoding: str = "b64url") -> str:
    """The HS256 signature of ``signing_input`` (segments as written), base64url or (a mistake) hex."""
    digest = hmac.new(key.encode("utf-8"), signing_input.encode("utf-8"), hashlib.sha256).digest()
    return digest.hex() if encoding == "hex" else b64url(digest)


def make_jwt(header: dict, claims, key: str, *, sign: str = "HS256") -> str:
    """A compact JWS; ``sign`` picks the MAC actually used ("none": empty signature)."""
    h = b64url(json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    p = b64url(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if sign == "none":
        return f"{h}.{p}."
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}[sign]
    return f"{h}.{p}.{b64url(hmac.new(key.encode('utf-8'), f'{h}.{p}'.encode('ascii'), digest).digest())}"
