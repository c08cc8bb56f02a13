"""Plain-data wire format shared by the grader and the sandboxed child.

Values cross the pipe as JSON, never as pickles: the parent decodes with
``json.loads`` and a small object hook, so nothing the child sends can run
code in the grader. Types JSON lacks travel as tagged objects
``{"$t": tag, "v": value}``.

This file is imported by the child with ``python -I`` from a copied runtime
folder, so it must depend on the standard library only.
"""
from __future__ import annotations

import base64
import datetime as _dt
import decimal
import json

MAX_DEPTH = 100

# Bound once, before any learner code runs: a submission that patches the json
# module for its own purposes must not break the channel by accident.
_json_dumps = json.dumps
_json_loads = json.loads


class WireError(ValueError):
    """A value cannot be sent as plain data."""


def to_plain(value, _depth=0, budget=None):
    """Return a JSON-ready copy of ``value``, tagging the types JSON lacks.

    ``budget``: refuse (WireError) once the copy would clearly pass this many
    bytes, before building it: a 100 MB string fails at once, not after
    being copied and encoded.
    """
    if budget is not None:
        left = [budget]
        return _bounded(value, left, budget)
    if _depth > MAX_DEPTH:
        raise WireError(f"value nested deeper than {MAX_DEPTH} levels")
    t = type(value)
    if value is None or t is bool or t is str:
        return value
    if t is int:
        return value
    if t is float:
        if value != value or value in (float("inf"), float("-inf")):
            return {"$t": "float", "v": repr(value)}
        return value
    if t is list:
        return [to_plain(v, _depth + 1) for v in value]
    if t is tuple:
        return {"$t": "tuple", "v": [to_plain(v, _depth + 1) for v in value]}
    if t is dict:
        if all(type(k) is str for k in value) and "$t" not in value:
            return {k: to_plain(v, _depth + 1) for k, v in value.items()}
        return {"$t": "dict", "v": [[to_plain(k, _depth + 1), to_plain(v, _depth + 1)] for k, v in value.items()]}
    if t is decimal.Decimal:
        return {"$t": "decimal", "v": str(value)}
    if t is _dt.datetime:
        return {"$t": "datetime", "v": value.isoformat()}
    if t is _dt.date:
        return {"$t": "date", "v": value.isoformat()}
    if t is bytes or t is bytearray:
        return {"$t": "bytes", "v": base64.b64encode(bytes(value)).decode("ascii")}
    if t is set or t is frozenset:
        items = [to_plain(v, _depth + 1) for v in value]
        items.sort(key=lambda v: json.dumps(v, sort_keys=True))
        return {"$t": "set", "v": items}
    # Subclasses of plain types (OrderedDict, StrEnum, IntEnum...) are sent as
    # their base type; their own methods never reach the grader.
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__index__(value)
    if isinstance(value, float):
        return to_plain(float.__float__(value), _depth)
    if isinstance(value, dict):
        return to_plain(dict(dict.items(value)), _depth)
    if isinstance(value, (list, tuple)):
        return to_plain(list(value), _depth)
    raise WireError(
        f"a value of type {t.__module__}.{t.__qualname__} cannot be returned; "
        "return plain data (dict, list, str, int, float, bool, None, Decimal, datetime)"
    )


def _size(value) -> int:
    """A lower bound on the bytes ``value`` takes on the wire, counting only what is cheap to see."""
    t = type(value)
    if t is str or isinstance(value, str):
        return len(value) + 2
    if t is bytes or t is bytearray:
        return len(value) * 4 // 3 + 2
    if isinstance(value, (list, tuple, dict, set, frozenset)):
        return 2 + len(value)
    return 4


def _bounded(value, left: list, budget: int, depth: int = 0):
    """``to_plain`` that walks ``value`` first, spending ``left[0]``; WireError when it runs out."""
    stack = [(value, depth)]
    while stack:
        item, level = stack.pop()
        if level > MAX_DEPTH:
            raise WireError(f"value nested deeper than {MAX_DEPTH} levels")
        left[0] -= _size(item)
        if left[0] < 0:
            raise WireError(f"the return value is over the {budget}-byte limit")
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in dict.values(item))
            stack.extend((k, level + 1) for k in dict.keys(item))
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend((v, level + 1) for v in item)
    return to_plain(value)


def _hook(obj):
    tag = obj.get("$t")
    if tag is None or len(obj) != 2 or "v" not in obj:
        return obj
    v = obj["v"]
    if tag == "tuple":
        return tuple(v)
    if tag == "dict":
        return {_hashable(k): val for k, val in v}
    if tag == "decimal":
        return decimal.Decimal(v)
    if tag == "float":
        return float(v)
    if tag == "datetime":
        return _dt.datetime.fromisoformat(v)
    if tag == "date":
        return _dt.date.fromisoformat(v)
    if tag == "bytes":
        return base64.b64decode(v)
    if tag == "set":
        return frozenset(_hashable(x) for x in v)
    return obj


def _hashable(value):
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


def dumps(message) -> bytes:
    """Encode one protocol message as a single JSON line."""
    return _json_dumps(message, separators=(",", ":"), allow_nan=False).encode("utf-8") + b"\n"


def loads(line: bytes):
    """Decode one protocol message; tagged values become Python values."""
    return _json_loads(line, object_hook=_hook)
