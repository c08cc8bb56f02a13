"""Trusted harness for pii-logging: drive the learner's mask_text, PiiFilter and JsonFormatter inside the sandbox.

It reports observations only, as plain data, and never a verdict: what
``mask_text`` returned for each text, what ``PiiFilter.filter`` returned and
left on each record (message, args, extras) together with the caller's own
``extra``/args objects as they are after the filter ran, and the line
``JsonFormatter.format`` wrote for each record. Every comparison (was it
masked, was the caller's object changed, is the line the documented JSON)
is made by the grader, which holds what it sent. The learner's code runs in
this process, so an answer can be forged; a forged answer is then judged
like any value the submission returned.

Standard library only: this file is copied into the sandbox's runtime folder.
It does no work at import (the fork server imports it once for every child).
"""
from __future__ import annotations

import datetime as _dt
import decimal
import logging
import os
import pathlib
import time
import uuid

MODULE = "masking_filter"
_LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING, "ERROR": logging.ERROR,
           "CRITICAL": logging.CRITICAL}
_MAX_CHARS = 20_000  # a longer answer (log lines are short) is described by its length instead of sent
_OBJECTS = {"uuid": uuid.UUID, "path": pathlib.PurePosixPath}
# The runtime's hosts are not on UTC: a formatter that writes local time shows it.
_HOST_TZ = "<-0330>3:30"
MISSING = "<attribute missing>"


def _plain(value, depth: int = 0):
    """A plain-data copy of a value as found (containers rebuilt; foreign objects described as text)."""
    if depth > 20:
        return "<nested too deep>"
    kind = type(value)
    if value is None or kind in (bool, int, float, decimal.Decimal, _dt.date, _dt.datetime):
        return value
    if isinstance(value, str):
        text = str.__str__(value)
        return text if len(text) <= _MAX_CHARS else f"<str of {len(text)} characters>"
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, dict):
        return {str(k): _plain(v, depth + 1) for k, v in list(dict.items(value))[:200]}
    if isinstance(value, list):
        return [_plain(v, depth + 1) for v in list(value)[:200]]
    if isinstance(value, tuple):
        return tuple(_plain(v, depth + 1) for v in tuple(value)[:200])
    try:
        return f"<{kind.__name__}: {str(value)[:100]}>"
    except Exception:
        return f"<{kind.__name__}>"


def _problem(exc: BaseException) -> str:
    try:
        return f"{type(exc).__name__}: {exc}"[:300]
    except Exception:
        return type(exc).__name__


def _build(value):
    """The grader's plain data with its tagged objects ({"$obj": "uuid", "v": ...}) made real."""
    if isinstance(value, dict):
        if set(value) == {"$obj", "v"}:
            return _OBJECTS[value["$obj"]](value["v"])
        return {k: _build(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_build(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_build(v) for v in value)
    return value


def _record(spec: dict, extra) -> logging.LogRecord:
    args = spec.get("args")
    args = (args,) if isinstance(args, dict) else tuple(args or ())  # logger.info(msg, {...}) passes one mapping
    logger = logging.getLogger(spec["logger"])
    record = logger.makeRecord(spec["logger"], _LEVELS[spec["level"]], "partner_sync.py", 42, spec["msg"], args,
                               None, "sync", extra)
    record.created = spec["created"]
    record.msecs = (spec["created"] - int(spec["created"])) * 1000
    return record


def mask_all(texts: list) -> list:
    """What the learner's mask_text returned for each text: {"value": str} | {"raised": ...} | {"returned": type}."""
    import importlib

    mask_text = getattr(importlib.import_module(MODULE), "mask_text", None)
    out, oversized = [], 0
    for text in texts:
        if oversized >= 3:  # a bound on the child's work, not a verdict: the grader judges each answer
            out.append({"returned": f"nothing (not called: 3 answers were already over {_MAX_CHARS} characters)"})
            continue
        try:
            value = mask_text(text)
        except Exception as exc:
            out.append({"raised": _problem(exc)})
            continue
        if isinstance(value, str):
            value = str.__str__(value)
            oversized += len(value) > _MAX_CHARS
            out.append({"value": value} if len(value) <= _MAX_CHARS else {"returned": f"a str of {len(value)} characters"})
        else:
            out.append({"returned": type(value).__name__})
    return out


def emit(specs: list) -> list:
    """Each record through the learner's PiiFilter: what filter() returned and what it left behind."""
    import importlib

    module = importlib.import_module(MODULE)
    try:
        pii_filter, problem = module.PiiFilter(), None
    except Exception as exc:
        pii_filter, problem = None, f"PiiFilter() failed: {_problem(exc)}"
    return [_emit_one(pii_filter, problem, spec) for spec in specs]


def _emit_one(pii_filter, problem: str | None, spec: dict) -> dict:
    extra = _build(spec.get("extra"))
    args = _build(spec.get("args"))
    record = _record({**spec, "args": args}, extra)
    out = {"returned": None, "raised": problem, "message": None, "message_error": None, "args": None,
           "extras": {}, "callers": None}
    if problem is None:
        try:
            out["returned"] = _plain(pii_filter.filter(record))
        except Exception as exc:  # the learner's filter raised
            out["raised"] = _problem(exc)
    try:
        out["message"] = _plain(record.getMessage())
    except Exception as exc:
        out["message_error"] = _problem(exc)
    out["args"] = _plain(getattr(record, "args", MISSING))
    out["extras"] = {key: _plain(getattr(record, key, MISSING)) for key in (extra or {})}
    # The caller's own objects, as they are now: the grader compares them with what it sent.
    out["callers"] = {"extra": _plain(extra), "args": _plain(args)}
    return out


def format_all(specs: list) -> list:
    """Each record straight through the learner's JsonFormatter (no filter): the line it wrote, or why not."""
    import importlib

    module = importlib.import_module(MODULE)
    saved = os.environ.get("TZ")
    os.environ["TZ"] = _HOST_TZ
    time.tzset()
    try:
        try:
            formatter, problem = module.JsonFormatter(), None
        except Exception as exc:
            formatter, problem = None, f"JsonFormatter() failed: {_problem(exc)}"
        return [_format_one(formatter, problem, spec) for spec in specs]
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()


def _format_one(formatter, problem: str | None, spec: dict) -> dict:
    if problem is not None:
        return {"raised": problem}
    record = _record({**spec, "args": _build(spec.get("args"))}, _build(spec.get("extra")))
    try:
        line = formatter.format(record)
    except Exception as exc:  # the learner's formatter failed on this record
        return {"raised": _problem(exc)}
    if not isinstance(line, str):
        return {"returned": type(line).__name__}
    line = str.__str__(line)
    return {"line": line} if len(line) <= _MAX_CHARS else {"returned": f"a str of {len(line)} characters"}
