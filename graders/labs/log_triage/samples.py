"""Single hidden lines for parse_line, written to no file: the edge classes a story would not reach.

Every month in the gateway's clock, offsets on both sides of UTC (half and
three-quarter hours, -12:00 and +14:00) across day, month and year
boundaries, every status class at its boundaries, JSON values of the wrong
type where the contract says what they mean, several secrets in one line with
each terminator the masking rule names, surrounding whitespace, lines that are
not records, and sources that do not exist. Each expected record is written
here by construction, never parsed.
"""
from __future__ import annotations

import json
import random
import string
from datetime import datetime, timedelta, timezone

from .bundles import Bundle, Event, Line
from .render import render_gateway, token, utc_text

__all__ = ["make_samples", "unknown_sources"]


def _at(local: str, offset: int) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=timezone(timedelta(minutes=offset)))


def _record(at: datetime, source: str, cid, level: str, status, message: str) -> dict:
    return {"ts": utc_text(at), "source": source, "correlation_id": cid, "level": level, "status": status,
            "message": message}


# (local wall-clock time, offset in minutes, method, status, correlation id): one line per month
_GATEWAY = [
    ("2026-01-01T00:20:00", 330, "GET", 200, "gw-0101"),
    ("2024-02-29T23:59:59", -210, "POST", 204, "gw-0229"),
    ("2025-03-01T01:00:00", 780, "PUT", 301, "-"),
    ("2025-04-30T22:15:00", -600, "HEAD", 304, "gw-0430"),
    ("2025-05-31T23:00:00", 0, "PATCH", 400, "gw-0531"),
    ("2025-06-15T12:00:00", 345, "DELETE", 401, "gw-0615"),
    ("2025-07-01T00:00:00", 840, "GET", 404, "gw-0701"),
    ("2025-08-31T23:30:00", -570, "PATCH", 429, "gw-0831"),
    ("2025-09-09T09:09:09", 570, "POST", 499, "gw-0909"),
    ("2025-10-26T02:30:00", 120, "GET", 500, "gw-1026"),
    ("2025-11-30T18:45:00", -480, "POST", 502, "-"),
    ("2025-12-31T23:59:59", -720, "GET", 503, "gw-1231"),
]


def _gateway(rng: random.Random) -> list[tuple[str, dict, tuple[str, ...]]]:
    out = []
    secrets = [token(rng, 16) for _ in range(4)]
    paths = {2: f"/oauth2/token?access_token={secrets[0]}&client_secret={secrets[1]}&scope=orders",
             7: f"/api/v2/orders/A-9?password={secrets[2]}",
             11: f"/oauth2/token?client_secret={secrets[3]}"}
    for i, (local, offset, method, status, cid) in enumerate(_GATEWAY):
        at = _at(local, offset).astimezone(timezone.utc)
        path = paths.get(i, f"/api/v2/orders/CRM-{7000 + i}")
        raw = f"{method} {path}"
        carried = tuple(s for s in secrets if s in path)
        masked = raw
        for secret in carried:
            masked = masked.replace(secret, "***")
        level = "ERROR" if status >= 500 else "WARN" if status >= 400 else "INFO"
        event = Event(at, "gateway", None if cid == "-" else cid, level, status, masked, raw=raw)
        text = render_gateway(rng, event, offset)
        out.append((text, _record(at, "gateway", event.cid, level, status, masked), carried))
    return out


def _runtime(rng: random.Random) -> list[tuple[str, dict, tuple[str, ...]]]:
    p, c, a, b = (token(rng, 14) for _ in range(4))
    jwt = "eyJ" + token(rng, 20) + "." + token(rng, 12, string.ascii_letters + "~+/=-_")
    basic = token(rng, 20) + "=="
    rows = [
        # (document as logged, UTC instant, level, status, message, secrets)
        ({"level": "Warning", "ts": "2025-06-30T23:59:59.999-03:30", "corr_id": "rt-1", "http_status": "503",
          "msg": "upstream said 503 as text"}, "2025-07-01T03:29:59.999+00:00", "WARN", None,
         "upstream said 503 as text", ()),
        ({"msg": "status logged as a flag", "http_status": True, "ts": "2026-01-01T05:44:59+05:45", "level": "info",
          "corr_id": "rt-2"}, "2025-12-31T23:59:59+00:00", "INFO", None, "status logged as a flag", ()),
        ({"ts": "2025-01-01T00:00:00.050+00:00", "level": "ERROR", "corr_id": "", "http_status": 500},
         "2025-01-01T00:00:00.050+00:00", "ERROR", 500, "", ()),
        ({"ts": "2024-02-29T12:00:00Z", "level": "DEBUG", "msg": 42, "corr_id": None}, "2024-02-29T12:00:00+00:00",
         "DEBUG", None, "", ()),
        ({"corr_id": "rt-5", "msg": None, "ts": "2025-03-30T01:59:59.001+14:00", "level": "warn", "http_status": 499},
         "2025-03-29T11:59:59.001+00:00", "WARN", 499, "", ()),
        ({"ts": "2025-10-05T00:15:00.000-12:00", "level": "Error", "http_status": 504, "corr_id": "rt-6",
          "msg": "gateway timeout"}, "2025-10-05T12:15:00+00:00", "ERROR", 504, "gateway timeout", ()),
        ({"ts": "2025-04-01T10:00:00.123Z", "level": "INFO", "corr_id": "rt-7",
          "msg": f"token refresh: grant_type=password&username=svc&password={p}&client_secret={c} sent"},
         "2025-04-01T10:00:00.123+00:00", "INFO", None,
         "token refresh: grant_type=password&username=svc&password=***&client_secret=*** sent", (p, c)),
        ({"msg": f'callback "https://crm.example/cb?access_token={a}" returned 302, retry with access_token={b}, later',
          "ts": "2025-04-01T12:00:00.999+05:30", "level": "WARN", "corr_id": "rt-8"}, "2025-04-01T06:30:00.999+00:00",
         "WARN", None, 'callback "https://crm.example/cb?access_token=***" returned 302, retry with access_token=***, later',
         (a, b)),
        ({"ts": "2025-04-01T12:00:01Z", "level": "DEBUG", "corr_id": "rt-9",
          "msg": f"cfg {{password={p}}} client_secret={c};timeout=30 Authorization: Bearer {jwt}"},
         "2025-04-01T12:00:01+00:00", "DEBUG", None, "cfg {password=***} client_secret=***;timeout=30 Authorization: Bearer ***",
         (p, c, jwt)),
        ({"ts": "2025-04-01T12:00:02.002Z", "level": "DEBUG", "corr_id": "rt-10", "ctx": {"level": "ERROR"},
          "msg": f"headers Basic {basic}, Bearer {jwt}"}, "2025-04-01T12:00:02.002+00:00", "DEBUG", None,
         "headers Basic ***, Bearer ***", (basic, jwt)),
    ]
    out = []
    for doc, utc, level, status, message, carried in rows:
        at = datetime.fromisoformat(utc)
        out.append((json.dumps(doc, ensure_ascii=False), _record(at, "runtime", doc.get("corr_id") or None, level, status,
                                                                  message), carried))
    return out


def _erp(rng: random.Random) -> list[tuple[str, dict, tuple[str, ...]]]:
    p, q = token(rng, 12), token(rng, 12)
    basic = token(rng, 18, string.ascii_letters + "+/") + "="
    rows = [
        ('2025-03-09 02:30:00.250 +0530 erp-h1 erp-x[11]: msg="a = b, c" level=INFO cid=e-1 status=201',
         "2025-03-08T21:00:00.250+00:00", "e-1", "INFO", 201, "a = b, c", ()),
        ("2025-12-31 23:59:59 -1100 erp-h2 erp-x[12]: cid=- level=ERROR status=503",
         "2026-01-01T10:59:59+00:00", None, "ERROR", 503, "", ()),
        (f'2025-06-01 00:00:00.001 -0330 erp-h1 erp-x[13]: level=WARNING msg="login password={p}; retry with '
         f'password={q}, then Basic {basic}" cid=e-3', "2025-06-01T03:30:00.001+00:00", "e-3", "WARN", None,
         "login password=***; retry with password=***, then Basic ***", (p, q, basic)),
        ('2024-02-29 23:30:00.999 +1345 erp-h3 erp-x[14]: status=422 cid=e-4 level=WARN msg="E-VAL-77: postcode"',
         "2024-02-29T09:45:00.999+00:00", "e-4", "WARN", 422, "E-VAL-77: postcode", ()),
    ]
    return [(text, _record(datetime.fromisoformat(utc), "erp", cid, level, status, message), carried)
            for text, utc, cid, level, status, message, carried in rows]


_NON_RECORDS = {
    "runtime": ('{"ts": "2025-05-05T10:00:00Z", "msg": "no level", "corr_id": "c-1"}',
                '{"ts": "2025-05-05T10:00:00Z", "level": "   ", "msg": "blank level"}',
                '{"ts": "2025-05-05T10:00:00Z", "level": 7, "msg": "numeric level"}',
                '{"ts": "2025-05-05T10:00:00Z", "level": null, "msg": "null level"}',
                '{"ts": "2025-05-05T10:00:00.000", "level": "INFO", "msg": "no offset"}',
                '{"ts": 1746439200, "level": "INFO", "msg": "epoch seconds"}',
                '{"ts": "2025-02-30T10:00:00Z", "level": "INFO", "msg": "30 February"}',
                '"just a string"', "42", "null", "true", "{}", '{"ts": "2025-05-05T10:00:00Z", "level": "INFO"'),
    "gateway": ('10.0.0.1 - - [30/Feb/2025:10:00:00 +0000] "GET /a HTTP/1.1" 200 2 X-Correlation-ID=g-1',
                '10.0.0.1 - - [31/Apr/2025:10:00:00 +0000] "GET /a HTTP/1.1" 200 2 X-Correlation-ID=g-2',
                '10.0.0.1 - - [05/Sept/2025:10:00:00 +0000] "GET /a HTTP/1.1" 200 2 X-Correlation-ID=g-4',
                "#Fields: client user time request status size", "\t"),
    "erp": ('2025-02-30 10:00:00.000 +0000 h p[1]: level=INFO cid=x-1 msg="30 February"',
            '2025-05-05 10:00:00 +0000 h p[1]: cid=x-3 msg="no level"',
            '2025-05-05 10:00:00 +0000 h p[1]: level= cid=x-4 msg="empty level"',
            "java.lang.IllegalStateException: ledger period closed", "\tat com.example.Erp.run(Erp.java:1)",
            "Caused by: java.io.IOException: broken pipe"),
}


def _padded(rng: random.Random, text: str) -> str:
    """Surrounding whitespace the contract says to ignore, now and then."""
    return rng.choice(("", " ", "\t", "  ")) + text + rng.choice(("", " ", "\r\n", "\n", " \t"))


def make_samples(rng: random.Random) -> Bundle:
    """The single lines as a bundle of its own that no file is written for."""
    lines, numbers = [], {"runtime": 0, "gateway": 0, "erp": 0}
    for source, rows in (("gateway", _gateway(rng)), ("runtime", _runtime(rng)), ("erp", _erp(rng))):
        for text, expected, carried in rows:
            numbers[source] += 1
            lines.append(Line(source, numbers[source], _padded(rng, text), expected, carried))
    for source, texts in _NON_RECORDS.items():
        for text in texts:
            numbers[source] += 1
            lines.append(Line(source, numbers[source], _padded(rng, text), None))
    return Bundle("hidden/samples", tuple(lines), absent=("runtime", "gateway", "erp"))


def unknown_sources(samples: Bundle) -> tuple[tuple[str, str], ...]:
    """Good lines named with sources the contract does not know: each must raise ValueError."""
    good = {line.source: line.text.strip() for line in samples.lines if line.expected}
    return ((good["runtime"], "firewall"), (good["gateway"], "Gateway"), (good["erp"], "erp.log"),
            (good["runtime"], "runtime "), ("", ""))

