"""OAuth 2.0 client credentials (RFC 6749 section 4.4) and Bearer checks (RFC 6750).

The token endpoint takes a form-encoded ``grant_type=client_credentials``
with the client authenticated by HTTP Basic or, per RFC 6749 section 2.3.1,
by ``client_id``/``client_secret`` in the form body (never both). Errors use
the OAuth JSON error format (section 5.2), not problem details, because that
is what OAuth client libraries parse. Resource routes answer a missing token
with a bare ``Bearer`` challenge and a bad one with ``error="invalid_token"``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import threading
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, unquote_plus

from .clock import VirtualClock
from .messages import Request, Response
from .problems import problem

__all__ = ["Credentials", "Token", "TokenIssuer"]

TOKEN_LIFETIME = 3600  # virtual seconds, the customary hour
_NO_STORE = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))
# RFC 6750 section 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


@dataclass(frozen=True)
class Credentials:
    """The lab's client credentials for one service (shown when a mock starts)."""

    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    token_path: str = "/oauth/token"


@dataclass(frozen=True)
class Token:
    """An access token the mock issued."""

    value: str
    client_id: str
    scopes: tuple[str, ...]
    issued_at: float
    expires_at: float


class TokenIssuer:
    """Authorization server and resource-server check for one fake system."""

    def __init__(self, realm: str, credentials: Credentials, clock: VirtualClock, seed: int) -> None:
        self.realm = realm
        self.credentials = credentials
        self._clock = clock
        self._seed = seed
        self._lock = threading.Lock()
        self._tokens: dict[str, Token] = {}
        self._issued = 0  # never reset, so a token from before reset() stays unknown

    def reset(self) -> None:
        """Forget every issued token."""
        with self._lock:
            self._tokens.clear()

    def tokens(self) -> tuple[Token, ...]:
        """Return every token issued since the last reset (graders count them)."""
        with self._lock:
            return tuple(self._tokens.values())

    def expire(self, value: str) -> bool:
        """Expire a token now (the ExpireToken fault); return whether it existed."""
        with self._lock:
            token = self._tokens.get(value)
            if token is None:
                return False
            self._tokens[value] = replace(token, expires_at=min(token.expires_at, self._clock.now()))
            return True

    # -- authorization server -------------------------------------------------

    def token_endpoint(self, request: Request) -> Response:
        """Answer POST /oauth/token per RFC 6749 sections 4.4.2, 4.4.3, 5.1 and 5.2."""
        if request.media_type() != "application/x-www-form-urlencoded":
            return _oauth_error(
                400, "invalid_request", "send the parameters form-encoded (application/x-www-form-urlencoded)"
            )
        try:
            pairs = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(request.body))
        except (UnicodeDecodeError, ValueError):
            return _oauth_error(400, "invalid_request", "the form body could not be parsed")
        names = [name for name, _ in pairs]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:  # section 3.2: parameters MUST NOT be included more than once
            return _oauth_error(400, "invalid_request", f"parameter sent more than once: {', '.join(repeated)}")
        form = dict(pairs)
        client, failure = self._authenticate_client(request, form)
        if failure is not None:
            return failure
        grant_type = form.get("grant_type")
        if not grant_type:
            return _oauth_error(400, "invalid_request", "grant_type is required")
        if grant_type != "client_credentials":
            return _oauth_error(
                400, "unsupported_grant_type", f"grant_type {grant_type!r} is not supported; use client_credentials"
            )
        requested = tuple(form["scope"].split()) if form.get("scope") else self.credentials.scopes
        unknown = [scope for scope in requested if scope not in self.credentials.scopes]
        if unknown:
            return _oauth_error(400, "invalid_scope", f"unknown scope: {' '.join(unknown)}")
        token = self._issue(client, requested)
        body = {
            "access_token": token.value,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "scope": " ".join(token.scopes),
        }
        return Response(200, (("Content-Type", "application/json"),) + _NO_STORE, json.dumps(body).encode())

    def _authenticate_client(self, request: Request, form: dict[str, str]) -> tuple[str, Response | None]:
        header = request.header("Authorization")
        if header is not None:
            if "client_secret" in form:  # section 2.3: one authentication method per request
                return "", _oauth_error(400, "invalid_request", "use HTTP Basic or form credentials, not both")
            scheme, _, encoded = header.strip().partition(" ")
            if scheme.lower() != "basic":
                return "", self._invalid_client("the token endpoint accepts HTTP Basic client authentication")
            try:
                decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return "", self._invalid_client("the Basic credentials are not valid base64")
            raw_id, sep, raw_secret = decoded.partition(":")
            if not sep:
                return "", self._invalid_client("the Basic credentials must be client_id:client_secret")
            # Section 2.3.1: id and secret are form-encoded before Basic encoding.
            client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        elif "client_id" in form or "client_secret" in form:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        else:
            return "", self._invalid_client("client authentication is required")
        good_id = hmac.compare_digest(client_id.encode(), self.credentials.client_id.encode())
        good_secret = hmac.compare_digest(secret.encode(), self.credentials.client_secret.encode())
        if not (good_id and good_secret):
            return "", self._invalid_client("unknown client or wrong client secret")
        return client_id, None

    def _invalid_client(self, description: str) -> Response:
        challenge = f'Basic realm="{self.realm}", charset="UTF-8"'
        return _oauth_error(401, "invalid_client", description, (("WWW-Authenticate", challenge),))

    def _issue(self, client_id: str, scopes: tuple[str, ...]) -> Token:
        with self._lock:
            self._issued += 1
            # Derived from the seed, so the same run issues the same tokens.
            digest = hashlib.sha256(f"{self.realm}|{self._seed}|{self._issued}".encode()).hexdigest()
            now = self._clock.now()
            token = Token(f"at_{digest[:40]}", client_id, scopes, now, now + TOKEN_LIFETIME)
            self._tokens[token.value] = token
            return token

    # -- resource server ------------------------------------------------------

    @staticmethod
    def presented(request: Request) -> str | None:
        """Return the Bearer token a request carries, or None."""
        scheme, _, value = (request.header("Authorization") or "").strip().partition(" ")
        return value.strip() or None if scheme.lower() == "bearer" else None

    def authorize(self, request: Request, scope: str) -> tuple[Token | None, Response | None]:
        """Check a request's Bearer token per RFC 6750 section 3; return (token, refusal)."""
        header = (request.header("Authorization") or "").strip()
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer":
            # Section 3.1: no credentials at all gets a challenge without an error code.
            return None, problem(
                401,
                "unauthorized",
                "send an access token: Authorization: Bearer <token>",
                request,
                (("WWW-Authenticate", f'Bearer realm="{self.realm}"'),),
            )
        value = value.strip()
        if not _B64TOKEN.fullmatch(value):
            return None, problem(
                400,
                "bad-request",
                "the Authorization header is not a valid Bearer credential",
                request,
                (("WWW-Authenticate", self._challenge("invalid_request", "malformed Bearer credential")),),
            )
        with self._lock:
            token = self._tokens.get(value)
        if token is None:
            return None, self._invalid_token(request, "the access token is unknown")
        if self._clock.now() >= token.expires_at:
            return None, self._invalid_token(request, "the access token expired")
        if scope not in token.scopes:
            challenge = (
                self._challenge("insufficient_scope", f"this operation needs scope {scope}") + f', scope="{scope}"'
            )
            return None, problem(
                403,
                "insufficient-scope",
                f"the access token lacks scope {scope}",
                request,
                (("WWW-Authenticate", challenge),),
            )
        return token, None

    def _invalid_token(self, request: Request, description: str) -> Response:
        challenge = self._challenge("invalid_token", description)
        return problem(401, "invalid-token", description, request, (("WWW-Authenticate", challenge),))

    def _challenge(self, error: str, description: str) -> str:
        return f'Bearer realm="{self.realm}", error="{error}", error_description="{description}"'


def _oauth_error(status: int, error: str, description: str, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    body = json.dumps({"error": error, "error_description": description}).encode()
    return Response(status, (("Content-Type", "application/json"),) + _NO_STORE + headers, body)
