"""The hidden log lines given to the learner's mask_text, one family per acceptance criterion.

A line is built from parts: plain text, kept verbatim, and planted secrets,
each replaced by its marker. So the exact output the contract demands is
known by construction (``Text.exact``), and so is every piece of text that
must survive (``Text.chunks``). Each family covers its criterion's edge
classes: every layout of a kind, each position in a line (first, middle,
last, before a full stop, in brackets, quotes and key=value), several items
of one kind or of several kinds in one line, and the boundary values the
contract states on both sides.
"""
from __future__ import annotations

import base64
import random
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

from .planted import (ALNUM, JWT_HEADER, CARD_LAYOUTS, PHONE_LAYOUTS, Secret, card, email, jwt, luhn_valid, national_id, not_luhn,
                      phone, runs, secret_value, uuid_text, word)

__all__ = ["Text", "make_texts"]


@dataclass(frozen=True)
class Text:
    """One hidden log line: plain parts (kept) and secrets (masked), plus safe values that must survive."""

    label: str
    parts: tuple  # str (kept verbatim) or Secret (replaced by its marker)
    safe: tuple = ()  # (kind, value) pairs that must appear verbatim
    owner: str = ""  # the kind whose check is charged when mask_text fails on this line

    @property
    def charged(self) -> str:
        """Who answers for a crash on this line: its family's kind, or its first safe value's kind."""
        return self.owner or (self.safe[0][0] if self.safe else "")

    @property
    def text(self) -> str:
        return "".join(p if isinstance(p, str) else p.value for p in self.parts)

    @property
    def exact(self) -> str:
        """The contract's output for this line, character for character."""
        return "".join(p if isinstance(p, str) else p.marker for p in self.parts)

    @property
    def secrets(self) -> tuple:
        return tuple(p for p in self.parts if isinstance(p, Secret))

    def chunks(self, kind: str | None = None) -> list[str]:
        """Plain parts next to a secret (of ``kind``), which must survive; parts holding a safe value are
        left to the keeps-* checks, so over-masking one is charged there and only there."""
        out = []
        for i, part in enumerate(self.parts):
            if not isinstance(part, str) or not part.strip() or any(v in part for _, v in self.safe):
                continue
            near = [p for p in self.parts[max(0, i - 1):i + 2] if isinstance(p, Secret)]
            if any(kind is None or s.kind == kind for s in near):
                out.append(part)
        return out


class _Lines:
    """Collects lines; refuses one whose secret's fragments also occur elsewhere in it (a false leak)."""

    def __init__(self):
        self.lines: list[Text] = []
        self.owner = ""  # the family being built (its kind), "" for the safe lines

    def add(self, label: str, *parts, safe=()) -> None:
        line = Text(label, tuple(p for p in parts if p != ""), tuple(safe), self.owner)
        for secret in line.secrets:
            rest = line.text.replace(secret.value, "")
            assert not any(f in rest or f in line.exact for f in secret.fragments), (label, secret)
        self.lines.append(line)


def _retag(secret: Secret, kind: str, value: str | None = None, marker: str | None = None,
           fragments: tuple | None = None) -> Secret:
    return Secret(kind, secret.value if value is None else value, secret.fragments if fragments is None else fragments,
                  secret.marker if marker is None else marker)


def _emails(rng: random.Random, t: _Lines) -> None:
    """Criterion 1, e-mails: each position, brackets, quotes, key=value, upper case, three in one line."""
    E = lambda **kw: email(rng, **kw)  # noqa: E731
    t.add("email-first", E(), " unsubscribed from the weekly digest")
    t.add("email-last", "Password reset link sent to ", E())
    t.add("email-full-stop", "Customer contact changed to ", E(), ".")
    t.add("email-angle", "Bounce received from <", E(), ">: mailbox full")
    t.add("email-quoted", "Duplicate account for '", E(), "' merged into master")
    t.add("email-mailto", "mailto:", E(), " rejected by partner relay")
    t.add("email-three", "Escalation sent to ", E(), ", ", E(), " and ", E(), " at 09:14")
    t.add("email-upper-case", "Login by ", E(upper=True), " from the Paris office")
    t.add("email-key-value", "notify=", E(), ";channel=mail")
    t.add("email-json", '{"contact": "', E(), '", "tier": "gold"}')


def _phones(rng: random.Random, t: _Lines) -> None:
    """Criterion 1, phones: every layout, 8 and 15 digits, each position, two in one line."""
    P = lambda i: phone(rng, i % len(PHONE_LAYOUTS))  # noqa: E731
    t.add("phone-first", P(0), " called back about the failed delivery")
    t.add("phone-last", "Driver can be reached on ", P(1))
    t.add("phone-full-stop", "Callback requested on ", P(2), ".")
    t.add("phone-brackets", "Contact (", P(1), ") verified by agent")
    t.add("phone-key-value", "sms to=", P(3), "&status=queued")
    t.add("phone-two", "Phone changed from ", P(4), " to ", P(5), " by the customer")
    t.add("phone-eight-digits", "Falklands depot ", P(6), " confirmed the slot")
    t.add("phone-fifteen-digits", "Satellite line ", P(7), " paged")
    t.add("phone-comma", "Escalation lines ", P(5), ", ", P(0), " paged")


def _cards(rng: random.Random, t: _Lines) -> None:
    """Criterion 2: every layout the contract names, each position, two in one line, next to an order number."""
    C = lambda i: card(rng, i % len(CARD_LAYOUTS))  # noqa: E731
    t.add("card-first", C(0), " was charged at checkout")
    t.add("card-last", "Card on file updated to ", C(1))
    t.add("card-full-stop", "Refund queued to ", C(2), ".")
    t.add("card-brackets", "Payment (card ", C(3), ") authorised")
    t.add("card-key-value", "charge declined pan=", C(4), ";reason=do_not_honor")
    t.add("card-two", "Split payment across ", C(5), " and ", C(6), " approved")
    t.add("card-hash", "Tokenising #", C(7), " via vault")
    t.add("card-nineteen", "Chargeback on ", C(8), " opened")
    t.add("card-nineteen-grouped", "Card ", C(9), " enrolled for 3-D Secure")
    t.add("card-nineteen-hyphens", "Wallet token for ", C(10), " issued")
    t.add("card-thirteen", "Legacy card ", C(11), " migrated")
    order = not_luhn(rng, 16, "4")
    t.add("card-beside-order", "Order ", order, " paid with ", C(12), " at the kiosk", safe=[("order", order)])


def _national_ids(rng: random.Random, t: _Lines) -> None:
    """Criterion 3: SSNs and NI numbers (spaced and not) in each position, several in one line."""
    t.add("ssn-first", national_id(rng, True), " matched the payroll record")
    t.add("ssn-full-stop", "Payroll record verified for SSN ", national_id(rng, True), ".")
    t.add("ssn-key-value", "tax_id=", national_id(rng, True), "; status=verified")
    t.add("ssn-brackets", "Employee (", national_id(rng, True), ") onboarded")
    t.add("nino-spaced", "Employee NI number ", national_id(rng, False, True), " sent to HMRC gateway")
    t.add("nino-compact", "Applicant ", national_id(rng, False, False), " failed identity check")
    t.add("nino-last", "NI on file: ", national_id(rng, False, True))
    t.add("ids-three", "Ids on file: ", national_id(rng, True), ", ", national_id(rng, False, False), " and ",
          national_id(rng, True))


def _auth(rng: random.Random, t: _Lines) -> None:
    """Criterion 4: every scheme the contract lists, any case, Authorization : and =, Bearer alone, two in a line."""
    def token(value: str, n: int = 6) -> Secret:
        # Every JWT starts with the same header segment: only the claims and the signature are secret.
        return Secret("auth", value, tuple(r for r in runs(value, n) if r != JWT_HEADER))

    def basic(user: str) -> str:
        return base64.b64encode(f"{user}:{word(rng, 14)}".encode()).decode()

    t.add("auth-bearer-header", "Calling partner API with Authorization: Bearer ", token(jwt(rng)))
    t.add("auth-basic", "Upstream 401, headers: Authorization: Basic ", token(basic("svc-" + word(rng, 5))),
          ", Accept: application/json")
    t.add("auth-bearer-lower", "retrying with bearer ", token("ya29." + word(rng, 36, ALNUM + "-_")),
          " after token refresh")
    t.add("auth-equals", "authorization=", token(word(rng, 32, "0123456789abcdef")), " (legacy header)")
    t.add("auth-proxy", "Proxy-Authorization: Basic ", token(basic("proxy")), " via corporate proxy")
    t.add("auth-token-scheme", "AUTHORIZATION: Token ", token(word(rng, 40, "0123456789abcdef")), " from the CI runner")
    t.add("auth-apikey-scheme", "Authorization: ApiKey ", token("ak_" + word(rng, 30)), "; retry=2")
    negotiate = "YII" + word(rng, 30, ALNUM + "+/") + "=="
    t.add("auth-negotiate", "Authorization: Negotiate ", token(negotiate), " accepted")
    t.add("auth-no-scheme", "Authorization: ", token("tok_" + word(rng, 28)), " rejected by gateway")
    t.add("auth-bearer-first", "Bearer ", token(word(rng, 42, ALNUM + "-_.") + "=="), " rejected by gateway")
    t.add("auth-two-bearers", "token rotated: old Bearer ", token(jwt(rng)), ", new Bearer ", token(jwt(rng)))
    t.add("auth-upper-case", "BEARER ", token(word(rng, 24, ALNUM + "~+/")), " expired")


def _query(rng: random.Random, t: _Lines) -> None:
    """Criterion 5, key=value: each key in any case, each stop character, first and last, three in one line."""
    def value() -> Secret:
        v = secret_value(rng, "-._~")
        return Secret("query", v, runs(v, 5))

    t.add("query-api-key", "GET https://api.partner.example/v2/orders?api_key=", value(), "&page=2")
    t.add("form-client-secret-last", "POST /oauth2/token grant_type=client_credentials&client_id=erp-sync&client_secret=",
          value())
    t.add("form-password", "Login form posted: username=svc.sync&password=", value(), "&remember=1")
    t.add("query-upper-case", "Webhook target https://hooks.example/in?PASSWORD=", value(), " unreachable")
    t.add("query-comma", "retry 3: client_secret=", value(), ", scope=orders.read")
    t.add("query-three-keys", "GET /v1/export?api_key=", value(), "&client_secret=", value(), "&password=", value(),
          "&format=csv")
    t.add("query-first", "password=", value(), " was rejected for svc.sync")
    t.add("query-semicolon", "cfg: Api_Key=", value(), ";timeout=30")
    t.add("query-angle", "<redirect url=/cb?client_secret=", value(), ">")
    t.add("query-quoted", 'href="https://portal.example/a?password=', value(), '" clicked')


def _json(rng: random.Random, t: _Lines) -> None:
    """Criterion 5, JSON and dict pairs: spacing, quotes, escaped JSON, nesting, several keys, punctuation in values."""
    def value(specials: str = "/+=!.") -> Secret:
        v = secret_value(rng, specials)
        return Secret("json", v, runs(v, 5))

    escaped = word(rng, 8) + '\\"' + word(rng, 8)
    t.add("json-spaced", 'Token request payload {"client_id": "erp-sync", "client_secret": "', value(),
          '", "scope": "orders"}')
    t.add("json-compact-escaped-quote", 'Partner login body={"username":"svc","password":"',
          Secret("json", escaped, runs(escaped, 5)), '"}')
    t.add("json-escaped", 'Queued raw body "{\\"api_key\\": \\"', value(), '\\", \\"region\\": \\"eu\\"}"')
    t.add("json-dict-repr", "Config loaded: {'Password': '", value(), "', 'retries': 3}")
    t.add("json-upper-case", 'Response {"API_KEY": "', value(), '", "expires_in": 3600}')
    t.add("json-space-before-colon", 'cfg {"password" : "', value(), '"}')
    t.add("json-two-keys", 'creds {"client_secret":"', value(), '","api_key":"', value(), '"} loaded')
    t.add("json-nested", 'body {"auth": {"password": "', value(), '", "user": "svc"}, "retry": 2}')
    t.add("json-punctuation", 'vault {"password": "', value(",:;"), '"}')
    bearer = jwt(rng)  # the dict pair rule masks the whole value, scheme included (the table's first row)
    t.add("json-dict-repr-authorization", "headers={'Accept': 'text/csv', 'Authorization': '",
          Secret("json", "Bearer " + bearer, tuple(r for r in runs(bearer, 6) if r != JWT_HEADER)), "'}")
    auth = base64.b64encode(f"erp:{word(rng, 16)}".encode()).decode()
    t.add("json-authorization", '{"Authorization": "', Secret("json", "Basic " + auth, runs(auth, 5)),
          '", "Accept": "*/*"}')


def _url_encoded(rng: random.Random, t: _Lines) -> None:
    """Criterion 5, URL-encoded: %3D/%26 in both cases, %2F, +, %40 e-mails after an escape, first and last."""
    def encoded(raw: str, written: str, marker: str = "***") -> Secret:
        return Secret("urlenc", written, runs(raw, 5), marker)

    raw = [secret_value(rng, "/+=") for _ in range(4)]
    plain = [secret_value(rng) for _ in range(3)]
    words = " ".join(word(rng, 7) for _ in range(3))
    mails = [email(rng, plus=False) for _ in range(3)]
    t.add("urlenc-form", "POST /oauth2/token body grant_type=client_credentials&client_secret=",
          encoded(raw[0], quote(raw[0], safe="")), "&audience=erp")
    t.add("urlenc-plus", "Form submitted: user=svc.sync&password=", encoded(words, quote_plus(words)), "&lang=en")
    t.add("urlenc-nested", "Redirecting to /login?next=%2Fapi%2Fexport%3Fapi_key%3D", encoded(plain[0], plain[0]),
          "%26format%3Dcsv")
    t.add("urlenc-email", "Unsubscribe clicked: https://mail.example/u?email=",
          _retag(mails[0], "urlenc", quote(mails[0].value)), "&list=weekly")
    t.add("urlenc-callback", "callback=https%3A%2F%2Ferp.example%2Fcb%3Fclient_secret%3D",
          encoded(raw[1], quote(raw[1], safe="")), "%26state%3Dab12 rejected")
    t.add("urlenc-lower-case", "next=%2fcb%3fpassword%3d", encoded(plain[1], plain[1]), "%26x%3d1 dropped")
    t.add("urlenc-email-after-escape", "Redirect /u%3Femail%3D", _retag(mails[1], "urlenc", quote(mails[1].value)),
          "%26list%3Dnews")
    t.add("urlenc-email-after-lower-escape", "Redirect /u%3femail%3d",
          _retag(mails[2], "urlenc", quote(mails[2].value)), "%26list%3dnews")
    t.add("urlenc-last", "login?return=%2Fadmin%3Fpassword%3D", encoded(raw[2], quote(raw[2], safe="")))
    t.add("urlenc-api-key-slash", "state=api_key%3D", encoded(raw[3], quote(raw[3], safe="")), " expired")
    extra_mail = email(rng, plus=False)
    t.add("urlenc-three-in-one", "return=%2Fsso%3Fclient_secret%3D", encoded(plain[2], plain[2]), "%26password%3D",
          encoded(words, quote_plus(words).replace("+", "%2B")), "%26user%3D",
          _retag(extra_mail, "urlenc", quote(extra_mail.value)), " expired")


def _safe(rng: random.Random, t: _Lines) -> None:
    """Criterion 7: IDs, numbers, timestamps and amounts, next to secrets, and the look-alikes at every edge."""
    sscc, bankref, grouped = not_luhn(rng, 18, "00"), not_luhn(rng, 19, "6"), not_luhn(rng, 16, "45")
    grouped = " ".join(grouped[i:i + 4] for i in range(0, 16, 4))
    tp = f"00-{word(rng, 32, '0123456789abcdef')}-{word(rng, 16, '0123456789abcdef')}-01"
    req, uuid2, trace = "req_" + word(rng, 24), uuid_text(rng), word(rng, 32, "0123456789abcdef")
    order3, order4 = not_luhn(rng, 16, "4"), not_luhn(rng, 16, "3")
    t.add("safe-shipment", f"Order {order3} shipped, SSCC {sscc}, correlation {uuid2}",
          safe=[("order", order3), ("order", sscc), ("correlation", uuid2)])
    t.add("safe-trace", f"traceparent={tp} request_id={req} processed in 1532 ms",
          safe=[("correlation", tp), ("correlation", req)])
    t.add("safe-trace-id", f"trace_id={trace} span=checkout", safe=[("correlation", trace)])
    t.add("safe-invoice", "Invoice INV-2025-004821 total EUR 12,345.67 due 2025-12-01, paid 2025-11-03T14:22:05Z",
          safe=[("order", "INV-2025-004821"), ("time-amount", "12,345.67"), ("time-amount", "2025-12-01"),
                ("time-amount", "2025-11-03T14:22:05Z")])
    refund = f"-{rng.randint(1, 999)}.{rng.randint(0, 99):02d}"
    t.add("safe-refund", f"Refund {refund} for payment ref {grouped} (card ", card(rng, 1), ")",
          safe=[("order", grouped), ("time-amount", refund)])
    t.add("safe-po", "PO 4500012345 matched to goods receipt 5000031842, 1,204 lines at 14:05:59",
          safe=[("order", "4500012345"), ("order", "5000031842"), ("time-amount", "14:05:59")])
    t.add("safe-customer", "Customer ", email(rng), " (", phone(rng), f") paid bank reference {bankref}",
          safe=[("order", bankref)])
    t.add("safe-upsert", f"Order upserted: order_id={order4} created_at=2025-11-03T09:00:00.500Z",
          safe=[("order", order4), ("time-amount", "2025-11-03T09:00:00.500Z")])
    # The edges the contract states: a hyphen, a letter or an underscore next to a Luhn-valid run; 12 and 20
    # digits; a plus with 7 or 16 digits in its groups; SSN look-alikes with a reserved area or group.
    hyphen, underscore = "ORD-" + luhn_valid(rng, 16, "45"), "ref_" + luhn_valid(rng, 16, "52")
    suffix = luhn_valid(rng, 16, "49") + "A"
    twelve, twenty = luhn_valid(rng, 12, "8"), luhn_valid(rng, 20, "7")
    t.add("safe-luhn-after-hyphen", f"Release {hyphen} approved by the warehouse", safe=[("order", hyphen)])
    t.add("safe-luhn-after-underscore", f"Imported batch {underscore} without errors", safe=[("order", underscore)])
    t.add("safe-luhn-before-letter", f"Pallet label {suffix} scanned", safe=[("order", suffix)])
    t.add("safe-twelve-digits", f"Store receipt {twelve} printed", safe=[("order", twelve)])
    t.add("safe-twenty-digits", f"SEPA end-to-end reference {twenty} settled", safe=[("order", twenty)])
    seven, sixteen = "+1 250 000", "+1 000 000 000 000 000"
    t.add("safe-plus-seven-digits", f"Stock adjusted by {seven} units", safe=[("time-amount", seven)])
    t.add("safe-plus-sixteen-digits", f"Credit limit raised by {sixteen} JPY", safe=[("time-amount", sixteen)])
    part, lot = f"9{rng.randint(0, 99):02d}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}", \
        f"{rng.randint(100, 665)}-00-{rng.randint(1000, 9999)}"
    t.add("safe-ssn-look-alikes", f"Part {part} restocked, lot {lot} quarantined", safe=[("order", part), ("order", lot)])
    window = "2025-11-03T23:59:59.999+05:30 to 2025-11-04T00:00:00-03:00"
    t.add("safe-offsets", f"Window {window} closed", safe=[("time-amount", window)])
    digits_uuid = "-".join([word(rng, 8, "0123456789"), word(rng, 4, "0123456789"), "4" + word(rng, 3, "0123456789"),
                            "8" + word(rng, 3, "0123456789"), word(rng, 12, "0123456789")])
    t.add("safe-numeric-uuid", f"Idempotency-Key {digits_uuid} reused", safe=[("correlation", digits_uuid)])


def make_texts(rng: random.Random) -> tuple:
    """Every hidden line for mask_text, criterion by criterion."""
    t = _Lines()
    for owner, family in (("email", _emails), ("phone", _phones), ("card", _cards), ("national-id", _national_ids),
                          ("auth", _auth), ("query", _query), ("json", _json), ("urlenc", _url_encoded), ("", _safe)):
        t.owner = owner
        family(rng, t)
    return tuple(t.lines)
