"""Hidden checks for pii-logging: a logging filter that masks secrets and personal data, and nothing else.

Hidden log records, generated from a fixed seed, go through the learner's
``PiiFilter`` and ``JsonFormatter`` inside the sandbox (the trusted harness
``_iclab_pii_logging`` builds and emits them). Here, the output is scanned:

- every planted secret has *fragments* (its distinctive pieces); if any
  fragment survives, the secret leaked, even when it was masked in part;
- every safe value (correlation ID, order number, timestamp, amount) must
  survive verbatim, and so must each record's plain context words.

A check owns one kind of data. The records in ``message`` hold one kind each
and no args, so a rule that is missing costs only its own check. The args
and extras checks count only kinds the filter already masks in a plain
message, so a filter that ignores args loses those two checks and not every
category again.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import random
import string
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote, quote_plus

from ..checks import Grader, failed, passed
from ..evidence import mismatch_table, show
from ..results import Dimension

HARNESS = "_iclab_pii_logging:emit"
# Quoted, because iclab masks whatever follows "key=" or "Bearer " in evidence, and a
# quote is where its patterns stop: the label stays visible where the leak was.
LEAK_LABEL = '"<LEAKED {}>"'
CATEGORIES = {  # check id -> (kind, what the learner reads)
    "masks-emails": ("email", "e-mail addresses"),
    "masks-phones": ("phone", "international phone numbers"),
    "masks-cards": ("card", "Luhn-valid card numbers"),
    "masks-national-ids": ("national-id", "SSNs and NI numbers"),
    "masks-auth-headers": ("auth", "bearer tokens and Authorization credentials"),
    "masks-query-form-secrets": ("query", "client_secret/password/api_key in query strings and form bodies"),
    "masks-json-secrets": ("json", "client_secret/password/api_key in JSON and escaped JSON"),
    "masks-url-encoded": ("urlenc", "URL-encoded secrets and e-mail addresses"),
}
SAFE_CHECKS = {
    "keeps-correlation-ids": ("correlation", "correlation and trace IDs"),
    "keeps-order-numbers": ("order", "order, invoice and shipment numbers"),
    "keeps-timestamps-amounts": ("time-amount", "timestamps and amounts"),
}


# -- hidden data ----------------------------------------------------------------
@dataclass(frozen=True)
class Secret:
    """A planted secret: its kind (the check that owns it), value, leak fragments and expected marker."""

    kind: str
    value: str
    fragments: tuple
    marker: str = ""


@dataclass(frozen=True)
class Case:
    """One hidden log record and what must (not) survive it."""

    label: str
    group: str  # message | args | extras | safe
    logger: str
    level: str
    msg: str
    args: object  # None, a tuple, or a dict (logger.info(msg, {...}))
    extra: dict | None
    created: float
    secrets: tuple = ()
    safe: tuple = ()  # (kind, value) pairs that must appear verbatim
    context: tuple = ()  # plain words of the message that must survive

    @property
    def where(self) -> str:
        """Where the record puts its secrets, for evidence."""
        return {"message": "in the message", "args": "in %-args", "extras": "in extras"}.get(self.group, "mixed")


@dataclass(frozen=True)
class Hidden:
    """The hidden records, in the order the harness logs them."""

    cases: tuple


ALNUM = string.ascii_letters + string.digits
FIRST = ["amara", "bjorn", "chiara", "dmitri", "esme", "farouk", "greta", "hiroshi", "ines", "jovan", "kalani", "lucia"]
LAST = ["okonkwo", "lindqvist", "ferraro", "volkov", "delacroix", "haddad", "brandt", "tanaka", "moreau", "petrovic"]
DOMAINS = ["tidewater-freight.example", "mail.corvid-analytics.example", "kestrelbank.example.co.uk", "Lumen-Retail.EXAMPLE"]
LOGGERS = ["integration.partner.orders", "integration.oauth", "integration.payments", "integration.hr.sync"]


def _word(rng, n, alphabet=ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _runs(text: str, n: int) -> tuple:
    """Alphanumeric runs of at least ``n`` characters: the pieces of a secret that must not survive."""
    out, run = [], ""
    for ch in text + " ":
        if ch.isascii() and ch.isalnum():
            run += ch
        else:
            if len(run) >= n:
                out.append(run)
            run = ""
    return tuple(out)


def _luhn_complete(partial: str) -> str:
    for check in "0123456789":
        total = 0
        for i, ch in enumerate(reversed(partial + check)):
            d = int(ch) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return partial + check
    raise AssertionError("unreachable")


def _not_luhn(rng, n: int, first: str = "") -> str:
    digits = _luhn_complete(first + _word(rng, n - 1 - len(first), string.digits))
    return digits[:-1] + str((int(digits[-1]) + rng.randint(1, 9)) % 10)


def email(rng) -> Secret:
    """An e-mail address; its local part is what must not survive."""
    local = rng.choice([f"{rng.choice(FIRST)}.{rng.choice(LAST)}{rng.randint(10, 99)}",
                        f"{rng.choice(FIRST)}_{rng.choice(LAST)}", f"ops+alerts{rng.randint(100, 999)}",
                        f"{rng.choice(FIRST).title()}.{rng.choice(LAST).title()}"])
    return Secret("email", f"{local}@{rng.choice(DOMAINS)}", (local,), "[EMAIL]")


def phone(rng) -> Secret:
    """An international phone number in one of the common layouts."""
    d = lambda n: _word(rng, n, string.digits)  # noqa: E731
    written = rng.choice([f"+44 20 7946 {d(4)}", f"+1 (415) 555-{d(4)}", f"+49 151 {d(4)} {d(4)}",
                          f"+33 6 {d(2)} {d(2)} {d(2)} {d(2)}", f"+614{d(8)}", f"+81-3-{d(4)}-{d(4)}"])
    return Secret("phone", written, (written[4:].strip(), *[r for r in _runs(written, 4) if len(r) >= 4]), "[PHONE]")


def card(rng) -> Secret:
    """A Luhn-valid card number, contiguous or grouped."""
    while True:  # a group equal to the last four would show up in the marker
        secret = _card(rng)
        if secret.marker[-5:-1] not in secret.fragments:
            return secret


def _card(rng) -> Secret:
    brand = rng.choice([("4", 16), ("5" + str(rng.randint(1, 5)), 16), ("3" + rng.choice("47"), 15), ("6011", 19),
                        ("4", 13)])
    digits = _luhn_complete(brand[0] + _word(rng, brand[1] - 1 - len(brand[0]), string.digits))
    sep = rng.choice(["", " ", "-"])
    if sep and len(digits) == 15:
        groups = [digits[:4], digits[4:10], digits[10:]]
    elif sep and len(digits) in (16, 19):
        groups = [digits[i:i + 4] for i in range(0, len(digits), 4)]
    else:
        groups = [digits]
    head = digits[:-4]
    windows = tuple(head[i:i + 6] for i in range(len(head) - 5))
    return Secret("card", sep.join(groups), tuple(groups[:-1]) * (len(groups) > 1) + windows,
                  f"[CARD ****{digits[-4:]}]")


def national_id(rng, us: bool) -> Secret:
    """A US SSN or a UK National Insurance number."""
    if us:
        area = rng.choice([n for n in range(1, 900) if n != 666])
        ssn = f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
        return Secret("national-id", ssn, (ssn, ssn.replace("-", ""), ssn[4:]), "[NATIONAL-ID]")
    first, second = "Z", "Z"
    while first + second in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ"):  # never-issued prefixes
        first, second = rng.choice("ABCEGHJKLMNPRSTWXYZ"), rng.choice("ABCEGHJKLMNPRSTWXYZ")
    digits, suffix = _word(rng, 6, string.digits), rng.choice("ABCD")
    spaced = f"{first}{second} {digits[:2]} {digits[2:4]} {digits[4:]} {suffix}"
    value = rng.choice([spaced, spaced.replace(" ", "")])
    return Secret("national-id", value, (spaced, spaced.replace(" ", ""), digits, spaced[3:11]), "[NATIONAL-ID]")


def _secret_value(rng, specials: str = "") -> str:
    chunks = [_word(rng, 7) for _ in range(3)]
    return "".join(c + (rng.choice(specials) if specials and i < 2 else "") for i, c in enumerate(chunks))


def _jwt(rng) -> str:
    return "eyJhbGciOiJIUzI1NiJ9." + _word(rng, 40, ALNUM + "-_") + "." + _word(rng, 43, ALNUM + "-_")


class _Builder:
    """Collects cases with increasing timestamps (exact binary fractions, so milliseconds are exact)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.cases: list[Case] = []
        self.clock = 1_762_400_000 + rng.randrange(10**6)

    def add(self, label, group, msg, *, args=None, extra=None, secrets=(), safe=(), context=()):
        """Add one record; refuse one whose secret's fragments also occur elsewhere in it."""
        self.clock += self.rng.randint(1, 90) + self.rng.choice([0, 0.125, 0.25, 0.5, 0.875])
        case = Case(label, group, self.rng.choice(LOGGERS), self.rng.choice(["INFO", "WARNING", "ERROR", "DEBUG"]),
                    msg, args, extra, self.clock, tuple(secrets), tuple(safe), tuple(context))
        text = json.dumps([msg, args, extra], default=str, ensure_ascii=False)
        for secret in case.secrets:  # a fragment found elsewhere in the record would be a false leak
            rest = text.replace(json.dumps(secret.value)[1:-1], "").replace(secret.value, "")
            assert not any(f in rest or f in secret.marker for f in secret.fragments), (label, secret)
        self.cases.append(case)


def _uuid(rng) -> str:
    h = _word(rng, 32, "0123456789abcdef")
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{rng.choice('89ab')}{h[17:20]}-{h[20:]}"


def make_hidden(rng: random.Random) -> Hidden:
    """Every hidden record, from the grader's seed: plain messages per kind, args, extras, safe values."""
    b = _Builder(rng)
    S = Secret

    def one(kind_maker, templates):
        """One plain message per template, each with a fresh secret of one kind and no args."""
        for i, (template, *context) in enumerate(templates):
            secret = kind_maker()
            b.add(f"{secret.kind}-{i + 1}", "message", template.replace("{s}", secret.value), secrets=[secret],
                  context=context)

    one(lambda: email(rng), [("Sent payment reminder to {s} for the November run", "Sent payment reminder to"),
                             ("Bounce received from <{s}>: mailbox full", "mailbox full"),
                             ("Customer contact changed, new address {s}.", "Customer contact changed"),
                             ("mailto:{s} rejected by partner relay", "rejected by partner relay"),
                             ("Duplicate account for '{s}' merged into master", "merged into master")])
    one(lambda: phone(rng), [("Callback requested on {s} before noon", "Callback requested on", "before noon"),
                             ("SMS gateway rejected {s}: unreachable", "SMS gateway rejected"),
                             ("Driver phone={s} assigned to route R-12", "assigned to route R-12"),
                             ("Contact ({s}) verified by agent", "verified by agent"),
                             ("Escalation line {s} paged", "paged")])
    one(lambda: card(rng), [("Payment authorised for card {s} at checkout", "Payment authorised for card"),
                            ("Card on file updated to {s}", "Card on file updated to"),
                            ("charge declined pan={s} reason=do_not_honor", "reason=do_not_honor"),
                            ("Refund to {s} queued", "queued"), ("Tokenising {s} via vault", "via vault"),
                            ("Chargeback on {s} opened", "opened")])
    for i, (us, template, context) in enumerate([
            (True, "Payroll record SSN {s} verified", "verified"), (False, "Employee NI number {s} sent to HMRC gateway",
                                                                    "sent to HMRC gateway"),
            (True, "tax_id={s}; status=verified", "status=verified"), (False, "Applicant {s} failed identity check",
                                                                       "failed identity check"),
            (True, "Ids on file: {s}", "Ids on file:")]):
        secret = national_id(rng, us)
        b.add(f"national-id-{i + 1}", "message", template.replace("{s}", secret.value), secrets=[secret],
              context=[context])

    jwt, basic = _jwt(rng), base64.b64encode(f"svc-{_word(rng, 6)}:{_word(rng, 14)}".encode()).decode()
    opaque, hexed = "ya29." + _word(rng, 36, ALNUM + "-_"), _word(rng, 32, "0123456789abcdef")
    basic2, bearer2 = base64.b64encode(f"proxy:{_word(rng, 12)}".encode()).decode(), _jwt(rng)
    for i, (token, text, marker, context) in enumerate([
            (jwt, f"Calling partner API with Authorization: Bearer {jwt}", "Authorization: Bearer ***",
             "Calling partner API with"),
            (basic, f"Upstream 401, headers: Authorization: Basic {basic}, Accept: application/json",
             "Authorization: Basic ***", "Accept: application/json"),
            (opaque, f"retrying with bearer {opaque} after token refresh", "bearer ***", "after token refresh"),
            (bearer2, f"headers={{'Accept': 'text/csv', 'Authorization': 'Bearer {bearer2}'}}",
             "'Authorization': '***'", "'Accept': 'text/csv'"),
            (hexed, f"authorization={hexed} (legacy header)", "authorization=***", "(legacy header)"),
            (basic2, f"Proxy-Authorization: Basic {basic2} via corporate proxy", "Authorization: Basic ***",
             "via corporate proxy")]):
        b.add(f"auth-{i + 1}", "message", text, secrets=[S("auth", token, _runs(token, 6), marker)], context=[context])

    for i, (key, template, context) in enumerate([
            ("api_key", "GET https://api.partner.example/v2/orders?api_key={v}&page=2", "page=2"),
            ("client_secret", "POST /oauth2/token grant_type=client_credentials&client_id=erp-sync&client_secret={v}",
             "client_id=erp-sync"),
            ("password", "Login form posted: username=svc.sync&password={v}&remember=1", "remember=1"),
            ("PASSWORD", "Webhook target https://hooks.example/in?PASSWORD={v} unreachable", "unreachable"),
            ("client_secret", "retry 3: client_secret={v}, scope=orders.read", "scope=orders.read")]):
        v = _secret_value(rng, "-._~")
        b.add(f"query-{i + 1}", "message", template.replace("{v}", v), secrets=[S("query", v, _runs(v, 5), f"{key}=***")],
              context=[context])

    for i, (template, marker, context) in enumerate([
            ('Token request payload {"client_id": "erp-sync", "client_secret": "{v}", "scope": "orders"}',
             '"client_secret": "***"', '"scope": "orders"'),
            ('Partner login body={"username":"svc","password":"{v}"}', '"password":"***"', '"username":"svc"'),
            ('Queued raw body "{\\"api_key\\": \\"{v}\\", \\"region\\": \\"eu\\"}"', '\\"api_key\\": \\"***\\"',
             '\\"region\\": \\"eu\\"'),
            ("Config loaded: {'Password': '{v}', 'retries': 3}", "'Password': '***'", "'retries': 3"),
            ('Response {"API_KEY": "{v}", "expires_in": 3600}', '"API_KEY": "***"', '"expires_in": 3600')]):
        v = _secret_value(rng, "/+=!.") if i != 1 else _word(rng, 8) + '\\"' + _word(rng, 8)
        b.add(f"json-{i + 1}", "message", template.replace("{v}", v), secrets=[S("json", v, _runs(v, 5), marker)],
              context=[context])

    raw = [_secret_value(rng, "/+=") for _ in range(3)]
    words = " ".join(_word(rng, 7) for _ in range(3))
    contact = email(rng)
    for i, (written, secret_raw, text, context) in enumerate([
            (quote(raw[0], safe=""), raw[0], "POST /oauth2/token body grant_type=client_credentials&client_secret={w}"
             "&audience=erp", "audience=erp"),
            (quote_plus(words), words, "Form submitted: user=svc.sync&password={w}&lang=en", "lang=en"),
            (raw[1].replace("/", "").replace("+", "").replace("=", ""), None,
             "Redirecting to /login?next=%2Fapi%2Fexport%3Fapi_key%3D{w}%26format%3Dcsv", "Redirecting to /login?next="),
            (quote(contact.value), None, "Unsubscribe clicked: https://mail.example/u?email={w}&list=weekly",
             "list=weekly"),
            (quote(raw[2], safe=""), raw[2], "callback=https%3A%2F%2Ferp.example%2Fcb%3Fclient_secret%3D{w}"
             "%26state%3Dab12 rejected", " rejected")]):
        fragments = contact.fragments if "email" in text else _runs(secret_raw or written, 5)
        b.add(f"urlenc-{i + 1}", "message", text.replace("{w}", written), secrets=[S("urlenc", written, fragments)],
              context=[context.strip()])

    # -- args: the same kinds, passed as %-args (tuple and mapping) --------------
    order16 = _not_luhn(rng, 16, "4")
    e1, c1, n1, e2, p1, p2 = email(rng), card(rng), national_id(rng, True), email(rng), phone(rng), phone(rng)
    v1, v2 = _secret_value(rng, "-._"), _secret_value(rng, "/+=")
    amount, ts = Decimal(f"{rng.randint(100, 99999)}.{rng.randint(0, 99):02d}"), "2025-11-03T14:22:05.125+01:00"
    jwt2 = _jwt(rng)
    b.add("args-tuple-email", "args", "Sending receipt to %s for order %s", args=(e1.value, order16), secrets=[e1],
          safe=[("order", order16)], context=["Sending receipt to"])
    b.add("args-tuple-card", "args", "Card %s charged %s %s", args=(c1.value, amount, "EUR"), secrets=[c1],
          safe=[("time-amount", str(amount))], context=["charged"])
    b.add("args-tuple-ssn", "args", "Employee %s onboarding, national id %s", args=("E-20417", n1.value), secrets=[n1],
          context=["onboarding, national id"])
    b.add("args-dict-email", "args", "Login by %(user)s from %(ip)s at %(when)s",
          args={"user": e2.value, "ip": "10.20.30.40", "when": ts}, secrets=[e2], safe=[("time-amount", ts)],
          context=["Login by"])
    b.add("args-dict-bearer", "args", "Partner call %(url)s with %(auth)s",
          args={"url": "https://api.partner.example/v1/stock", "auth": f"Authorization: Bearer {jwt2}"},
          secrets=[S("auth", jwt2, _runs(jwt2, 6))], context=["Partner call"])
    b.add("args-split-key-value", "args", "POST /oauth2/token client_id=%s&client_secret=%s", args=("erp-sync", v1),
          secrets=[S("query", v1, _runs(v1, 5))], context=["POST /oauth2/token"])
    b.add("args-tuple-phones", "args", "Phone changed from %s to %s", args=(p1.value, p2.value), secrets=[p1, p2],
          context=["Phone changed from"])
    enc = quote(v2, safe="")
    b.add("args-tuple-url-encoded", "args", "Callback %s failed",
          args=(f"https://erp.example/cb?next=%2Fexport%3Fclient_secret%3D{enc}%26x%3D1",),
          secrets=[S("urlenc", enc, _runs(v2, 5))], context=["failed"])
    v3 = _secret_value(rng, "/+")
    b.add("args-tuple-json", "args", "Payload %s", args=(f'{{"password": "{v3}", "user": "svc"}}',),
          secrets=[S("json", v3, _runs(v3, 5))], context=["Payload"])

    # -- extras: flat, nested, lists, sensitive keys -----------------------------
    e3, p3, c2, n2, n3 = email(rng), phone(rng), card(rng), national_id(rng, True), national_id(rng, False)
    v4, v5, v6, v7, v8 = (_secret_value(rng, "-._") for _ in range(5))
    basic3 = base64.b64encode(f"erp:{_word(rng, 16)}".encode()).decode()
    order2, uuid1 = _not_luhn(rng, 16, "5"), _uuid(rng)
    amount2 = Decimal(f"{rng.randint(10, 9999)}.{rng.randint(0, 99):02d}")
    structured = lambda v: S("structured", v, _runs(v, 5))  # noqa: E731
    b.add("extras-flat", "extras", "Order confirmation queued",
          extra={"customer_email": e3.value, "order_id": order2, "amount": amount2}, secrets=[e3],
          safe=[("order", order2), ("time-amount", str(amount2))], context=["Order confirmation queued"])
    b.add("extras-http-headers", "extras", "Token request failed with 401", extra={"http": {
        "method": "POST", "url": "https://login.partner.example/oauth2/token",
        "headers": {"Authorization": f"Basic {basic3}", "Accept": "application/json"},
        "body": f"grant_type=client_credentials&client_secret={v4}"}},
          secrets=[structured(basic3), S("query", v4, _runs(v4, 5))], context=["Token request failed with 401"])
    b.add("extras-json-body", "extras", "Partner login rejected", extra={
        "request": {"json": {"username": "svc-sync", "password": v5, "API_KEY": v6}}, "correlation_id": uuid1},
          secrets=[structured(v5), structured(v6)], safe=[("correlation", uuid1)], context=["Partner login rejected"])
    b.add("extras-list", "extras", "Contact details synced", extra={"contacts": [e3.value.upper(), p3.value],
                                                                    "note": f"card {c2.value} on file"},
          secrets=[S("email", e3.value.upper(), (e3.fragments[0].upper(),)), p3, c2], context=["Contact details synced"])
    b.add("extras-top-level-secret", "extras", "Login retry", extra={"password": v7, "attempt": 3},
          secrets=[structured(v7)], context=["Login retry"])
    b.add("extras-nested-ids", "extras", "Employee record exported", extra={
        "employee": {"name": "J. Doe", "ssn": n2.value, "tax_ids": [n3.value]}}, secrets=[n2, n3],
          context=["Employee record exported"])
    b.add("extras-url", "extras", "Callback registered", extra={"callback_url": f"https://erp.example/cb?api_key={v8}&x=1"},
          secrets=[S("query", v8, _runs(v8, 5))], context=["Callback registered"])

    # -- safe values: what must stay readable, next to tempting secrets -----------
    sscc, bankref, grouped = _not_luhn(rng, 18, "00"), _not_luhn(rng, 19, "6"), _not_luhn(rng, 16, "45")
    grouped = " ".join(grouped[i:i + 4] for i in range(0, 16, 4))
    tp = f"00-{_word(rng, 32, '0123456789abcdef')}-{_word(rng, 16, '0123456789abcdef')}-01"
    req, uuid2, uuid3, trace = "req_" + _word(rng, 24), _uuid(rng), _uuid(rng), _word(rng, 32, "0123456789abcdef")
    c3, e4, p4 = card(rng), email(rng), phone(rng)
    order3 = _not_luhn(rng, 16, "4")
    refund = Decimal(f"-{rng.randint(1, 999)}.{rng.randint(0, 99):02d}")
    b.add("safe-shipment", "safe", "Order %s shipped, SSCC %s", args=(order3, sscc), extra={"correlation_id": uuid2},
          safe=[("order", order3), ("order", sscc), ("correlation", uuid2)])
    b.add("safe-trace", "safe", f"traceparent={tp} request_id={req} processed in 1532 ms",
          safe=[("correlation", tp), ("correlation", req)])
    b.add("safe-invoice", "safe", "Invoice INV-2025-004821 total EUR 12,345.67 due 2025-12-01, paid 2025-11-03T14:22:05Z",
          safe=[("order", "INV-2025-004821"), ("time-amount", "12,345.67"), ("time-amount", "2025-12-01"),
                ("time-amount", "2025-11-03T14:22:05Z")])
    b.add("safe-refund", "safe", "Refund %s for payment ref %s (card %s)", args=(refund, grouped, c3.value),
          secrets=[c3], safe=[("time-amount", str(refund)), ("order", grouped)])
    order4 = _not_luhn(rng, 16, "3")
    b.add("safe-upsert", "safe", "Order upserted", extra={
        "order_id": order4, "amount": amount, "created_at": "2025-11-03T09:00:00.500Z", "idempotency_key": uuid3,
        "trace_id": trace}, safe=[("order", order4), ("time-amount", str(amount)),
                                  ("time-amount", "2025-11-03T09:00:00.500Z"), ("correlation", uuid3),
                                  ("correlation", trace)])
    b.add("safe-po", "safe", "PO 4500012345 matched to goods receipt 5000031842, 1,204 lines at 14:05:59",
          safe=[("order", "4500012345"), ("order", "5000031842"), ("time-amount", "14:05:59")])
    b.add("safe-customer", "safe", "Customer %s (%s) paid bank reference %s", args=(e4.value, p4.value, bankref),
          secrets=[e4, p4], safe=[("order", bankref)])
    return Hidden(tuple(b.cases))


@dataclass(frozen=True)
class Output:
    """What one hidden record became, as the harness reported it (untrusted, so shape-checked)."""

    kept: bool
    error: str | None
    message: str | None
    extras: dict
    line: str | None
    line_error: str | None
    mutated: bool

    @property
    def rendered(self) -> str:
        """Message and extras as one text to scan: what a log reader would see."""
        if not self.extras:
            return self.message or ""
        return f"{self.message or ''}\n{json.dumps(self.extras, default=_render, ensure_ascii=False, sort_keys=True)}"


def _render(value):
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else str(value)


def _outputs(record, data) -> tuple[list[Output] | None, str]:
    """The harness's answer as Outputs, or None and a reason for the learner."""
    if not record.ok:
        return None, f"logging through your PiiFilter and JsonFormatter failed: {record.problem()}"
    value = record.value
    if not isinstance(value, list) or len(value) != len(data.cases) or not all(isinstance(v, dict) for v in value):
        return None, "the logging harness gave an unreadable answer (was it replaced from your code?)"
    out = []
    for v in value:
        text = lambda k: v.get(k) if isinstance(v.get(k), str) else None  # noqa: E731
        extras = v.get("extras") if isinstance(v.get("extras"), dict) else {}
        out.append(Output(v.get("kept") is True, text("error"), text("message"), extras, text("line"),
                          text("line_error"), v.get("mutated") is not False))
    return out, ""


def _spec(case: Case) -> dict:
    return {"logger": case.logger, "level": case.level, "msg": case.msg, "args": case.args,
            "extra": case.extra, "created": case.created}


grader = Grader(seed=20261209, data=make_hidden)


@grader.probe("emitted")
def _probe_emitted(run):
    return run.call(HARNESS, [_spec(c) for c in run.data.cases])


# -- reading the output -------------------------------------------------------
def _problem(out: Output) -> str | None:
    """Why a record cannot be read at all, or None."""
    if out.error:
        return f"your filter raised {out.error}"
    if not out.kept:
        return "the record was dropped: filter() must return True and mask, never discard"
    return None


def _hide_leaks(text: str, case: Case) -> str:
    """The offending text with every planted secret replaced by a label, so evidence never repeats one."""
    for secret in case.secrets:
        for piece in sorted({secret.value, *secret.fragments}, key=lambda p: (-len(p), p)):
            text = text.replace(piece, LEAK_LABEL.format(secret.kind))
    return text


def _excerpt(text: str, needle: str, width: int = 150) -> str:
    text = " ".join(text.split())
    at = max(0, text.find(needle) - width // 3) if needle in text else 0
    cut = text[at:at + width]
    return ("..." if at else "") + cut + ("..." if at + width < len(text) else "")


def _leaks(out: Output, case: Case, kinds) -> list:
    text = out.rendered
    return [s for s in case.secrets if s.kind in kinds and any(f in text for f in s.fragments)]


def _lost_context(out: Output, case: Case) -> list[str]:
    return [w for w in case.context if w not in (out.message or "")]


def _case_rows(pairs, kinds, *, context: bool = True):
    """Mismatch rows for records leaking a secret of ``kinds`` (or losing their context words)."""
    rows, judged = [], 0
    for out, case in pairs:
        wanted = [s for s in case.secrets if s.kind in kinds]
        if not wanted:
            continue
        judged += 1
        problem = _problem(out)
        if problem:
            rows.append((case.label, [problem]))
            continue
        leaked = _leaks(out, case, kinds)
        lines = []
        if leaked:
            shown = _hide_leaks(out.rendered, case)
            lines.append(f"leaked {', '.join(sorted({s.kind for s in leaked}))}: {_excerpt(shown, LEAK_LABEL[:8])}")
        lost = _lost_context(out, case) if context else []
        if lost:
            lines.append(f"over-masked: {show(lost[0], 40)} is gone from {show(_hide_leaks(out.message or '', case), 90)}")
        if lines:
            rows.append((f"{case.label} ({case.where})", lines))
    return rows, judged


def _handled_kinds(outs, data) -> set[str]:
    """Kinds whose every plain-message record was masked cleanly: what the args/extras checks may judge."""
    kinds = {kind for kind, _ in CATEGORIES.values()}
    for out, case in zip(outs, data.cases):
        if case.group == "message" and _case_rows([(out, case)], {s.kind for s in case.secrets})[0]:
            kinds -= {s.kind for s in case.secrets}
    return kinds


# -- checks -------------------------------------------------------------------
def _category_check(check_id: str, kind: str, what: str, points: int, criterion: int):
    @grader.check(check_id, title=f"Masks {what}", points=points, skill="pii-masking",
                  dimension=Dimension.SECURITY, criterion=criterion, probe="emitted")
    def judge(record, data):
        """Scan the relevant records' output."""
        outs, why = _outputs(record, data)
        if outs is None:
            return failed(why)
        pairs = [(o, c) for o, c in zip(outs, data.cases) if c.group == "message"]
        rows, judged = _case_rows(pairs, {kind})
        if rows:
            return failed(f"{len(rows)} of {judged} log messages with {what} leak them or lose their context",
                          mismatch_table(rows, judged))
        return passed(f"all {judged} log messages with {what} masked, context kept")

    return judge


for _id, (_kind, _what), _points, _criterion in zip(
        CATEGORIES, CATEGORIES.values(), (7, 5, 8, 6, 8, 7, 6, 7), (1, 1, 2, 3, 4, 5, 5, 5)):
    _category_check(_id, _kind, _what, _points, _criterion)


def _location_check(check_id: str, group: str, title: str, where: str, always: frozenset):
    @grader.check(check_id, title=title, points=8, skill="structured-logging", dimension=Dimension.SECURITY,
                  criterion=6, probe="emitted")
    def judge(record, data):
        """Scan the relevant records' output."""
        outs, why = _outputs(record, data)
        if outs is None:
            return failed(why)
        kinds = _handled_kinds(outs, data) | always
        pairs = [(o, c) for o, c in zip(outs, data.cases) if c.group == group]
        rows, judged = _case_rows(pairs, kinds)
        if judged < 3:  # records holding a kind the filter masks in plain messages
            return failed(f"your filter masks too few kinds of data in plain messages to judge {where} "
                          "(fix the masks-* checks first)", f"kinds masked in messages: {sorted(kinds - always)}")
        if rows:
            return failed(f"{len(rows)} of {judged} records leak data passed {where}: mask the final message and "
                          "every extra", mismatch_table(rows, judged))
        return passed(f"all {judged} records with secrets passed {where} masked")

    return judge


_location_check("masks-args", "args", "Masks data passed as %-args (tuple and dict)", "as %-args", frozenset())
_location_check("masks-extras", "extras", "Masks structured extras, nested ones too", "in extras",
                frozenset({"structured"}))


@grader.check("no-caller-mutation", title="The caller's extra objects are not changed", points=4,
              skill="structured-logging", dimension=Dimension.INTEGRATION, criterion=6, probe="emitted")
def check_mutation(record, data):
    """The harness compares each extra= object with a deep copy taken before logging."""
    outs, why = _outputs(record, data)
    if outs is None:
        return failed(why)
    judged = [(o, c) for o, c in zip(outs, data.cases) if c.extra and any(isinstance(v, (dict, list)) for v in c.extra.values())]
    rows = [(c.label, ["the dict/list passed in extra= was modified (e.g. the live request headers)"])
            for o, c in judged if o.mutated]
    if rows:
        return failed(f"{len(rows)} of {len(judged)} records had their caller's objects changed: build masked "
                      "copies instead", mismatch_table(rows, len(judged)))
    return passed(f"the caller's objects are untouched in all {len(judged)} records with nested extras")


def _safe_check(check_id: str, kind: str, what: str, points: int):
    @grader.check(check_id, title=f"Keeps {what} readable", points=points, skill="log-usefulness",
                  dimension=Dimension.TROUBLESHOOTING, criterion=7, probe="emitted")
    def judge(record, data):
        """Scan the relevant records' output."""
        outs, why = _outputs(record, data)
        if outs is None:
            return failed(why)
        if not _handled_kinds(outs, data):  # keeping everything readable is easy when nothing is masked
            return failed(f"your filter masks none of the data kinds yet, so keeping {what} readable earns nothing")
        rows, judged = [], 0
        for out, case in zip(outs, data.cases):
            for value in (v for k, v in case.safe if k == kind):
                judged += 1
                problem = _problem(out)
                if problem or value not in out.rendered:
                    text = _hide_leaks(out.rendered, case)
                    rows.append((f"{case.label} ({case.where})", [f"expected {value!r} verbatim",
                                                                 problem or f"got: {_excerpt(text, '', 120)}"]))
        if rows:
            return failed(f"{len(rows)} of {judged} {what} were masked or changed: support needs them readable",
                          mismatch_table(rows, judged))
        return passed(f"all {judged} {what} kept verbatim")

    return judge


for _id, (_kind, _what), _points in zip(SAFE_CHECKS, SAFE_CHECKS.values(), (6, 6, 5)):
    _safe_check(_id, _kind, _what, _points)


def _expected_ts(created: float) -> str:
    moment = dt.datetime.fromtimestamp(created, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@grader.check("json-formatter", title="JsonFormatter writes one JSON object per record", points=6,
              skill="structured-logging", dimension=Dimension.API_DATA, criterion=8, probe="emitted")
def check_formatter(record, data):
    """Each line parses to the documented object, matching what the filter left on the record."""
    outs, why = _outputs(record, data)
    if outs is None:
        return failed(why)
    rows, judged = [], 0
    for out, case in zip(outs, data.cases):
        if _problem(out) or out.message is None:
            continue  # the filter's own checks own this record
        judged += 1
        if out.line is None:
            rows.append((case.label, [f"format() failed: {out.line_error or 'no line'}"]))
            continue
        try:
            doc = json.loads(out.line)
        except ValueError as exc:
            rows.append((case.label, [f"not JSON ({exc.msg}): {show(out.line, 80)}"]))
            continue
        if not isinstance(doc, dict) or "\n" in out.line:
            rows.append((case.label, ["expected one JSON object on one line", f"got {show(out.line, 80)}"]))
            continue
        want = {"ts": _expected_ts(case.created), "level": case.level, "logger": case.logger, "message": out.message}
        want.update({k: json.loads(json.dumps(out.extras.get(k), default=_render)) for k in (case.extra or {})})
        diff = [f"{k}: expected {show(_hide_leaks(json.dumps(v, default=str), case), 60)}, "
                f"got {show(_hide_leaks(json.dumps(doc.get(k, '<absent>'), default=str), case), 60)}"
                for k, v in want.items() if doc.get(k, "<absent>") != v]
        if diff:
            rows.append((case.label, diff))
    if judged < 5:
        return failed(f"only {judged} records came through your filter, too few to judge the formatter")
    if rows:
        return failed(f"{len(rows)} of {judged} formatted lines are not the documented JSON object",
                      mismatch_table(rows, judged))
    return passed(f"all {judged} lines are one JSON object with ts, level, logger, message and the extras")


@grader.check("mask-format", title="Masks use the documented markers", points=3, skill="pii-masking",
              dimension=Dimension.SECURITY, criterion=9, probe="emitted")
def check_markers(record, data):
    """Masked secrets in plain messages carry the contract's marker."""
    outs, why = _outputs(record, data)
    if outs is None:
        return failed(why)
    rows, judged = [], 0
    for out, case in zip(outs, data.cases):
        if case.group != "message" or _problem(out):
            continue
        for secret in case.secrets:
            if not secret.marker or _leaks(out, case, {secret.kind}):
                continue  # a leak belongs to its category's check
            judged += 1
            if secret.marker not in (out.message or ""):
                rows.append((case.label, [f"expected {secret.marker!r} in the message",
                                          f"got {show(_hide_leaks(out.message or '', case), 100)}"]))
    if judged < 5:
        return failed(f"only {judged} secrets were masked at all, too few to judge the markers")
    if rows:
        return failed(f"{len(rows)} of {judged} masks do not use the contract's marker", mismatch_table(rows, judged))
    return passed(f"all {judged} masks use the documented markers")
