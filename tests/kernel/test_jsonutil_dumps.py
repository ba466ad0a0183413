"""jsonutil.dumps calls the C encoder directly: the same text and errors as JSONEncoder."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid

import pytest

from rum import jsonutil

REFERENCE = json.JSONEncoder(default=jsonutil.to_jsonable, separators=(",", ":"),
                             ensure_ascii=False).encode


@pytest.mark.parametrize("value", [
    {"message": "Hello, World!"}, 'quote " and é\n', 1.5, float("nan"), float("-inf"), 10**30,
    [1, 2, {"x": None, "y": True}], {1: 2}, (1, 2), [],
    {"d": dt.date(2020, 1, 1), "u": uuid.UUID(int=1), "dec": decimal.Decimal("1.10"),
     "t": dt.datetime(2020, 1, 1, 12, tzinfo=dt.UTC), "s": frozenset({3})},
])
def test_same_text_as_the_json_encoder(value):
    assert jsonutil.dumps(value) == REFERENCE(value)


def test_circular_and_unknown_values_fail_as_before_and_the_next_call_works():
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        jsonutil.dumps({"a": loop})
    with pytest.raises(TypeError, match="not JSON serializable"):
        jsonutil.dumps([object()])
    shared = [1]
    assert jsonutil.dumps([shared, shared]) == "[[1],[1]]"  # not mistaken for a cycle
