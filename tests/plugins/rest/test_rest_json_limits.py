"""``rum.jsonutil.loads``: strict JSON with bounded nesting, the parser behind REST bodies and
``request.json()``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rum import jsonutil
from rum.jsonutil import JSONLimitError


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


def nested(levels: int, leaf: Any = 1) -> Any:
    value = leaf
    for i in range(levels):
        value = [value] if i % 2 else {"k": value}
    return value


def test_depth_limit_is_exact() -> None:
    assert jsonutil.loads(json.dumps(nested(64))) == nested(64)
    with pytest.raises(JSONLimitError, match="nested deeper than 64 levels"):
        jsonutil.loads(json.dumps(nested(65)))
    assert jsonutil.loads(json.dumps(nested(3)), max_depth=3) == nested(3)
    with pytest.raises(JSONLimitError):
        jsonutil.loads(json.dumps(nested(4)), max_depth=3)


@pytest.mark.parametrize("doc", [
    b"[" * 100_000 + b"]" * 100_000,
    b"[" * 100_000,  # unbalanced: the parser's own guard, still a JSONLimitError
    "[" * 100_000 + "1" + "]" * 99_999,
    b'{"a": ' * 70 + b"1" + b"}" * 70,
], ids=["balanced", "unclosed", "text-with-leaf", "objects"])
def test_deep_documents_are_refused_quickly(doc: bytes | str) -> None:
    with pytest.raises(JSONLimitError):
        jsonutil.loads(doc)


@pytest.mark.parametrize(("doc", "levels"), [
    ('["' + "[" * 200 + '"]', 1),  # brackets inside strings do not count
    (r'["\\", ' + "[" * 63 + "]" * 63 + "]", 64),  # an escaped backslash ends no string
    (r'["\"' + "[" * 80 + r'", {"k\"[": "]]]\\"}]', 2),  # escaped quotes end no string
    ('[{"a": "}}}}"}, ' + "{}, " * 100 + "[]]", 2),
], ids=["brackets-in-string", "escaped-backslash", "escaped-quotes", "many-objects"])
def test_brackets_in_strings_and_escapes(doc: str, levels: int) -> None:
    parsed = jsonutil.loads(doc)
    assert parsed == json.loads(doc) and depth(parsed) == levels
    assert jsonutil.loads(doc.encode()) == parsed


def test_strict_literals_and_long_numbers() -> None:
    for literal in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(JSONLimitError, match=f"{literal} is not valid JSON"):
            jsonutil.loads(f"[{literal}]")
    with pytest.raises(JSONLimitError, match="a number is too long"):
        jsonutil.loads(b"[" + b"7" * 5000 + b"]")
    assert isinstance(jsonutil.loads("1e999"), float)  # out of float range: inf, as json does
    with pytest.raises(json.JSONDecodeError):  # ordinary bad JSON is still JSONDecodeError
        jsonutil.loads(b'{"a": ')
    assert issubclass(JSONLimitError, json.JSONDecodeError)


scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 10),
                    st.text(alphabet='[]{}"\\ab', max_size=6))
documents = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.text(alphabet='[]{}"\\k', max_size=4), inner, max_size=3)),
    max_leaves=20)


@settings(max_examples=120, deadline=None)
@given(documents, st.integers(min_value=1, max_value=6), st.booleans())
def test_pre_scan_agrees_with_the_real_depth(value: Any, limit: int, as_text: bool) -> None:
    doc = json.dumps(value, ensure_ascii=False)
    try:
        parsed = jsonutil.loads(doc if as_text else doc.encode(), max_depth=limit)
    except JSONLimitError:
        assert depth(value) > limit
    else:
        assert parsed == value and depth(value) <= limit
