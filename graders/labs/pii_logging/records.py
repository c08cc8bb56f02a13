"""The hidden log records, generated from the grader's seed, in the order the harness logs them."""
from __future__ import annotations

import base64
import json
import random
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote, quote_plus

from .planted import ALNUM, Secret, _jwt, _not_luhn, _runs, _secret_value, _uuid, _word, card, email, national_id, phone

__all__ = ["Case", "Hidden", "LOGGERS", "make_hidden"]

LOGGERS = ["integration.partner.orders", "integration.oauth", "integration.payments", "integration.hr.sync"]


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
