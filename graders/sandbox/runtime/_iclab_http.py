"""Trusted harness for labs whose submissions talk HTTP to a mock service, inside the sandbox.

``run(target, config, *args, options=None)`` gets the child ready, calls the
learner's entry point ``target`` (``"module:function"``) with ``config`` and
``args``, and answers with plain data::

    {"value": <what the entry point returned>, "error": None or {"type", "message", "traceback"}}

Getting ready means:

- virtual time: ``time.sleep``, ``time.time``, ``time.monotonic`` (and their
  ``_ns`` twins) and ``datetime.datetime.now``/``utcnow``/``today`` go
  through the grader's clock (``_iclab_rpc``), so a 30-second Retry-After
  costs no real time and the mock's clock and the learner's agree;
- dilated timeouts: the read timeout a submission gives ``requests`` is
  divided by the clock's dilation before it reaches the socket, because the
  mock holds a "slow" response for that fraction of its virtual length;
- a leash: after ``max_requests`` requests, or when the grader says the
  run used up its virtual time, ``Stopped`` (a BaseException, which
  ``except Exception`` lets through) ends the run;
- log records and printed output leave as they are written: a handler on
  the root logger at DEBUG sends each record (logger, level, message, the
  formatted line) to the grader with ``_iclab_rpc.call("log.record", ...)``
  at emit time, and ``sys.stdout``/``sys.stderr`` send each line with
  ``"log.output"``. The grader stamps each one with the request count and
  the virtual time it arrived at.

Nothing here is trusted by the grader: the learner's code runs in this
process and could change any of it. Verdicts come from the mock's journal
and from what reached the grader while the run went on. A submission that
stops its records from leaving only loses the checks that need them (the
ticket names log events that must arrive). Standard library (plus
``requests``, when installed) only: this file is copied into the sandbox's
runtime folder.
"""
from __future__ import annotations

import datetime as _datetime
import importlib
import logging
import random
import sys
import time
import traceback

import _iclab_rpc
import _iclab_wire

MAX_LOG_LINES = 2000
MAX_LINE_CHARS = 2000
_BASE_DATETIME = _datetime.datetime
_state = {"installed": False, "dilation": 100.0, "min_read": 0.1, "max_requests": 100, "requests": 0,
          "stopped": None}


class Stopped(BaseException):
    """The grader ended this run; a BaseException so that ``except Exception`` in learner code lets it through."""


def _rpc(name: str, *args):
    if _state["stopped"]:
        raise Stopped(_state["stopped"])
    try:
        return _iclab_rpc.call(name, *args)
    except RuntimeError as exc:
        text = str(exc)
        if text.startswith("StopRun:"):
            _state["stopped"] = text.partition(":")[2].strip() or "stopped by the grader"
            raise Stopped(_state["stopped"]) from None
        raise


def _sleep(seconds) -> None:
    seconds = float(seconds)  # a TypeError for non-numbers, as time.sleep gives
    if seconds != seconds or seconds < 0:
        raise ValueError("sleep length must be non-negative")
    _rpc("clock.sleep", seconds)


def _time() -> float:
    return float(_rpc("clock.now"))


def _monotonic() -> float:
    return float(_rpc("clock.monotonic"))


class _VirtualDatetime(_BASE_DATETIME):
    """datetime whose now(), utcnow() and today() read the grader's clock."""

    @classmethod
    def now(cls, tz=None):
        return cls.fromtimestamp(_time(), tz)

    @classmethod
    def utcnow(cls):
        return cls.fromtimestamp(_time(), _datetime.timezone.utc).replace(tzinfo=None)

    @classmethod
    def today(cls):
        return cls.fromtimestamp(_time())


def _scaled_read(value):
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return value  # None waits forever; nonsense is left for requests to refuse
    return max(float(value) / _state["dilation"], _state["min_read"])


def _scaled(timeout):
    """The timeout requests should use for real: connect as given, read divided by the dilation."""
    if isinstance(timeout, tuple) and len(timeout) == 2:
        return (timeout[0], _scaled_read(timeout[1]))
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        return (timeout, _scaled_read(timeout))
    try:
        from urllib3.util import Timeout
    except ImportError:
        return timeout
    if isinstance(timeout, Timeout):
        return Timeout(connect=timeout.connect_timeout, read=_scaled_read(timeout.read_timeout))
    return timeout


def _install_requests() -> None:
    try:
        from requests.adapters import HTTPAdapter
    except ImportError:  # a submission that does not use requests gets no timeout scaling
        return
    original = HTTPAdapter.send
    if getattr(original, "_iclab", False):
        return

    def send(self, request, *args, **kwargs):
        if _state["stopped"]:
            raise Stopped(_state["stopped"])
        _state["requests"] += 1
        if _state["requests"] > _state["max_requests"]:
            _state["stopped"] = f"it sent more than {_state['max_requests']} requests in one run"
            raise Stopped(_state["stopped"])
        if "timeout" in kwargs:
            kwargs["timeout"] = _scaled(kwargs["timeout"])
        elif len(args) >= 2:  # send(request, stream, timeout, ...)
            args = (args[0], _scaled(args[1]), *args[2:])
        return original(self, request, *args, **kwargs)

    send._iclab = True
    HTTPAdapter.send = send


def _install(options: dict) -> None:
    _state["dilation"] = float(options.get("dilation", 100.0))
    _state["min_read"] = float(options.get("min_read_timeout", 0.1))
    _state["max_requests"] = int(options.get("max_requests", 100))
    if _state["installed"]:
        return
    time.sleep = _sleep
    time.time = _time
    time.monotonic = _monotonic
    time.time_ns = lambda: int(_time() * 1e9)
    time.monotonic_ns = lambda: int(_monotonic() * 1e9)
    _datetime.datetime = _VirtualDatetime
    _install_requests()
    _state["installed"] = True


def _send(name: str, payload) -> bool:
    """Hand one record to the grader now; False once the grader (or this run) wants no more."""
    try:
        _iclab_rpc.call(name, payload)
    except Exception:  # the grader refused it (over its cap) or is gone: nothing to do about it here
        return False
    return True


class _Capture(logging.Handler):
    """Sends every record, whatever logger it came from, to the grader at emit time."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.sent = 0
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if self.sent >= MAX_LOG_LINES:
            return
        try:
            message = str.__str__(record.getMessage())
        except Exception:  # a bad format string: logging writes nothing, but the grader still scans the args
            message = None
        try:
            line = self.format(record)
        except Exception:
            line = f"{record.levelname} {record.name} {record.msg!r} {record.args!r}"
        self.sent += 1
        _send("log.record", [str(record.name)[:200], str(record.levelname)[:20],
                             None if message is None else message[:MAX_LINE_CHARS * 4],
                             str.__str__(line)[:MAX_LINE_CHARS * 4]])


class _Forward:
    """A text stream that sends each line written to it to the grader (and to the stream it replaces)."""

    def __init__(self, inner):
        self.inner = inner
        self.pending = ""
        self.sent = 0

    def write(self, text) -> int:
        text = str(text)
        try:
            self.inner.write(text)
        except Exception:
            pass
        self.pending += text
        if "\n" in self.pending:
            *lines, self.pending = self.pending.split("\n")
            for line in lines:
                self._line(line)
        if len(self.pending) > MAX_LINE_CHARS * 4:
            self.flush()
        return len(text)

    def _line(self, line: str) -> None:
        if self.sent < MAX_LOG_LINES:
            self.sent += 1
            _send("log.output", line[:MAX_LINE_CHARS * 4])

    def flush(self) -> None:
        if self.pending:
            line, self.pending = self.pending, ""
            self._line(line)

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _plain(value, depth: int = 0):
    """Replace virtual datetimes by plain ones, so the wire can carry them."""
    if depth > 50:
        return value
    if isinstance(value, _BASE_DATETIME) and type(value) is not _BASE_DATETIME:
        return _BASE_DATETIME(value.year, value.month, value.day, value.hour, value.minute, value.second,
                              value.microsecond, value.tzinfo, fold=value.fold)
    if type(value) is dict:
        return {k: _plain(v, depth + 1) for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_plain(v, depth + 1) for v in value)
    return value


def _error(exc: BaseException) -> dict:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "_iclab_" not in f.filename]
    try:
        message = str(exc)
    except Exception:
        message = "<str() of the exception failed>"
    return {"type": type(exc).__name__, "message": message[:2000],
            "traceback": "".join(traceback.format_list(frames[-8:]))[-4000:]}


def run(target: str, config: dict, *args, options: dict | None = None) -> dict:
    """Call ``target(config, *args)`` under virtual time, records sent as they happen; see the module docstring."""
    options = options or {}
    _install(options)
    _state["requests"] = 0
    _state["stopped"] = None
    random.seed(options.get("seed", 0))  # learners who jitter with the random module jitter the same every grading
    capture = _Capture()
    root = logging.getLogger()
    level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    streams = sys.stdout, sys.stderr
    out = _Forward(streams[0])
    sys.stdout = sys.stderr = out
    value, error = None, None
    module_name, _, function_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        function = getattr(module, function_name)
        value = function(config, *args)
    except Stopped:
        pass  # the grader knows why it stopped the run
    except BaseException as exc:  # the learner's exception is evidence, not a harness failure
        error = _error(exc)
    finally:
        root.removeHandler(capture)
        root.setLevel(level)
        out.flush()
        sys.stdout, sys.stderr = streams
    try:
        value = _plain(value)
        _iclab_wire.to_plain(value)  # only to know now: the child's answer would fail whole
    except (_iclab_wire.WireError, RecursionError, TypeError, ValueError) as exc:
        value, error = None, {"type": "WireError", "message": str(exc)[:500], "traceback": ""}
    return {"value": value, "error": error}
