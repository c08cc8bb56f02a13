"""The plain-data wire format: round trips, refusals, and no code execution on decode."""
from __future__ import annotations

import datetime as dt
import decimal
import enum
from collections import OrderedDict

import pytest

from graders.sandbox.runtime import _iclab_wire as wire


@pytest.mark.parametrize("value", [
    None, True, 0, -7, 3.5, "text", [1, "a"], {"a": [1, {"b": None}]}, (1, 2), {1: "int key"},
    decimal.Decimal("12.30"), dt.datetime(2024, 3, 14, 9, 5, tzinfo=dt.timezone.utc), dt.date(2024, 2, 29),
    b"\x00raw", float("nan"), {"$t": "looks tagged"},
])
def test_round_trip(value):
    back = wire.loads(wire.dumps({"v": wire.to_plain(value)}))["v"]
    if isinstance(value, float) and value != value:
        assert back != back
    else:
        assert back == value and type(back) is type(value)


def test_subclasses_travel_as_their_base_type():
    class Colour(str, enum.Enum):
        RED = "red"
    assert wire.to_plain(Colour.RED) == "red" and type(wire.to_plain(Colour.RED)) is str
    assert wire.to_plain(OrderedDict(a=1)) == {"a": 1}


def test_arbitrary_objects_are_refused_with_a_clear_message():
    class Thing:
        pass
    with pytest.raises(wire.WireError, match="cannot be returned; return plain data"):
        wire.to_plain({"x": Thing()})


def test_runaway_nesting_is_refused():
    deep = []
    for _ in range(wire.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(wire.WireError, match="nested deeper"):
        wire.to_plain(deep)


def test_decoding_unknown_tags_yields_plain_dicts():
    assert wire.loads(b'{"$t": "pickle", "v": "gASV"}') == {"$t": "pickle", "v": "gASV"}
