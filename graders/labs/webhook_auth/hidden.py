"""The hidden deliveries and tokens, from the grader's seed: each group feeds one probe and one check."""
from __future__ import annotations

import hashlib
import hmac
import json
import random
import string
from dataclasses import dataclass
from decimal import Decimal

from .signing import b64url, make_jwt, sign_webhook

__all__ = ["HEADER", "DEFAULT_TOLERANCE", "DEFAULT_LEEWAY", "Delivery", "Token", "Hidden", "make_hidden"]

HEADER = "Webhook-Signature"
DEFAULT_TOLERANCE = 300
DEFAULT_LEEWAY = 30

EVENT_TYPES = ["invoice.paid", "invoice.voided", "shipment.dispatched", "order.cancelled", "payment.refunded",
               "customer.updated", "subscription.renewed", "stock.adjusted"]
CURRENCIES = ["EUR", "GBP", "USD", "SEK", "JPY", "CHF"]
CITIES = ["Malmö", "Zürich", "São Paulo", "Kraków", "Orléans", "Reykjavík"]


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
    token: str
    key: str
    now: int
    issuer: str
    audience: str
    leeway: int | None
    expect: object  # the claims dict, or a reason code


@dataclass(frozen=True)
class Hidden:
    """Every group of hidden cases; each group feeds one probe and one check."""

    valid: tuple
    raw_body: tuple
    bad_signature: tuple
    header_parsing: tuple
    stale: tuple
    replay: tuple
    records: tuple
    jwt_valid: tuple
    jwt_bad_signature: tuple
    jwt_time: tuple
    jwt_issuer: tuple
    jwt_audience: tuple
    jwt_alg: tuple


def _word(rng: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _event(rng: random.Random, created: int) -> dict:
    """A partner event; amounts are strings (money is never a float)."""
    return {
        "id": "dlv_" + _word(rng, 18),
        "type": rng.choice(EVENT_TYPES),
        "created": created,
        "data": {
            "reference": f"INV-{rng.randrange(10**6):06d}",
            "amount": f"{rng.randrange(1, 10**6)}.{rng.randrange(100):02d}",
            "currency": rng.choice(CURRENCIES),
            "attempt": rng.randint(1, 4),
            "tags": rng.sample(["priority", "b2b", "eu", "retry", "manual"], 2),
        },
    }


PARSED = object()  # expect: the body as the contract parses it


class _Partner:
    """One partner: a secret and a clock; builds deliveries signed the way the partner signs them."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.secret = "whsec_" + _word(rng, 32)
        self.now = 1_761_000_000 + rng.randrange(5_000_000)

    def delivery(self, label: str, *, age: int = 0, seen=(), tolerance=None, expect=None, layout=json.dumps,
                 header=None, sent=None, name: str | None = HEADER) -> Delivery:
        """A delivery signed at ``now - age``; ``header``/``sent`` bend the signed header or the bytes sent."""
        event = _event(self.rng, self.now)
        # json.dumps' default layout unless told otherwise: re-serialising the
        # parsed JSON reproduces these bytes, so only signs-raw-body (other
        # layouts) catches that mistake.
        body = layout(event).encode("utf-8")
        t = self.now - age
        sig = sign_webhook(self.secret, t, body)
        headers = {"Content-Type": "application/json", "User-Agent": "PartnerHooks/2.3"}
        if name:
            headers[name] = header(t, body, sig) if header else f"t={t},v1={sig}"
        if expect is PARSED:
            expect = json.loads(body, parse_float=Decimal)
        return Delivery(label, headers, sent(body, event) if sent else body, self.secret, self.now,
                        tuple(seen(event) if callable(seen) else seen), tolerance, event if expect is None else expect)


def _webhooks(rng: random.Random) -> dict:
    w = _Partner(rng)
    ids = lambda n: tuple("dlv_" + _word(rng, 18) for _ in range(n))  # noqa: E731
    other_secret = lambda: "whsec_" + _word(rng, 32)  # noqa: E731
    with_data = lambda **extra: lambda e: {**e, "data": {**e["data"], **extra}}  # noqa: E731
    out: dict[str, tuple] = {}
    out["valid"] = tuple(w.delivery(f"valid-{i}", age=age, seen=ids(i)) for i, age in enumerate([0, 4, 37, 118, 240, -25]))
    out["raw_body"] = (
        w.delivery("raw-compact", layout=lambda e: json.dumps(e, separators=(",", ":")), expect=PARSED),
        w.delivery("raw-pretty", layout=lambda e: json.dumps(e, indent=2) + "\n", expect=PARSED),
        w.delivery("raw-utf8", layout=lambda e: json.dumps(with_data(city=rng.choice(CITIES))(e), ensure_ascii=False),
                   expect=PARSED),
        w.delivery("raw-escaped-slash", expect=PARSED, layout=lambda e: json.dumps(
            with_data(url="https://partner.example/inv/9")(e)).replace("/", "\\/")),
        w.delivery("raw-fraction", expect=PARSED, layout=lambda e: json.dumps(e).replace(
            f'"amount": "{e["data"]["amount"]}"', f'"amount": {e["data"]["amount"]}')),
        # Same JSON value, other bytes: what was signed is not what arrived.
        w.delivery("raw-whitespace-changed", age=3, expect="bad_signature",
                   sent=lambda b, e: json.dumps(e, separators=(",", ":")).encode("utf-8")),
    )
    out["bad_signature"] = tuple(w.delivery(label, age=2, expect="bad_signature", header=header, sent=sent) for label, header, sent in [
        ("tampered-amount", None, lambda b, e: b.replace(e["data"]["amount"].encode(), b"1" + e["data"]["amount"].encode())),
        ("other-secret", lambda t, b, sig: f"t={t},v1={sign_webhook(other_secret(), t, b)}", None),
        ("body-only-signed", lambda t, b, sig: f"t={t},v1={hmac.new(w.secret.encode(), b, hashlib.sha256).hexdigest()}", None),
        ("timestamp-swapped", lambda t, b, sig: f"t={t},v1={sign_webhook(w.secret, t - 60, b)}", None),
        ("truncated", lambda t, b, sig: f"t={t},v1={sig[:32]}", None),
        ("sha1-mac", lambda t, b, sig: f"t={t},v1={hmac.new(w.secret.encode(), f'{t}.'.encode() + b, hashlib.sha1).hexdigest()}", None),
    ])
    out["header_parsing"] = (
        w.delivery("lower-case-name", name="webhook-signature"),
        w.delivery("upper-case-name", name="WEBHOOK-SIGNATURE"),
        w.delivery("spaces-and-order", age=9, header=lambda t, b, sig: f" v1={sig} , t={t} "),
        w.delivery("unknown-scheme", header=lambda t, b, sig: f"t={t},v0={hashlib.md5(b).hexdigest()},v1={sig}"),
        w.delivery("rotated-secret", header=lambda t, b, sig: f"t={t},v1={sign_webhook(other_secret(), t, b)},v1={sig}"),
        w.delivery("no-timestamp", header=lambda t, b, sig: f"v1={sig}", expect="malformed_header"),
        w.delivery("timestamp-not-integer", header=lambda t, b, sig: f"t=2025-10-20T10:00:00Z,v1={sig}",
                   expect="malformed_header"),
        w.delivery("no-v1", header=lambda t, b, sig: f"t={t},v0={sig}", expect="malformed_header"),
        w.delivery("header-missing", name=None, expect="malformed_header"),
    )
    out["stale"] = (
        w.delivery("one-second-too-old", age=DEFAULT_TOLERANCE + 1, expect="stale_timestamp"),
        w.delivery("an-hour-old", age=3600 + rng.randrange(600), expect="stale_timestamp"),
        w.delivery("from-the-future", age=-(DEFAULT_TOLERANCE + 45), expect="stale_timestamp"),
        w.delivery("two-days-old", age=86_400 * 2, expect="stale_timestamp"),
        w.delivery("tight-window", age=61, tolerance=60, expect="stale_timestamp"),
        w.delivery("edge-of-window", age=DEFAULT_TOLERANCE),
        w.delivery("edge-of-tight-window", age=-60, tolerance=60),
        w.delivery("wide-window", age=450, tolerance=600),
    )
    out["replay"] = tuple(
        w.delivery(f"replayed-{i}", expect="replayed", seen=lambda e, i=i: rng.sample(ids(3 + i) + (e["id"],), 4 + i))
        for i in range(4)
    ) + (w.delivery("lookalike-ids-only", seen=lambda e: (e["id"] + "0", e["id"][:-1], e["id"].upper())),)
    out["records"] = (
        w.delivery("accepted", seen=ids(2)),
        w.delivery("accepted-empty-store"),
        w.delivery("bad-signature", expect="bad_signature",
                   header=lambda t, b, sig: f"t={t},v1={sign_webhook(other_secret(), t, b)}"),
        w.delivery("stale", age=DEFAULT_TOLERANCE + 200, seen=ids(1), expect="stale_timestamp"),
        w.delivery("replayed", seen=lambda e: (e["id"],), expect="replayed"),
    )
    return out


class _Issuer:
    """One identity provider: a key, an issuer, an audience, a clock."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.key = "jwk-" + _word(rng, 40)
        self.issuer = f"https://login.{_word(rng, 6, string.ascii_lowercase)}-idp.example/tenant/{_word(rng, 8, string.digits)}"
        self.audience = f"api://erp-connector-{_word(rng, 5, string.ascii_lowercase)}"
        self.now = 1_762_000_000 + rng.randrange(5_000_000)

    def claims(self, **changes) -> dict:
        """Valid claims for this issuer, with ``changes`` applied (``_DROP`` removes a claim)."""
        base = {"iss": self.issuer, "sub": "svc-" + _word(self.rng, 10, string.ascii_lowercase),
                "aud": self.audience, "iat": self.now - 120, "exp": self.now + 900,
                "scope": self.rng.choice(["orders.read", "orders.write invoices.read", "stock.read"])}
        base.update(changes)
        return {k: v for k, v in base.items() if v is not _DROP}

    def token(self, label: str, claims: dict, *, header: dict | None = None, sign: str = "HS256", key: str | None = None,
              leeway: int | None = None, expect=None, raw: str | None = None) -> Token:
        """A token signed as told (or ``raw`` as is); ``expect`` defaults to its claims."""
        text = raw if raw is not None else make_jwt(header or {"alg": "HS256", "typ": "JWT"}, claims,
                                                    key or self.key, sign=sign)
        return Token(label, text, self.key, self.now, self.issuer, self.audience, leeway,
                     claims if expect is None else expect)


_DROP = object()


def _tokens(rng: random.Random) -> dict:
    p = _Issuer(rng)
    out: dict[str, tuple] = {}
    valid = [
        p.token("plain", p.claims()),
        p.token("audience-list", p.claims(aud=["api://reporting", p.audience])),
        p.token("with-nbf", p.claims(nbf=p.now - 5)),
        p.token("unicode-claims", p.claims(name="Zoë Ångström", tenant="Kraków-01")),
        p.token("kid-header", p.claims(roles=["sync", "reader"]), header={"alg": "HS256", "typ": "JWT", "kid": "k-2"}),
    ]
    for pad in range(3):  # payload lengths that need 0, 1 and 2 padding characters
        claims = p.claims(jti=_word(rng, 8 + pad))
        valid.append(p.token(f"length-{pad}", claims))
    out["jwt_valid"] = tuple(valid)

    good = make_jwt({"alg": "HS256", "typ": "JWT"}, p.claims(), p.key)
    h, payload, sig = good.split(".")
    forged = b64url(json.dumps(p.claims(scope="admin"), separators=(",", ":")).encode())
    out["jwt_bad_signature"] = (
        p.token("payload-swapped", {}, raw=f"{h}.{forged}.{sig}", expect="bad_signature"),
        p.token("other-key", p.claims(), key="jwk-" + _word(rng, 40), expect="bad_signature"),
        p.token("signature-truncated", {}, raw=f"{h}.{payload}.{sig[:20]}", expect="bad_signature"),
        p.token("two-segments", {}, raw=f"{h}.{payload}", expect="malformed"),
        p.token("four-segments", {}, raw=f"{h}.{payload}.{sig}.{sig}", expect="malformed"),
        p.token("header-not-json", {}, raw=f"{b64url(b'alg=HS256')}.{payload}.{sig}", expect="malformed"),
        p.token("claims-not-object", {}, raw=make_jwt({"alg": "HS256"}, ["sub", "x"], p.key), expect="malformed"),
    )

    now = p.now
    out["jwt_time"] = (
        p.token("expired", p.claims(exp=now - DEFAULT_LEEWAY - 40), expect="expired"),
        p.token("expired-at-leeway-edge", p.claims(exp=now - DEFAULT_LEEWAY), expect="expired"),
        p.token("expired-within-leeway", p.claims(exp=now - DEFAULT_LEEWAY + 1)),
        p.token("no-exp", p.claims(exp=_DROP), expect="expired"),
        p.token("not-yet-valid", p.claims(nbf=now + DEFAULT_LEEWAY + 60), expect="not_yet_valid"),
        p.token("nbf-within-leeway", p.claims(nbf=now + DEFAULT_LEEWAY)),
        p.token("no-leeway", p.claims(exp=now), leeway=0, expect="expired"),
        p.token("wide-leeway", p.claims(exp=now - 100), leeway=120),
    )
    out["jwt_issuer"] = (
        p.token("other-issuer", p.claims(iss=p.issuer.replace("login.", "login-test.")), expect="wrong_issuer"),
        p.token("issuer-trailing-slash", p.claims(iss=p.issuer + "/"), expect="wrong_issuer"),
        p.token("no-issuer", p.claims(iss=_DROP), expect="wrong_issuer"),
    )
    out["jwt_audience"] = (
        p.token("other-audience", p.claims(aud="api://hr-connector"), expect="wrong_audience"),
        p.token("audience-prefix", p.claims(aud=p.audience + "-staging"), expect="wrong_audience"),
        p.token("audience-list-without-us", p.claims(aud=["api://reporting", "api://billing"]), expect="wrong_audience"),
        p.token("no-audience", p.claims(aud=_DROP), expect="wrong_audience"),
    )
    claims = p.claims()
    out["jwt_alg"] = (
        p.token("alg-none", claims, header={"alg": "none", "typ": "JWT"}, sign="none", expect="unsupported_alg"),
        p.token("alg-none-with-signature", {}, expect="unsupported_alg",
                raw=".".join([b64url(b'{"alg":"none"}'), *make_jwt({"alg": "HS256"}, claims, p.key).split(".")[1:]])),
        p.token("alg-NONE", claims, header={"alg": "NONE"}, sign="none", expect="unsupported_alg"),
        p.token("alg-hs512", claims, header={"alg": "HS512", "typ": "JWT"}, sign="HS512", expect="unsupported_alg"),
        p.token("alg-rs256-hmac-signed", claims, header={"alg": "RS256", "typ": "JWT"}, expect="unsupported_alg"),
        p.token("alg-missing", claims, header={"typ": "JWT"}, expect="unsupported_alg"),
    )
    return out


def make_hidden(rng: random.Random) -> Hidden:
    """The hidden deliveries and tokens, from the grader's seed."""
    return Hidden(**_webhooks(rng), **_tokens(rng))
