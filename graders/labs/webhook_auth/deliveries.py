"""The hidden webhook deliveries, group by group; each group isolates one rule and is otherwise valid.

Edge classes per criterion: the valid v1 first, in the middle and last among
several, ``t`` in every position, header names and item names in each case,
empty and truncated items; timestamps exactly at and one second past the
window on both sides, with the default and explicit tolerances (0 included);
bodies that are not a JSON object with a non-empty string id; the replay
store hit at its start, middle and end; and deliveries that break several
rules at once, where the first rule in the contract's table decides.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
from decimal import Decimal

from .cases import DEFAULT_TOLERANCE, HEADER, Delivery, Ordered, word
from .signing import sign_webhook

__all__ = ["webhook_groups"]

EVENT_TYPES = ["invoice.paid", "invoice.voided", "shipment.dispatched", "order.cancelled", "payment.refunded",
               "customer.updated", "subscription.renewed", "stock.adjusted"]
CURRENCIES = ["EUR", "GBP", "USD", "SEK", "JPY", "CHF"]
CITIES = ["Malmö", "Zürich", "São Paulo", "Kraków", "Orléans", "Reykjavík"]
PARSED = object()  # expect: the body as the contract parses it (json.loads with parse_float=Decimal)


def _event(rng: random.Random, created: int) -> dict:
    """A partner event; amounts are strings (money is never a float)."""
    return {
        "id": "dlv_" + word(rng, 18),
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


class _Partner:
    """One partner: a secret and a clock; builds deliveries signed the way the partner signs them."""

    def __init__(self, rng: random.Random, secret: str | None = None):
        self.rng = rng
        self.secret = secret or "whsec_" + word(rng, 32)
        self.now = 1_761_000_000 + rng.randrange(5_000_000)

    def delivery(self, label: str, *, age: int = 0, seen=(), tolerance=None, expect=None, layout=json.dumps,
                 header=None, sent=None, name: str | None = HEADER, event=None) -> Delivery:
        """A delivery signed at ``now - age``; ``header``/``sent``/``event`` bend the header, the bytes or the body."""
        event = _event(self.rng, self.now) if event is None else event(_event(self.rng, self.now))
        # json.dumps' default layout unless told otherwise: re-serialising the
        # parsed JSON reproduces these bytes, so only signs-raw-body (other
        # layouts) catches that mistake.
        body = event if isinstance(event, bytes) else layout(event).encode("utf-8")
        t = self.now - age
        sig = sign_webhook(self.secret, t, body)
        headers = {"Content-Type": "application/json", "User-Agent": "PartnerHooks/2.3"}
        if name:
            headers[name] = header(t, body, sig) if header else f"t={t},v1={sig}"
        if expect is PARSED:
            expect = json.loads(body, parse_float=Decimal)
        return Delivery(label, headers, sent(body, event) if sent else body, self.secret, self.now,
                        tuple(seen(event) if callable(seen) else seen), tolerance, event if expect is None else expect)


def webhook_groups(rng: random.Random) -> dict:
    """Every webhook group, from the grader's seed."""
    w = _Partner(rng)
    out = {}
    for build in (_valid, _raw_body, _bad_signature, _header_parsing, _stale, _malformed_body, _replay, _records,
                  _order):
        out.update(build(rng, w))
    return out


def _ids(rng, n: int) -> tuple:
    return tuple("dlv_" + word(rng, 18) for _ in range(n))


def _other_secret(rng) -> str:
    return "whsec_" + word(rng, 32)


def _numbers(event: dict) -> str:
    """JSON with every "@1.50@" string written as the bare number 1.50 (what json.dumps cannot write from a float)."""
    return json.dumps(event).replace('"@', "").replace('@"', "")


def _with_data(**extra):
    return lambda e: {**e, "data": {**e["data"], **extra}}


def _valid(rng, w: _Partner) -> dict:
    """Criterion 1: fresh, validly signed deliveries; numbers in the body parsed as Decimal, never float."""
    valid = [w.delivery(f"valid-{i}", age=age, seen=_ids(rng, i)) for i, age in enumerate([0, 4, 37, 118, 240, -25])]
    # Bare numbers whose float repr is their text: a re-serialised body would still match (signs-raw-body's
    # business), so only returning floats instead of Decimals is caught here.
    amount = f"{rng.randrange(1, 10**5)}.{rng.randrange(1, 10)}{rng.randrange(1, 10)}"
    valid.append(w.delivery("numeric-amounts", expect=PARSED, layout=_numbers, event=_with_data(
        amount=f"@{amount}@", fee="@0.5@", rate="@1.0825@", lines=[{"qty": 2, "price": "@19.99@"}])))
    # The secret is text: its UTF-8 bytes are the HMAC key, whatever characters it holds.
    utf8 = _Partner(rng, "whsec_" + word(rng, 12) + "-äöü€-" + word(rng, 12))
    valid.append(utf8.delivery("non-ascii-secret"))
    return {"valid": tuple(valid)}


def _raw_body(rng, w: _Partner) -> dict:
    """Criterion 2: the same JSON value written other ways; the signature covers these exact bytes."""
    return {"raw_body": (
        w.delivery("raw-compact", layout=lambda e: json.dumps(e, separators=(",", ":")), expect=PARSED),
        w.delivery("raw-pretty", layout=lambda e: json.dumps(e, indent=2) + "\n", expect=PARSED),
        w.delivery("raw-utf8", layout=lambda e: json.dumps(_with_data(city=rng.choice(CITIES))(e), ensure_ascii=False),
                   expect=PARSED),
        w.delivery("raw-escaped-slash", expect=PARSED, layout=lambda e: json.dumps(
            _with_data(url="https://partner.example/inv/9")(e)).replace("/", "\\/")),
        w.delivery("raw-fraction", expect=PARSED, layout=lambda e: json.dumps(e).replace(
            f'"amount": "{e["data"]["amount"]}"', f'"amount": {e["data"]["amount"]}')),
        w.delivery("raw-unicode-escapes", expect=PARSED, layout=lambda e: json.dumps(
            _with_data(city=rng.choice(CITIES))(e), ensure_ascii=True)),
        w.delivery("raw-exponent", expect=PARSED, layout=lambda e: json.dumps(e).replace(
            f'"attempt": {e["data"]["attempt"]}', '"attempt": 1, "fx": 1.5e3')),
        w.delivery("raw-keys-reordered", expect=PARSED, layout=lambda e: json.dumps(dict(reversed(list(e.items()))))),
        # Same JSON value, other bytes: what was signed is not what arrived.
        w.delivery("raw-whitespace-changed", age=3, expect="bad_signature",
                   sent=lambda b, e: json.dumps(e, separators=(",", ":")).encode("utf-8")),
        w.delivery("raw-trailing-newline-added", age=3, expect="bad_signature", sent=lambda b, e: b + b"\n"),
    )}


def _bad_signature(rng, w: _Partner) -> dict:
    """Criterion 3: every way a signature fails to match, with everything else valid."""
    def mac(key: bytes, message: bytes, digest=hashlib.sha256) -> str:
        return hmac.new(key, message, digest).hexdigest()

    b64 = lambda t, b, sig: base64.b64encode(bytes.fromhex(sig)).decode()  # noqa: E731
    cases = [
        ("tampered-amount", None, lambda b, e: b.replace(e["data"]["amount"].encode(), b"1" + e["data"]["amount"].encode())),
        ("other-secret", lambda t, b, sig: f"t={t},v1={sign_webhook(_other_secret(rng), t, b)}", None),
        ("body-only-signed", lambda t, b, sig: f"t={t},v1={mac(w.secret.encode(), b)}", None),
        ("timestamp-swapped", lambda t, b, sig: f"t={t},v1={sign_webhook(w.secret, t - 60, b)}", None),
        ("truncated", lambda t, b, sig: f"t={t},v1={sig[:32]}", None),
        ("sha1-mac", lambda t, b, sig: f"t={t},v1={mac(w.secret.encode(), f'{t}.'.encode() + b, hashlib.sha1)}", None),
        ("sha512-mac", lambda t, b, sig: f"t={t},v1={mac(w.secret.encode(), f'{t}.'.encode() + b, hashlib.sha512)}", None),
        ("base64-mac", lambda t, b, sig: f"t={t},v1={b64(t, b, sig)}", None),  # "=" inside the value: still a v1
        ("no-dot-separator", lambda t, b, sig: f"t={t},v1={mac(w.secret.encode(), f'{t}'.encode() + b)}", None),
        ("empty-v1", lambda t, b, sig: f"t={t},v1=", None),
        ("three-wrong-v1", lambda t, b, sig: ",".join([f"t={t}"] + [f"v1={sign_webhook(_other_secret(rng), t, b)}"
                                                                     for _ in range(3)]), None),
        ("valid-v1-under-v0", lambda t, b, sig: f"t={t},v0={sig},v1={sig[::-1]}", None),
    ]
    return {"bad_signature": tuple(w.delivery(label, age=2, expect="bad_signature", header=header, sent=sent)
                                   for label, header, sent in cases)}


def _header_parsing(rng, w: _Partner) -> dict:
    """Criterion 1: names in any case, items in any order and spacing, the valid v1 in every position."""
    other = lambda t, b: sign_webhook(_other_secret(rng), t, b)  # noqa: E731
    md5 = lambda b: hashlib.md5(b).hexdigest()  # noqa: E731
    return {"header_parsing": (
        w.delivery("lower-case-name", name="webhook-signature"),
        w.delivery("upper-case-name", name="WEBHOOK-SIGNATURE"),
        w.delivery("mixed-case-name", name="webhook-Signature"),
        w.delivery("spaces-and-order", age=9, header=lambda t, b, sig: f" v1={sig} , t={t} "),
        w.delivery("spaces-everywhere", header=lambda t, b, sig: f"   t={t} ,   v1={sig}   "),
        w.delivery("t-between-v1s", header=lambda t, b, sig: f"v1={other(t, b)},t={t},v1={sig}"),
        w.delivery("unknown-scheme-first", header=lambda t, b, sig: f"v0={md5(b)},t={t},v1={sig}"),
        w.delivery("unknown-scheme-last", header=lambda t, b, sig: f"t={t},v1={sig},v0={md5(b)}"),
        w.delivery("valid-v1-first-of-three", header=lambda t, b, sig: f"t={t},v1={sig},v1={other(t, b)},v1={other(t, b)}"),
        w.delivery("valid-v1-middle-of-three", header=lambda t, b, sig: f"t={t},v1={other(t, b)},v1={sig},v1={other(t, b)}"),
        w.delivery("valid-v1-last-of-three", header=lambda t, b, sig: f"t={t},v1={other(t, b)},v1={other(t, b)},v1={sig}"),
        w.delivery("empty-item", header=lambda t, b, sig: f"t={t},,v1={sig}"),
        w.delivery("upper-case-item-names-and-v1", header=lambda t, b, sig: f"t={t},V1={other(t, b)},T=1,v1={sig}"),
        w.delivery("no-timestamp", header=lambda t, b, sig: f"v1={sig}", expect="malformed_header"),
        w.delivery("timestamp-not-integer", header=lambda t, b, sig: f"t=2025-10-20T10:00:00Z,v1={sig}",
                   expect="malformed_header"),
        w.delivery("timestamp-negative", header=lambda t, b, sig: f"t=-{t},v1={sig}", expect="malformed_header"),
        w.delivery("timestamp-decimal", header=lambda t, b, sig: f"t={t}.0,v1={sig}", expect="malformed_header"),
        w.delivery("timestamp-empty", header=lambda t, b, sig: f"t=,v1={sig}", expect="malformed_header"),
        w.delivery("timestamp-other-digits", header=lambda t, b, sig: f"t={str(t).translate(_ARABIC)},v1={sig}",
                   expect="malformed_header"),
        w.delivery("upper-case-T", header=lambda t, b, sig: f"T={t},v1={sig}", expect="malformed_header"),
        w.delivery("no-v1", header=lambda t, b, sig: f"t={t},v0={sig}", expect="malformed_header"),
        w.delivery("only-upper-case-V1", header=lambda t, b, sig: f"t={t},V1={sig}", expect="malformed_header"),
        w.delivery("v1-without-value-separator", header=lambda t, b, sig: f"t={t},v1", expect="malformed_header"),
        w.delivery("header-empty", header=lambda t, b, sig: "", expect="malformed_header"),
        w.delivery("header-null", header=lambda t, b, sig: None, expect="malformed_header"),
        w.delivery("header-missing", name=None, expect="malformed_header"),
    )}


_ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")  # digits to str.isdigit(), not to the contract


def _stale(rng, w: _Partner) -> dict:
    """Criterion 4: exactly at and one second past the window, in the past and the future, default and explicit."""
    T = DEFAULT_TOLERANCE
    return {"stale": (
        w.delivery("one-second-too-old", age=T + 1, expect="stale_timestamp"),
        w.delivery("one-second-too-new", age=-(T + 1), expect="stale_timestamp"),
        w.delivery("edge-of-window-past", age=T),
        w.delivery("edge-of-window-future", age=-T),
        w.delivery("an-hour-old", age=3600 + rng.randrange(600), expect="stale_timestamp"),
        w.delivery("two-days-old", age=86_400 * 2, expect="stale_timestamp"),
        w.delivery("from-the-future", age=-(T + 45), expect="stale_timestamp"),
        w.delivery("tight-window-past", age=61, tolerance=60, expect="stale_timestamp"),
        w.delivery("tight-window-future", age=-61, tolerance=60, expect="stale_timestamp"),
        w.delivery("edge-of-tight-window-past", age=60, tolerance=60),
        w.delivery("edge-of-tight-window-future", age=-60, tolerance=60),
        w.delivery("wide-window", age=450, tolerance=600),
        w.delivery("wide-window-future", age=-599, tolerance=600),
        w.delivery("zero-tolerance-now", age=0, tolerance=0),
        w.delivery("zero-tolerance-one-second", age=1, tolerance=0, expect="stale_timestamp"),
    )}


def _malformed_body(rng, w: _Partner) -> dict:
    """Criterion 1: signed, fresh bodies that are not a JSON object with a non-empty string id."""
    def raw(data: bytes):
        return lambda e: data

    event = lambda **change: lambda e: {k: v for k, v in {**e, **change}.items() if v is not _DROP}  # noqa: E731
    cases = [
        ("not-json", raw(b"event=invoice.paid&id=" + word(rng, 10).encode())),
        ("json-array", raw(json.dumps([{"id": "dlv_" + word(rng, 18)}]).encode())),
        ("json-string", raw(b'"dlv_' + word(rng, 18).encode() + b'"')),
        ("empty-body", raw(b"")),
        ("invalid-utf8", raw(b'{"id": "dlv_\xff\xfe", "type": "invoice.paid"}')),
        ("id-missing", event(id=_DROP)),
        ("id-empty", event(id="")),
        ("id-number", event(id=rng.randrange(10**6, 10**7))),
        ("id-null", event(id=None)),
        ("id-true", event(id=True)),
        ("id-list", event(id=["dlv_" + word(rng, 18)])),
    ]
    return {"malformed_body": tuple(w.delivery(f"body-{label}", event=make, expect="malformed_body")
                                    for label, make in cases)}


_DROP = object()


def _replay(rng, w: _Partner) -> dict:
    """Criterion 5: the id first, in the middle and last of the store; look-alike ids only."""
    cases = []
    for i, where in enumerate(("first", "middle", "last", "only")):
        def seen(e, where=where, i=i):
            others = list(_ids(rng, 0 if where == "only" else 4 + i))
            at = {"first": 0, "middle": len(others) // 2, "last": len(others), "only": 0}[where]
            return tuple(others[:at] + [e["id"]] + others[at:])
        cases.append(w.delivery(f"replayed-{where}", expect="replayed", seen=seen))
    cases.append(w.delivery("lookalike-ids-only", seen=lambda e: (e["id"] + "0", e["id"][:-1], e["id"].upper(),
                                                                   " " + e["id"])))
    cases.append(w.delivery("large-store", seen=_ids(rng, 300)))
    return {"replay": tuple(cases)}


def _records(rng, w: _Partner) -> dict:
    """Criterion 5: seen_ids after each call: the id appended on acceptance only, never on a refusal."""
    return {"records": (
        w.delivery("accepted", seen=_ids(rng, 2)),
        w.delivery("accepted-empty-store"),
        w.delivery("bad-signature", expect="bad_signature", seen=_ids(rng, 1),
                   header=lambda t, b, sig: f"t={t},v1={sign_webhook(_other_secret(rng), t, b)}"),
        w.delivery("stale", age=DEFAULT_TOLERANCE + 200, seen=_ids(rng, 1), expect="stale_timestamp"),
        w.delivery("replayed", seen=lambda e: (e["id"],), expect="replayed"),
        w.delivery("malformed-header", seen=_ids(rng, 2), expect="malformed_header",
                   header=lambda t, b, sig: f"v1={sig}"),
        w.delivery("malformed-body", seen=_ids(rng, 1), expect="malformed_body",
                   event=lambda e: {**e, "id": ""}),
    )}


def _order(rng, w: _Partner) -> dict:
    """Criterion 11: two problems in one delivery; the first rule in the contract's table decides."""
    wrong = lambda t, b, sig: f"t={t},v1={sign_webhook(_other_secret(rng), t, b)}"  # noqa: E731
    stale, future, T = {"age": DEFAULT_TOLERANCE + 120}, {"age": -(DEFAULT_TOLERANCE + 120)}, DEFAULT_TOLERANCE
    bad_sig, replayed = {"header": wrong}, {"seen": lambda e: (e["id"],)}
    pairs = [  # (label, first rule's change, its reason, second rule's change, its reason[, both changes])
        ("no-v1-and-stale", {"header": lambda t, b, sig: f"t={t}"}, "malformed_header", {"age": T + 500},
         "stale_timestamp"),
        ("no-t-and-bad-signature", {"header": lambda t, b, sig: f"v1={sig}"}, "malformed_header", bad_sig,
         "bad_signature", {"header": lambda t, b, sig: f"v1={sign_webhook(_other_secret(rng), t, b)}"}),
        ("bad-signature-and-stale", bad_sig, "bad_signature", stale, "stale_timestamp"),
        ("bad-signature-and-future", bad_sig, "bad_signature", future, "stale_timestamp"),
        ("bad-signature-and-malformed-body", bad_sig, "bad_signature", {"event": lambda e: b"not json"},
         "malformed_body"),
        ("bad-signature-and-replayed", bad_sig, "bad_signature", replayed, "replayed"),
        ("stale-and-malformed-body", stale, "stale_timestamp", {"event": lambda e: {**e, "id": 42}}, "malformed_body"),
        ("stale-and-replayed", stale, "stale_timestamp", replayed, "replayed"),
        ("malformed-body-and-replayed-id", {"event": lambda e: {**e, "id": ""}}, "malformed_body", replayed,
         "replayed"),
    ]
    out = []
    for label, first, first_reason, second, second_reason, *both in pairs:
        merged = {**first, **second, **(both[0] if both else {})}
        out.append(Ordered(label, w.delivery(label, expect=first_reason, **merged),
                           w.delivery(f"{label}/first", expect=first_reason, **first),
                           w.delivery(f"{label}/second", expect=second_reason, **second)))
    return {"webhook_order": tuple(out)}
