"""Read a three-system log bundle: parse each line, group by correlation ID, build timelines.

Three entry points:

- ``parse_line(line, source)`` turns one line of ``runtime.log`` (JSON lines),
  ``gateway.log`` (access-log lines) or ``erp.log`` (syslog-style key=value
  lines) into one record with a UTC timestamp, or ``None`` for anything that
  is not a log record (blank lines, stack traces, truncated JSON).
- ``group_by_correlation(records)`` groups records by correlation ID, each
  group in time order.
- ``timeline(bundle_dir, correlation_id)`` is everything the bundle says about
  one correlation ID, across the three files, in time order.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

__all__ = ["SOURCES", "parse_line", "group_by_correlation", "timeline"]

# File order is also the tie-break order for records with the same timestamp.
SOURCES = {"runtime": "runtime.log", "gateway": "gateway.log", "erp": "erp.log"}

# Month names are fixed English abbreviations; strptime's %b would follow the locale.
_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}

# [0-9] rather than \d: \d also matches non-ASCII digits.
_GATEWAY = re.compile(
    r'(\S+) (\S+) (\S+) \[([0-9]{2})/([A-Za-z]{3})/([0-9]{4}):([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})\]'
    r' "(\S+) (\S+)(?: [^"]*)?" ([0-9]{3}) (\S+)(.*)'
)
_ERP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))? ([+-])([0-9]{2})([0-9]{2})"
    r" (\S+) (\S+): (.*)"
)
_KEY_VALUE = re.compile(r'([A-Za-z_][A-Za-z0-9_.-]*)=("[^"]*"|\S*)')
_SECRET_PARAMETER = re.compile(r"(?i)\b(client_secret|password|access_token)=([^&\s\"',;}]+)")
_CREDENTIAL = re.compile(r"(?i)\b(bearer|basic) ([A-Za-z0-9._~+/=-]+)")


def mask(text: str) -> str:
    """``text`` with secret parameter values and Bearer/Basic credentials replaced by ``***``."""
    text = _SECRET_PARAMETER.sub(lambda m: f"{m.group(1)}=***", text)
    return _CREDENTIAL.sub(lambda m: f"{m.group(1)} ***", text)


def _utc_text(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` for an aware datetime."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _level(raw) -> str | None:
    if not isinstance(raw, str) or not raw.strip():
        return None
    level = raw.strip().upper()
    return "WARN" if level == "WARNING" else level


def _correlation(raw) -> str | None:
    if not isinstance(raw, str):
        return None
    raw = raw.strip()
    return None if raw in ("", "-") else raw


def _record(ts: str, source: str, correlation_id, level, status, message: str) -> dict:
    return {"ts": ts, "source": source, "correlation_id": correlation_id, "level": level,
            "status": status, "message": mask(message)}


def _runtime(line: str) -> dict | None:
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):  # RecursionError: a line of thousands of nested brackets
        return None
    if not isinstance(data, dict) or not isinstance(data.get("ts"), str):
        return None
    try:
        moment = datetime.fromisoformat(data["ts"])
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    level = _level(data.get("level"))
    if level is None:
        return None
    status = data.get("http_status")
    status = status if type(status) is int else None
    message = data.get("msg")
    return _record(_utc_text(moment), "runtime", _correlation(data.get("corr_id")), level, status,
                   message if isinstance(message, str) else "")


def _offset(sign: str, hours: str, minutes: str) -> timezone:
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-delta if sign == "-" else delta)


def _gateway(line: str) -> dict | None:
    m = _GATEWAY.fullmatch(line)
    if m is None or m.group(5).title() not in _MONTHS:
        return None
    try:
        moment = datetime(int(m.group(6)), _MONTHS[m.group(5).title()], int(m.group(4)), int(m.group(7)),
                          int(m.group(8)), int(m.group(9)), tzinfo=_offset(m.group(10), m.group(11), m.group(12)))
    except ValueError:
        return None
    status = int(m.group(15))
    fields = dict(_KEY_VALUE.findall(m.group(17)))
    level = "ERROR" if status >= 500 else "WARN" if status >= 400 else "INFO"
    return _record(_utc_text(moment), "gateway", _correlation(fields.get("X-Correlation-ID")), level, status,
                   f"{m.group(13)} {m.group(14)}")


def _erp(line: str) -> dict | None:
    m = _ERP.fullmatch(line)
    if m is None:
        return None
    fraction = (m.group(7) or "0").ljust(6, "0")
    try:
        moment = datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5)),
                          int(m.group(6)), int(fraction), tzinfo=_offset(m.group(8), m.group(9), m.group(10)))
    except ValueError:
        return None
    fields = {key: value[1:-1] if value.startswith('"') else value for key, value in _KEY_VALUE.findall(m.group(13))}
    level = _level(fields.get("level"))
    if level is None:
        return None
    status = fields.get("status", "")
    return _record(_utc_text(moment), "erp", _correlation(fields.get("cid")), level,
                   int(status) if re.fullmatch(r"[0-9]{3}", status) else None, fields.get("msg", ""))


_PARSERS = {"runtime": _runtime, "gateway": _gateway, "erp": _erp}


def parse_line(line: str, source: str) -> dict | None:
    """One log line as a record, or None when the line is not a record of ``source``'s format.

    ``source`` is ``"runtime"``, ``"gateway"`` or ``"erp"``; any other value
    raises ValueError. The record has exactly the keys ts (UTC,
    ``YYYY-MM-DDTHH:MM:SS.mmmZ``), source, correlation_id, level, status and
    message (secrets masked).
    """
    parser = _PARSERS.get(source)
    if parser is None:
        raise ValueError(f"unknown source {source!r}; expected one of {', '.join(_PARSERS)}")
    line = line.strip()
    return parser(line) if line else None


def group_by_correlation(records: list[dict]) -> dict:
    """Records with a correlation ID, grouped by it; each group sorted by ts (ties keep input order)."""
    groups: dict[str, list[dict]] = {}
    for record in records:
        correlation_id = record.get("correlation_id")
        if correlation_id:
            groups.setdefault(correlation_id, []).append(record)
    # sorted() is stable, and the fixed ts format sorts as text in time order.
    return {key: sorted(group, key=lambda r: r["ts"]) for key, group in groups.items()}


def timeline(bundle_dir: str, correlation_id: str) -> list[dict]:
    """Every record of ``correlation_id`` in the bundle's three files, in time order."""
    found = []
    for source, name in SOURCES.items():
        path = Path(bundle_dir) / name
        if not path.is_file():
            continue  # a system that sent no log contributes nothing
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                record = parse_line(line, source)
                if record is not None and record["correlation_id"] == correlation_id:
                    found.append(record)
    return sorted(found, key=lambda r: r["ts"])
