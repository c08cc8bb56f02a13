"""Trusted harness for pii-logging: log records through the learner's filter and formatter, inside the sandbox.

The grader sends plain-data record specs; this module builds each record
the way ``Logger.makeRecord`` does, passes it through a handler that carries
the learner's ``PiiFilter`` and ``JsonFormatter``, and answers with plain
data only: the message and extras as the filter left them, the formatted
line, and whether the caller's ``extra`` objects were changed. One record's
failure is reported for that record alone. The grader treats every answer as
untrusted: the learner's code ran in this process.

Standard library only: this file is copied into the sandbox's runtime folder.
"""
from __future__ import annotations

import copy
import datetime as _dt
import decimal
import logging

MODULE = "masking_filter"
_LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING, "ERROR": logging.ERROR}


def _plain(value, depth: int = 0):
    """A plain-data copy of whatever the learner's filter left on the record."""
    if depth > 20:
        return "<nested too deep>"
    if value is None or isinstance(value, (bool, int, float, decimal.Decimal, _dt.date)):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, dict):
        return {str(k): _plain(v, depth + 1) for k, v in list(value.items())[:200]}
    if isinstance(value, (list, tuple)):
        return [_plain(v, depth + 1) for v in list(value)[:200]]
    return f"<{type(value).__name__}>"


def _problem(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


class _Capture(logging.Handler):
    """Keeps the last record it emitted and the learner formatter's line for it."""

    def __init__(self, formatter_problem: str | None):
        super().__init__(logging.DEBUG)
        self.formatter_problem = formatter_problem
        self.line = None
        self.line_error = None

    def emit(self, record: logging.LogRecord) -> None:
        """Format with the learner's formatter; keep the line or the error."""
        if self.formatter_problem:
            self.line_error = self.formatter_problem
            return
        try:
            line = self.format(record)
            self.line = line if isinstance(line, str) else None
            if self.line is None:
                self.line_error = f"format() returned {type(line).__name__}, not str"
        except Exception as exc:  # the learner's formatter failed on this record
            self.line_error = _problem(exc)


def _one(handler: _Capture, spec: dict) -> dict:
    extra = spec.get("extra")
    before = copy.deepcopy(extra)
    args = spec.get("args")
    args = (args,) if isinstance(args, dict) else tuple(args or ())  # logger.info(msg, {...}) passes one mapping
    logger = logging.getLogger(spec["logger"])
    record = logger.makeRecord(spec["logger"], _LEVELS[spec["level"]], "partner_sync.py", 42, spec["msg"], args,
                               None, "sync", extra)
    record.created = spec["created"]
    record.msecs = (spec["created"] - int(spec["created"])) * 1000
    handler.line = handler.line_error = None
    out = {"kept": False, "error": None, "message": None, "extras": {}, "line": None, "line_error": None,
           "mutated": False}
    try:
        out["kept"] = bool(handler.handle(record))
    except Exception as exc:  # the learner's filter raised
        out["error"] = _problem(exc)
    out["line"], out["line_error"] = handler.line, handler.line_error
    try:
        out["message"] = str.__str__(record.getMessage())
    except Exception as exc:
        out["error"] = out["error"] or f"getMessage() failed after your filter ran: {_problem(exc)}"
    out["extras"] = {key: _plain(getattr(record, key, None)) for key in (extra or {})}
    try:
        out["mutated"] = bool(extra != before)
    except Exception:
        out["mutated"] = True
    return out


def emit(specs: list) -> list:
    """Log every spec through one handler carrying the learner's PiiFilter and JsonFormatter."""
    import importlib

    module = importlib.import_module(MODULE)
    # A missing or broken formatter costs the formatter's check, not the filter's.
    try:
        formatter, problem = module.JsonFormatter(), None
    except Exception as exc:
        formatter, problem = None, f"JsonFormatter() failed: {_problem(exc)}"
    handler = _Capture(problem)
    handler.addFilter(module.PiiFilter())
    if formatter is not None:
        handler.setFormatter(formatter)
    return [_one(handler, spec) for spec in specs]
