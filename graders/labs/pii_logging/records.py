"""The hidden log records: ones the learner's PiiFilter handles, and ones its JsonFormatter writes.

The filter's records (criterion 6) carry secrets in %-args (tuple and
mapping, with %s/%d/%.1f), in flat, nested and listed extras, under the four
sensitive keys at every depth and with values of every type, beside values
that must stay as they are (numbers, Decimal, None, dates, UUIDs, tuples,
empty containers). The formatter's records (criterion 8) carry extras of
every type the contract names, extras that clash with the base keys, and
timestamps whose milliseconds and UTC date are easy to get wrong.
"""
from __future__ import annotations

import base64
import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from .planted import card as _card
from .planted import email as _email
from .planted import jwt, not_luhn, secret_value, uuid_text, word
from .planted import national_id as _national_id
from .planted import phone as _phone

__all__ = ["Obj", "Record", "make_filter_records", "make_format_records", "LOGGERS", "SENSITIVE_KEYS"]

LOGGERS = ["integration.partner.orders", "integration.oauth", "integration.payments", "integration.hr.sync"]
SENSITIVE_KEYS = frozenset({"authorization", "client_secret", "password", "api_key"})


@dataclass(frozen=True)
class Obj:
    """A value JSON has no type for, built in the child: a UUID or a path."""

    kind: str  # "uuid" | "path"
    text: str

    @property
    def shown(self) -> str:
        """How the harness describes it (``<UUID: ...>``)."""
        return f"<{ {'uuid': 'UUID', 'path': 'PurePosixPath'}[self.kind]}: {self.text}>"


@dataclass(frozen=True)
class Record:
    """One hidden log record: what the caller passes to the logger."""

    label: str
    logger: str
    level: str
    msg: str
    args: object  # None, a tuple, or a dict (logger.info(msg, {...}))
    extra: dict | None
    created: float

    @property
    def message(self) -> str:
        """The message as LogRecord.getMessage() builds it."""
        return self.msg % self.args if self.args else self.msg

    def spec(self) -> dict:
        """The record as plain data for the harness (objects tagged, built in the child)."""
        return {"logger": self.logger, "level": self.level, "msg": self.msg, "args": _tag(self.args),
                "extra": _tag(self.extra), "created": self.created}


def _tag(value):
    if isinstance(value, Obj):
        return {"$obj": value.kind, "v": value.text}
    if isinstance(value, dict):
        return {k: _tag(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tag(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_tag(v) for v in value)
    return value


class _Clock:
    """Increasing timestamps with exact binary fractions, so milliseconds are exact."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.now = 1_762_400_000 + rng.randrange(10**6)

    def record(self, label, msg, args=None, extra=None, *, level=None, logger=None, created=None) -> Record:
        self.now += self.rng.randint(1, 90) + self.rng.choice([0, 0.125, 0.25, 0.5, 0.875])
        return Record(label, logger or self.rng.choice(LOGGERS),
                      level or self.rng.choice(["INFO", "WARNING", "ERROR", "DEBUG"]), msg, args, extra,
                      self.now if created is None else created)


def make_filter_records(rng: random.Random) -> tuple[tuple, tuple]:
    """Records for PiiFilter (criterion 6), and every secret planted in them (hidden from all evidence)."""
    c = _Clock(rng)
    planted: list[str] = []  # every planted value is registered, so evidence can hide it
    email, card = _registering(_email, planted), _registering(_card, planted)
    phone, national_id = _registering(_phone, planted), _registering(_national_id, planted)
    e1, e2, e3, e4 = (email(rng).value for _ in range(4))
    amount = Decimal(f"{rng.randint(100, 99999)}.{rng.randint(0, 99):02d}")
    order = not_luhn(rng, 16, "4")
    basic = base64.b64encode(f"erp:{word(rng, 16)}".encode()).decode()
    v = [secret_value(rng, "-._") for _ in range(12)]
    bearer = jwt(rng)
    planted += [basic, bearer, *v]
    out = [
        # -- the final message: template and args together ------------------------
        c.record("args-tuple-email", "Sending receipt to %s for order %s", (e1, order)),
        c.record("args-tuple-card-decimal", "Card %s charged %s %s", (card(rng).value, amount, "EUR")),
        c.record("args-tuple-ssn", "Employee %s onboarding, national id %s", ("E-20417", national_id(rng, True).value)),
        c.record("args-dict-email", "Login by %(user)s from %(ip)s at %(when)s",
                 {"user": e2, "ip": "10.20.30.40", "when": "2025-11-03T14:22:05.125+01:00"}),
        c.record("args-dict-bearer", "Partner call %(url)s with %(auth)s",
                 {"url": "https://api.partner.example/v1/stock", "auth": f"Authorization: Bearer {bearer}"}),
        c.record("args-key-in-template", "POST /oauth2/token client_id=%s&client_secret=%s", ("erp-sync", v[0])),
        c.record("args-two-phones", "Phone changed from %s to %s", (phone(rng).value, phone(rng).value)),
        c.record("args-numbers", "Retry %d of %d for %s after %.1f s", (2, 5, e3, 1.5)),
        c.record("args-none", "Partner %s returned %s for %s", ("erp", None, national_id(rng, False).value)),
        c.record("args-json", "Payload %s", (f'{{"password": "{v[1]}", "user": "svc"}}',)),
        c.record("message-plain-secret", f"Password reset link sent to {e4}"),
        c.record("message-nothing-to-mask", "Nightly sync finished in 1532 ms"),
        # -- extras: flat, nested, listed; sensitive keys at every depth and of every type ------
        c.record("extras-flat", "Order confirmation queued",
                 extra={"customer_email": email(rng).value, "order_id": not_luhn(rng, 16, "5"), "amount": amount}),
        c.record("extras-http-headers", "Token request failed with 401", extra={"http": {
            "method": "POST", "url": "https://login.partner.example/oauth2/token", "status": 401,
            "headers": {"Authorization": f"Basic {basic}", "Accept": "application/json"},
            "body": f"grant_type=client_credentials&client_secret={v[2]}"}}),
        c.record("extras-json-body", "Partner login rejected", extra={
            "request": {"json": {"username": "svc-sync", "password": v[3], "API_KEY": v[4]}},
            "correlation_id": uuid_text(rng)}),
        c.record("extras-list", "Contact details synced", extra={
            "contacts": [email(rng, upper=True).value, phone(rng).value, "ops desk"],
            "note": f"card {card(rng).value} on file"}),
        c.record("extras-top-level-secret", "Login retry", extra={"password": v[5], "attempt": 3}),
        c.record("extras-nested-ids", "Employee record exported", extra={
            "employee": {"name": "J. Doe", "ssn": national_id(rng, True).value, "tax_ids": [national_id(rng, False).value]}}),
        c.record("extras-url", "Callback registered", extra={"callback_url": f"https://erp.example/cb?api_key={v[6]}&x=1"}),
        c.record("extras-client-secret", "OAuth client loaded", extra={
            "oauth": {"client_id": "erp-sync", "client_secret": v[7], "scopes": ("orders.read", "stock.read")},
            "Client_Secret": v[8]}),
        c.record("extras-secret-of-any-type", "Credentials rotated", extra={"vault": {
            "Authorization": {"scheme": "Basic", "credentials": basic}, "api_key": 12345678,
            "password": [v[9], v[10]], "PASSWORD": None}}),
        c.record("extras-other-values", "Settlement booked", extra={
            "value_date": dt.date(2025, 11, 3), "booked_at": dt.datetime(2025, 11, 3, 9, 0, 0, 500000, dt.timezone.utc),
            "attempts": 2, "dry_run": False, "ratio": 0.25, "parent": None, "fee": Decimal("-0.50"),
            "batch_id": Obj("uuid", uuid_text(rng)), "source": Obj("path", "/data/in/settlements.csv")}),
        c.record("extras-tuples-and-depth", "Batch split", extra={
            "batch": ({"email": email(rng).value}, {"phone": phone(rng).value}),
            "meta": {"a": {"b": {"c": ["x", {"password": v[11]}]}}}, "tags": [], "attrs": {}, "note": ""}),
        c.record("extras-with-args", "Refund %s queued for %s", (Decimal("19.99"), email(rng).value),
                 extra={"payment": {"card": card(rng).value, "reference": not_luhn(rng, 18, "00")}}),
    ]
    return tuple(out), tuple(planted)


def _registering(make, planted: list):
    """``make`` that also appends each secret's value to ``planted``."""
    def made(*args, **kwargs):
        secret = make(*args, **kwargs)
        planted.append(secret.value)
        return secret
    return made


def make_format_records(rng: random.Random) -> tuple:
    """Records for JsonFormatter alone (criterion 8): every extra type, clashing keys, tricky timestamps."""
    c = _Clock(rng)
    when = dt.datetime(2025, 11, 3, 23, 59, 59, 250000, dt.timezone(dt.timedelta(hours=2)))
    out = [
        c.record("format-plain", "Nightly sync finished", level="INFO"),
        c.record("format-args", "Synced %d orders for %s in %.2f s", (rng.randint(10, 999), "EU-WEST", 1.25),
                 level="WARNING"),
        c.record("format-dict-args", "Partner %(name)s answered %(status)d", ({"name": "erp", "status": 503}),
                 level="ERROR"),
        c.record("format-types", "Settlement booked", extra={
            "amount": Decimal("1249.90"), "fee": Decimal("-0.50"), "value_date": dt.date(2025, 11, 3),
            "booked_at": when, "local_at": dt.datetime(2025, 11, 3, 8, 30), "attempts": 3, "ratio": 0.125,
            "dry_run": True, "parent": None, "batch_id": Obj("uuid", uuid_text(rng)),
            "source": Obj("path", "/data/in/settlements.csv")}, level="DEBUG"),
        c.record("format-nested", "Order upserted", extra={
            "order": {"id": not_luhn(rng, 16, "3"), "lines": [{"sku": "A-1", "price": Decimal("9.99")}],
                      "tags": ("b2b", "eu")}, "correlation_id": uuid_text(rng)}, level="INFO"),
        c.record("format-base-keys-win", "Escalated", extra={"level": 3, "logger": "partner-sdk", "ts": "2025-01-01",
                                                             "tier": "gold"}, level="CRITICAL"),
        c.record("format-multi-line", "Partner said:\nline two\tZoë Ångström", level="ERROR"),
        c.record("format-whole-second", "Tick", extra={"seq": 1}, created=float(1_762_387_200)),  # UTC midnight
        c.record("format-late-evening", "Tock", extra={"seq": 2}, created=1_762_387_199.875),
        c.record("format-small-fraction", "Tack", extra={"seq": 3}, created=1_762_390_000.0625),
    ]
    return tuple(out)
