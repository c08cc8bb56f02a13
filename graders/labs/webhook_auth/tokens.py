"""The hidden bearer tokens, group by group; each group isolates one rule and is otherwise valid.

Edge classes per criterion: every padding length of a segment; signatures
forged, truncated, padded, made with another key or MAC; segments that are
missing, extra, empty, not base64url, not ASCII or not JSON objects; exp and
nbf exactly at and one second past the leeway on both sides, with the
default and explicit leeways (0 included), as whole and non-whole numbers,
null, strings and booleans; iat ignored; iss and aud (a string, a list with
ours first or last, empty, null, look-alikes); alg none in each case, HS512,
HS384, RS256, missing, null, a list; and tokens breaking several rules at
once, where the first rule in the contract's table decides.
"""
from __future__ import annotations

import json
import random
import string

from .cases import DEFAULT_LEEWAY, Ordered, Token, word
from .signing import b64url, make_jwt, sign_segments

__all__ = ["token_groups"]

_DROP = object()


class _Issuer:
    """One identity provider: a key, an issuer, an audience, a clock."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.key = "jwk-" + word(rng, 40)
        self.issuer = f"https://login.{word(rng, 6, string.ascii_lowercase)}-idp.example/tenant/{word(rng, 8, string.digits)}"
        self.audience = f"api://erp-connector-{word(rng, 5, string.ascii_lowercase)}"
        self.now = 1_762_000_000 + rng.randrange(5_000_000)

    def claims(self, **changes) -> dict:
        """Valid claims for this issuer, with ``changes`` applied (``_DROP`` removes a claim)."""
        base = {"iss": self.issuer, "sub": "svc-" + word(self.rng, 10, string.ascii_lowercase),
                "aud": self.audience, "iat": self.now - 120, "exp": self.now + 900,
                "scope": self.rng.choice(["orders.read", "orders.write invoices.read", "stock.read"])}
        base.update(changes)
        return {k: v for k, v in base.items() if v is not _DROP}

    def token(self, label: str, claims, *, header: dict | None = None, sign: str = "HS256", key: str | None = None,
              leeway: int | None = None, expect=None, raw=_DROP) -> Token:
        """A token signed as told (or ``raw`` as is); ``expect`` defaults to its claims."""
        text = raw if raw is not _DROP else make_jwt(header or {"alg": "HS256", "typ": "JWT"}, claims,
                                                     key or self.key, sign=sign)
        return Token(label, text, self.key, self.now, self.issuer, self.audience, leeway,
                     claims if expect is None else expect)

    def signed(self, header_b64: str, claims_b64: str) -> str:
        """The contract's signature of two segments as written (so odd segments can still be signed)."""
        return sign_segments(self.key, f"{header_b64}.{claims_b64}")


def token_groups(rng: random.Random) -> dict:
    """Every token group, from the grader's seed."""
    p = _Issuer(rng)
    out = {}
    for build in (_valid, _bad_signature, _time, _issuer, _audience, _alg, _order):
        out.update(build(rng, p))
    return out


def _valid(rng, p: _Issuer) -> dict:
    """Criterion 7: valid tokens of every segment length, claim type and header shape."""
    valid = [
        p.token("plain", p.claims()),
        p.token("audience-list-ours-last", p.claims(aud=["api://reporting", p.audience])),
        p.token("audience-list-ours-first", p.claims(aud=[p.audience, "api://billing", "api://hr"])),
        p.token("audience-list-of-one", p.claims(aud=[p.audience])),
        p.token("with-nbf", p.claims(nbf=p.now - 5)),
        p.token("unicode-claims", p.claims(name="Zoë Ångström", tenant="Kraków-01")),
        p.token("kid-header", p.claims(roles=["sync", "reader"]), header={"alg": "HS256", "typ": "JWT", "kid": "k-2"}),
        p.token("no-typ-header", p.claims(), header={"alg": "HS256"}),
        p.token("nested-claims", p.claims(ctx={"tenant": {"id": 7, "region": "eu"}, "flags": [True, None, 2]})),
        p.token("future-iat-ignored", p.claims(iat=p.now + DEFAULT_LEEWAY + 3600)),
        p.token("no-iat", p.claims(iat=_DROP)),
    ]
    for pad in range(4):  # payload lengths whose segment needs 0, 1, 2 (and again 0) padding characters
        valid.append(p.token(f"length-{pad}", p.claims(jti=word(rng, 8 + pad))))
    return {"jwt_valid": tuple(valid)}


def _bad_signature(rng, p: _Issuer) -> dict:
    """Criterion 7: forged signatures (bad_signature) and tokens that are not three JSON segments (malformed)."""
    good = make_jwt({"alg": "HS256", "typ": "JWT"}, p.claims(), p.key)
    h, payload, sig = good.split(".")
    forged = b64url(json.dumps(p.claims(scope="admin"), separators=(",", ":")).encode())
    array_header = b64url(b'["HS256"]')
    not_utf8 = b64url(b'{"sub": "svc-\xff"}')
    return {"jwt_bad_signature": (
        p.token("payload-swapped", {}, raw=f"{h}.{forged}.{sig}", expect="bad_signature"),
        p.token("other-key", p.claims(), key="jwk-" + word(rng, 40), expect="bad_signature"),
        p.token("signature-truncated", {}, raw=f"{h}.{payload}.{sig[:20]}", expect="bad_signature"),
        p.token("signature-padded", {}, raw=f"{h}.{payload}.{sig}=", expect="bad_signature"),
        p.token("signature-empty", {}, raw=f"{h}.{payload}.", expect="bad_signature"),
        p.token("signature-hs512-under-hs256", p.claims(), sign="HS512", expect="bad_signature"),
        p.token("signature-hex-not-base64url", {}, expect="bad_signature",
                raw=f"{h}.{payload}.{sign_segments(p.key, f'{h}.{payload}', encoding='hex')}"),
        p.token("two-segments", {}, raw=f"{h}.{payload}", expect="malformed"),
        p.token("four-segments", {}, raw=f"{h}.{payload}.{sig}.{sig}", expect="malformed"),
        p.token("empty-header-segment", {}, raw=f".{payload}.{sig}", expect="malformed"),
        p.token("header-not-json", {}, raw=f"{b64url(b'alg=HS256')}.{payload}.{sig}", expect="malformed"),
        p.token("header-json-array", {}, raw=f"{array_header}.{payload}.{p.signed(array_header, payload)}",
                expect="malformed"),
        p.token("claims-not-object", {}, raw=make_jwt({"alg": "HS256"}, ["sub", "x"], p.key), expect="malformed"),
        p.token("claims-json-string", {}, raw=make_jwt({"alg": "HS256"}, "svc-sync", p.key), expect="malformed"),
        p.token("header-not-base64url", {}, raw=f"{h[:5]}.{payload}.{sig}", expect="malformed"),
        p.token("claims-not-ascii", {}, raw=f"{h}.{payload[:10]}é{payload[10:]}.{sig}", expect="malformed"),
        p.token("claims-not-utf8", {}, raw=f"{h}.{not_utf8}.{p.signed(h, not_utf8)}", expect="malformed"),
        p.token("no-token-at-all", {}, raw=None, expect="malformed"),
    )}


def _time(rng, p: _Issuer) -> dict:
    """Criterion 8: exp and nbf at the leeway's edges on both sides, default and explicit, of every type."""
    now, L = p.now, DEFAULT_LEEWAY
    return {"jwt_time": (
        p.token("expired", p.claims(exp=now - L - 40), expect="expired"),
        p.token("expired-at-leeway-edge", p.claims(exp=now - L), expect="expired"),
        p.token("expired-within-leeway", p.claims(exp=now - L + 1)),
        p.token("expired-half-a-second-past-edge", p.claims(exp=now - L - 0.5), expect="expired"),
        p.token("expired-half-a-second-within", p.claims(exp=now - L + 0.5)),
        p.token("no-exp", p.claims(exp=_DROP), expect="expired"),
        p.token("exp-null", p.claims(exp=None), expect="expired"),
        p.token("exp-string", p.claims(exp=str(now + 900)), expect="malformed"),
        p.token("exp-true", p.claims(exp=True), expect="malformed"),
        p.token("not-yet-valid", p.claims(nbf=now + L + 60), expect="not_yet_valid"),
        p.token("nbf-at-leeway-edge", p.claims(nbf=now + L)),
        p.token("nbf-one-second-past-edge", p.claims(nbf=now + L + 1), expect="not_yet_valid"),
        p.token("nbf-half-a-second-past-edge", p.claims(nbf=now + L + 0.5), expect="not_yet_valid"),
        p.token("nbf-null", p.claims(nbf=None)),
        p.token("nbf-string", p.claims(nbf=str(now)), expect="malformed"),
        p.token("nbf-false", p.claims(nbf=False), expect="malformed"),
        p.token("no-leeway-expired", p.claims(exp=now), leeway=0, expect="expired"),
        p.token("no-leeway-one-second-left", p.claims(exp=now + 1), leeway=0),
        p.token("no-leeway-nbf-now", p.claims(nbf=now), leeway=0),
        p.token("no-leeway-nbf-next-second", p.claims(nbf=now + 1), leeway=0, expect="not_yet_valid"),
        p.token("wide-leeway", p.claims(exp=now - 100), leeway=120),
        p.token("wide-leeway-edge", p.claims(exp=now - 120), leeway=120, expect="expired"),
        p.token("wide-leeway-nbf-edge", p.claims(nbf=now + 120), leeway=120),
        p.token("wide-leeway-nbf-past-edge", p.claims(nbf=now + 121), leeway=120, expect="not_yet_valid"),
    )}


def _issuer(rng, p: _Issuer) -> dict:
    """Criterion 9: iss must equal issuer exactly."""
    return {"jwt_issuer": (
        p.token("other-issuer", p.claims(iss=p.issuer.replace("login.", "login-test.")), expect="wrong_issuer"),
        p.token("issuer-trailing-slash", p.claims(iss=p.issuer + "/"), expect="wrong_issuer"),
        p.token("issuer-upper-case", p.claims(iss=p.issuer.upper()), expect="wrong_issuer"),
        p.token("issuer-in-a-list", p.claims(iss=[p.issuer]), expect="wrong_issuer"),
        p.token("issuer-null", p.claims(iss=None), expect="wrong_issuer"),
        p.token("no-issuer", p.claims(iss=_DROP), expect="wrong_issuer"),
    )}


def _audience(rng, p: _Issuer) -> dict:
    """Criterion 9: aud is audience, or a list holding it; nothing else."""
    return {"jwt_audience": (
        p.token("other-audience", p.claims(aud="api://hr-connector"), expect="wrong_audience"),
        p.token("audience-prefix", p.claims(aud=p.audience + "-staging"), expect="wrong_audience"),
        p.token("audience-substring", p.claims(aud=p.audience[:-2]), expect="wrong_audience"),
        p.token("audience-upper-case", p.claims(aud=p.audience.upper()), expect="wrong_audience"),
        p.token("audience-list-without-us", p.claims(aud=["api://reporting", "api://billing"]), expect="wrong_audience"),
        p.token("audience-list-empty", p.claims(aud=[]), expect="wrong_audience"),
        p.token("audience-list-nested", p.claims(aud=[[p.audience]]), expect="wrong_audience"),
        p.token("audience-null", p.claims(aud=None), expect="wrong_audience"),
        p.token("no-audience", p.claims(aud=_DROP), expect="wrong_audience"),
    )}


def _alg(rng, p: _Issuer) -> dict:
    """Criterion 10: anything but alg exactly "HS256" is refused before the signature is looked at."""
    claims = p.claims()
    hs256_signed_with = lambda alg: ".".join(  # noqa: E731
        [b64url(json.dumps({"alg": alg}).encode()), *make_jwt({"alg": "HS256"}, claims, p.key).split(".")[1:]])
    return {"jwt_alg": (
        p.token("alg-none", claims, header={"alg": "none", "typ": "JWT"}, sign="none", expect="unsupported_alg"),
        p.token("alg-none-with-signature", {}, expect="unsupported_alg", raw=hs256_signed_with("none")),
        p.token("alg-NONE", claims, header={"alg": "NONE"}, sign="none", expect="unsupported_alg"),
        p.token("alg-None", claims, header={"alg": "None"}, sign="none", expect="unsupported_alg"),
        p.token("alg-hs512", claims, header={"alg": "HS512", "typ": "JWT"}, sign="HS512", expect="unsupported_alg"),
        p.token("alg-hs384-hs256-signed", {}, raw=hs256_signed_with("HS384"), expect="unsupported_alg"),
        p.token("alg-rs256-hmac-signed", claims, header={"alg": "RS256", "typ": "JWT"}, expect="unsupported_alg"),
        p.token("alg-lower-case", {}, raw=hs256_signed_with("hs256"), expect="unsupported_alg"),
        p.token("alg-trailing-space", {}, raw=hs256_signed_with("HS256 "), expect="unsupported_alg"),
        p.token("alg-missing", claims, header={"typ": "JWT"}, expect="unsupported_alg"),
        p.token("alg-null", claims, header={"alg": None}, expect="unsupported_alg"),
        p.token("alg-in-a-list", claims, header={"alg": ["HS256"]}, expect="unsupported_alg"),
    )}


def _order(rng, p: _Issuer) -> dict:
    """Criterion 11: two problems in one token; the first rule in the contract's table decides."""
    now, L = p.now, DEFAULT_LEEWAY
    other = {"key": "jwk-" + word(rng, 40)}
    none = {"header": {"alg": "none"}, "sign": "none"}
    pairs = [  # (label, (claims change, token options) of the first rule, its reason, the same for the second)
        ("alg-none-and-claims-not-object", ({"claims": [1, 2]}, {}), "malformed", ({}, none), "unsupported_alg"),
        ("alg-hs512-and-bad-signature", ({}, {"header": {"alg": "HS512"}}), "unsupported_alg", ({}, other),
         "bad_signature"),
        ("alg-none-and-expired", ({}, none), "unsupported_alg", ({"exp": now - 3600}, {}), "expired"),
        ("bad-signature-and-expired", ({}, other), "bad_signature", ({"exp": now - 3600}, {}), "expired"),
        ("bad-signature-and-exp-string", ({}, other), "bad_signature", ({"exp": "soon"}, {}), "malformed"),
        ("bad-signature-and-wrong-audience", ({}, other), "bad_signature", ({"aud": "api://other"}, {}),
         "wrong_audience"),
        ("expired-and-not-yet-valid", ({"exp": now - 3600}, {}), "expired", ({"nbf": now + 3600}, {}),
         "not_yet_valid"),
        ("expired-and-wrong-issuer", ({"exp": now - L - 1}, {}), "expired", ({"iss": "https://evil.example"}, {}),
         "wrong_issuer"),
        ("no-exp-and-wrong-audience", ({"exp": _DROP}, {}), "expired", ({"aud": "api://other"}, {}), "wrong_audience"),
        ("not-yet-valid-and-wrong-issuer", ({"nbf": now + 3600}, {}), "not_yet_valid", ({"iss": None}, {}),
         "wrong_issuer"),
        ("wrong-issuer-and-wrong-audience", ({"iss": "https://evil.example"}, {}), "wrong_issuer", ({"aud": []}, {}),
         "wrong_audience"),
    ]

    def make(label, change: dict, options: dict, expect: str) -> Token:
        change = dict(change)
        claims = change.pop("claims") if "claims" in change else p.claims(**change)
        return p.token(label, claims, expect=expect, **options)

    out = []
    for label, (c1, o1), r1, (c2, o2), r2 in pairs:
        out.append(Ordered(label, make(label, {**c1, **c2}, {**o1, **o2}, r1), make(f"{label}/first", c1, o1, r1),
                           make(f"{label}/second", c2, o2, r2)))
    return {"jwt_order": tuple(out)}
