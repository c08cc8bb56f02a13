"""Render one log event as a line of its system's format, with that system's clock and quirks.

The event is any object with the attributes of ``bundles.Event`` (at, source,
cid, level, status, message, raw, whole, tied); the renderers only write, so
the event stays the oracle for what parse_line must return.
"""
from __future__ import annotations

import json
import random
import string
from datetime import datetime, timedelta, timezone

__all__ = ["LEVEL_SPELLINGS", "MONTHS", "utc_text", "token", "offset_text", "render_runtime", "render_gateway",
           "render_erp"]

LEVEL_SPELLINGS = {"DEBUG": ("DEBUG", "debug"), "INFO": ("INFO", "info", "Info"),
                   "WARN": ("WARN", "warn", "WARNING", "warning", "Warning"), "ERROR": ("ERROR", "error", "Error")}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def utc_text(moment: datetime) -> str:
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def token(rng: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def offset_text(minutes: int, colon: bool) -> str:
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}" if colon else f"{sign}{hours:02d}{mins:02d}"


def render_runtime(rng: random.Random, event, runtime_offset: int) -> str:
    if event.whole:
        ts = event.at.strftime("%Y-%m-%dT%H:%M:%SZ")
    elif rng.random() < 0.3 or event.tied:  # a node whose clock is configured with a local offset
        local = event.at.astimezone(timezone(timedelta(minutes=runtime_offset)))
        ts = local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + offset_text(runtime_offset, True)
    else:
        ts = utc_text(event.at)
    doc = {"ts": ts, "level": rng.choice(LEVEL_SPELLINGS[event.level]), "msg": event.raw or event.message}
    if event.cid is not None:
        doc["corr_id"] = event.cid
    else:
        form = rng.randrange(3)
        if form:
            doc["corr_id"] = None if form == 1 else ""
    if event.status is not None:
        doc["http_status"] = event.status
    elif rng.random() < 0.3:
        doc["http_status"] = None
    doc["node"] = rng.choice(("rt-a", "rt-b"))
    doc["thread"] = f"worker-{rng.randrange(1, 9)}"
    keys = list(doc)
    rng.shuffle(keys)
    return json.dumps({k: doc[k] for k in keys}, ensure_ascii=rng.random() < 0.5)


def render_gateway(rng: random.Random, event, offset: int) -> str:
    local = event.at.astimezone(timezone(timedelta(minutes=offset)))
    stamp = f"{local.day:02d}/{MONTHS[local.month - 1]}/{local.year}:{local:%H:%M:%S} {offset_text(offset, False)}"
    ip = "10.9.0.4" if event.cid is None else "172.20.3.11"
    request = f"{event.raw or event.message} {rng.choice(('HTTP/1.1', 'HTTP/2.0', 'HTTP/1.0'))}"
    fields = [f"rt={rng.randrange(1, 900) / 1000:.3f}", f"X-Correlation-ID={event.cid or '-'}",
              f"upstream=crm-core-{rng.randrange(1, 4)}"]
    if event.status == 429:
        fields.append("retry_after=20")
    rng.shuffle(fields)
    size = rng.choice(("-", str(rng.randrange(2, 4000))))
    return f'{ip} - {"-" if event.cid is None else "erp-sync"} [{stamp}] "{request}" {event.status} {size} ' + " ".join(fields)


def render_erp(rng: random.Random, event, offset: int) -> str:
    local = event.at.astimezone(timezone(timedelta(minutes=offset)))
    if event.whole:
        clock = f"{local:%Y-%m-%d %H:%M:%S}"
    else:
        clock = f"{local:%Y-%m-%d %H:%M:%S}." + f"{local.microsecond // 1000:03d}"
    level = event.level if event.level != "WARN" else rng.choice(("WARN", "WARNING"))
    pairs = [f"level={level}", f'msg="{event.raw or event.message}"', f"tx={rng.randrange(16**6):06x}"]
    if event.cid is not None:
        pairs.append(f"cid={event.cid}")
    elif rng.random() < 0.5:
        pairs.append("cid=-")
    if event.status is not None:
        pairs.append(f"status={event.status}")
    rng.shuffle(pairs)
    return f"{clock} {offset_text(offset, False)} erp-db{rng.randrange(1, 3)} erp-api[{rng.randrange(100, 999)}]: " + " ".join(pairs)
