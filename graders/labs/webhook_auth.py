"""Hidden checks for webhook-auth: partner webhook signatures and HS256 bearer tokens.

Every signature and token is computed here with the standard library from a
fixed seed: other secrets, keys, issuers, audiences, clocks and delivery IDs
than the visible fixtures, so replaying the visible samples earns nothing.
Each group of deliveries or tokens isolates one property (raw body, window,
replay, algorithm, audience...) and is otherwise valid, so one mistake costs
the check it is about and not the rest.
"""
from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import json
import random
import string
from dataclasses import dataclass
from decimal import Decimal

from ..checks import Grader, failed, passed
from ..evidence import mismatch_table, show
from ..results import Dimension

MODULE = "webhooks"
HEADER = "Webhook-Signature"
DEFAULT_TOLERANCE = 300
DEFAULT_LEEWAY = 30

EVENT_TYPES = ["invoice.paid", "invoice.voided", "shipment.dispatched", "order.cancelled", "payment.refunded",
               "customer.updated", "subscription.renewed", "stock.adjusted"]
CURRENCIES = ["EUR", "GBP", "USD", "SEK", "JPY", "CHF"]
CITIES = ["Malmö", "Zürich", "São Paulo", "Kraków", "Orléans", "Reykjavík"]


# -- signing helpers (also used to build the visible fixtures) ---------------
def sign_webhook(secret: str, timestamp: int, body: bytes) -> str:
    """The v1 signature: hex HMAC-SHA256 of ``b"<timestamp>." + body``."""
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()


def b64url(data: bytes) -> str:
    """Base64url without padding, as JWS segments are written."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(header: dict, claims, key: str, *, sign: str = "HS256") -> str:
    """A compact JWS; ``sign`` picks the MAC actually used ("none": empty signature)."""
    h = b64url(json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    p = b64url(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if sign == "none":
        return f"{h}.{p}."
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}[sign]
    return f"{h}.{p}.{b64url(hmac.new(key.encode('utf-8'), f'{h}.{p}'.encode('ascii'), digest).digest())}"


# -- constant-time comparison, judged from the source text ---------------------
_DIGEST_CALLS = {"hexdigest", "digest"}
_EQUALITY = {ast.Eq: "==", ast.NotEq: "!=", ast.In: "in", ast.NotIn: "not in"}


def _call_name(node: ast.Call) -> str | None:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def _mentions_digest(node: ast.AST, tainted: set, producers: set) -> bool:
    """Does ``node`` compute or carry a MAC (len() of one does not count)?"""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Call):
            name = _call_name(item)
            if name in ("len", "compare_digest"):  # a length or a verdict, not the MAC itself
                continue
            if name in _DIGEST_CALLS or name in producers:
                return True
        if isinstance(item, ast.Name) and item.id in tainted:
            return True
        stack.extend(ast.iter_child_nodes(item))
    return False


def _tainted_names(fn: ast.AST, producers: set) -> set:
    """Names in ``fn`` assigned from a MAC computation, to a fixed point."""
    tainted: set = set()
    while True:
        before = len(tainted)
        for node in ast.walk(fn):
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and node.value is not None:
                if _mentions_digest(node.value, tainted, producers):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    tainted.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        if len(tainted) == before:
            return tainted


def constant_time_findings(source: str, entry_points: tuple[str, ...]) -> list[str]:
    """Problems with how each entry point compares MACs; empty when compare_digest does it."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return [f"{MODULE}.py cannot be parsed (line {exc.lineno}): {exc.msg}"]
    functions = {n.name: n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    aliases = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
               and n.module in ("hmac", "secrets") for a in n.names if a.name == "compare_digest"}
    producers: set = set()
    while True:  # helpers that return a MAC, e.g. def _sign(...): return hmac.new(...).hexdigest()
        before = len(producers)
        for name, fn in functions.items():
            tainted = _tainted_names(fn, producers)
            if any(isinstance(n, ast.Return) and n.value is not None and _mentions_digest(n.value, tainted, producers)
                   for n in ast.walk(fn)):
                producers.add(name)
        if len(producers) == before:
            break
    findings = []
    for entry in entry_points:
        if entry not in functions:
            findings.append(f"{MODULE}.py defines no {entry}()")
            continue
        reach, todo = {}, [entry]
        while todo:  # the entry point and every module function it calls, directly or not
            name = todo.pop()
            if name in reach or name not in functions:
                continue
            reach[name] = functions[name]
            todo.extend(_call_name(c) for c in ast.walk(functions[name]) if isinstance(c, ast.Call))
        uses_digest_compare = False
        for fn in reach.values():
            tainted = _tainted_names(fn, producers)
            for node in ast.walk(fn):
                if isinstance(node, ast.Call) and (_call_name(node) == "compare_digest" or _call_name(node) in aliases):
                    uses_digest_compare = True
                if isinstance(node, ast.Compare):
                    ops = [_EQUALITY[type(op)] for op in node.ops if type(op) in _EQUALITY]
                    if ops and any(_mentions_digest(x, tainted, producers) for x in [node.left, *node.comparators]):
                        findings.append(f"{entry}: line {node.lineno} compares a signature with `{ops[0]}`; use "
                                        "hmac.compare_digest, whose time does not depend on where the first difference is")
        if not uses_digest_compare:
            findings.append(f"{entry} never calls hmac.compare_digest to compare the signature")
    return findings


# -- hidden data ----------------------------------------------------------------
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


grader = Grader(seed=20261207, data=make_hidden)


# -- probes -------------------------------------------------------------------
def _deliver(run, deliveries, watch: bool = False):
    out = []
    for d in deliveries:
        kwargs = {} if d.tolerance is None else {"tolerance": d.tolerance}
        out.append(run.call(f"{MODULE}:verify_webhook", dict(d.headers), d.body, d.secret, d.now, list(d.seen),
                            watch_args=watch, **kwargs))
    return tuple(out)


def _validate(run, tokens):
    out = []
    for t in tokens:
        kwargs = {} if t.leeway is None else {"leeway": t.leeway}
        out.append(run.call(f"{MODULE}:validate_jwt", t.token, t.key, t.now, t.issuer, t.audience, **kwargs))
    return tuple(out)


for _group in ("valid", "raw_body", "bad_signature", "header_parsing", "stale", "replay"):
    grader.probe(_group)(lambda run, g=_group: _deliver(run, getattr(run.data, g)))
for _group in ("jwt_valid", "jwt_bad_signature", "jwt_time", "jwt_issuer", "jwt_audience", "jwt_alg"):
    grader.probe(_group)(lambda run, g=_group: _validate(run, getattr(run.data, g)))


@grader.probe("records")
def _probe_records(run):
    return _deliver(run, run.data.records, watch=True)


@grader.probe("source")
def _probe_source(run):
    """The learner's webhooks.py as plain text, read here and parsed, never executed."""
    # Run has no public path to the submission; a fresh sandbox knows it and
    # starts no process until it is called.
    with run.fresh() as sandbox:
        path = sandbox.submission / f"{MODULE}.py"
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None


# -- judging ------------------------------------------------------------------
def _outcome(record):
    """('accepted', value) | ('rejected', reason) | ('error', one line)."""
    if record.ok:
        return ("accepted", record.value)
    if record.error is not None and record.error.type == "AuthError" and isinstance(record.error.attrs.get("reason"), str):
        return ("rejected", record.error.attrs["reason"])
    return ("error", record.problem())


def _describe(outcome) -> str:
    kind, value = outcome
    if kind == "accepted":
        return f"accepted, returning {show(value, 70)}"
    if kind == "rejected":
        return f"AuthError reason {value!r}"
    return value


def _judge(records, cases, what: str, *, lenient_event: bool = False):
    rows = []
    for record, case in zip(records, cases):
        got = _outcome(record)
        if isinstance(case.expect, str):
            ok = got == ("rejected", case.expect)
            expected = f"AuthError reason {case.expect!r}"
        else:
            ok = got[0] == "accepted" and (
                got[1] == case.expect if not lenient_event
                else isinstance(got[1], dict) and got[1].get("id") == case.expect.get("id"))
            expected = "accepted, returning the parsed event" if isinstance(case, Delivery) else "accepted, returning the claims"
        if not ok:
            rows.append((case.label, [f"expected {expected}", f"got {_describe(got)}"]))
    if rows:
        return failed(f"{len(rows)} of {len(cases)} {what} handled wrongly", mismatch_table(rows, len(cases)))
    return passed(f"all {len(cases)} {what} handled correctly")


def _register(rows) -> None:
    """One check per row: (id, title, points, skill, criterion, probe = group of cases, what, dimension[, lenient])."""
    for check_id, title, points, skill, criterion, group, what, dimension, *lenient in rows:
        def judge(records, data, group=group, what=what, lenient=bool(lenient)):
            """Each case's outcome against the contract."""
            return _judge(records, getattr(data, group), what, lenient_event=lenient)

        grader.check(check_id, title=title, points=points, skill=skill, dimension=dimension, criterion=criterion,
                     probe=group)(judge)


_SEC, _API = Dimension.SECURITY, Dimension.API_DATA
_register([
    ("accepts-valid-delivery", "Valid deliveries are accepted", 10, "hmac-signatures", 1, "valid",
     "validly signed, fresh deliveries", _API),
    ("header-parsing", "Signature header parsed as specified", 7, "http-headers", 1, "header_parsing",
     "signature headers (name case, spacing, extra schemes, rotation, malformed)", _API),
    ("signs-raw-body", "Signature checked over the raw body bytes", 10, "hmac-signatures", 2, "raw_body",
     "deliveries whose bytes differ from a re-serialised copy", _SEC, True),
    ("rejects-bad-signature", "Forged or mismatched signatures are refused", 10, "hmac-signatures", 3,
     "bad_signature", "deliveries with a wrong signature", _SEC),
    ("rejects-stale-timestamp", "Timestamps outside the tolerance window are refused", 10, "replay-protection", 4,
     "stale", "deliveries around the edges of the tolerance window", _SEC),
    ("rejects-replay", "A delivery ID already seen is refused", 7, "replay-protection", 5, "replay",
     "redeliveries checked against the replay store", _SEC),
])


@grader.check("records-delivery-id", title="Only accepted deliveries are recorded", points=6, skill="replay-protection",
              dimension=Dimension.INTEGRATION, criterion=5, probe="records")
def check_records(records, data):
    """seen_ids after each call (watched in the child): the ID appended on acceptance only."""
    rows = []
    judged = 0
    for record, case in zip(records, data.records):
        got = _outcome(record)
        accepted_expected = not isinstance(case.expect, str)
        if (got[0] == "accepted") != accepted_expected or got[0] == "error":
            continue  # wrongly accepted or rejected: the check about that reason owns it
        judged += 1
        after = list(record.args_after[4]) if record.args_after and len(record.args_after) > 4 else None
        want = list(case.seen) + ([case.expect["id"]] if accepted_expected else [])
        if after != want:
            what = "accepted" if accepted_expected else f"rejected ({case.expect})"
            rows.append((case.label, [f"{what}: seen_ids should become {show(want, 80)}", f"it became {show(after, 80)}"]))
    if judged < 3:
        return failed(f"only {judged} of {len(data.records)} deliveries had the right outcome, too few to judge the "
                      "replay store", "see the other failed checks")
    if rows:
        return failed(f"seen_ids is wrong after {len(rows)} of {judged} deliveries: append the ID only once the "
                      "delivery is accepted", mismatch_table(rows, judged))
    return passed(f"seen_ids updated correctly after all {judged} deliveries")


@grader.check("constant-time-compare", title="Signatures compared in constant time", points=8, skill="timing-attacks",
              dimension=Dimension.SECURITY, criterion=6, probe="source")
def check_constant_time(source, data):
    """The learner's source, parsed here: compare_digest on the signature path of both entry points."""
    if source is None:
        return failed(f"{MODULE}.py could not be read as UTF-8 text")
    findings = constant_time_findings(source, ("verify_webhook", "validate_jwt"))
    if not findings:
        return passed("verify_webhook and validate_jwt compare signatures with hmac.compare_digest")
    return failed(findings[0] + " (read from your source, not run)", "\n".join(findings[:4]))


_register([
    ("jwt-accepts-valid", "Valid HS256 tokens return their claims", 8, "jwt-validation", 7, "jwt_valid",
     "valid tokens", _API),
    ("jwt-rejects-bad-signature", "Forged and malformed tokens are refused", 5, "jwt-validation", 7,
     "jwt_bad_signature", "forged or malformed tokens", _SEC),
    ("jwt-time-claims", "exp and nbf enforced with leeway", 6, "jwt-validation", 8, "jwt_time",
     "tokens around exp/nbf and the leeway", _SEC),
    ("jwt-issuer", "Tokens from another issuer are refused", 3, "jwt-validation", 9, "jwt_issuer",
     "tokens with a wrong or missing iss", _SEC),
    ("jwt-audience", "Tokens for another audience are refused", 4, "jwt-validation", 9, "jwt_audience",
     "tokens with a wrong or missing aud", _SEC),
    ("jwt-algorithm-pinned", "alg none and other algorithms are refused", 6, "jwt-validation", 10, "jwt_alg",
     "tokens whose header names another algorithm", _SEC),
])
