"""Ruby semantics for printed values and division (``[templates] semantics = "ruby"``).

What ``<%= value %>`` prints, like Rails' ERB (``value.to_s``):

- ``nil`` prints nothing, ``true`` / ``false`` print ``true`` / ``false``;
- floats print like Ruby's ``Float#to_s``: ``1.0``, ``0.1``, ``1.0e+20``, ``1.0e-05``,
  ``Infinity``, ``NaN``;
- lists (and tuples) print like ``Array#to_s``, e.g. ``[1, "a", nil]``; dicts like Ruby 3.4's
  ``Hash#inspect``, ``{"a" => 1}``;
- date-times print like Rails' ``Time#to_s``: ``2026-12-01 03:40:00 UTC`` (``+0100`` for
  other offsets, no zone when naive, no fractional seconds);
- strings, markup, integers, decimals, dates and other objects print as Python's ``str()``.

``/`` between two integers floors like Ruby (``7 / 2`` is 3, ``-7 / 2`` is -4); any float
operand gives true division, and a float divided by zero is ``Infinity`` / ``NaN`` like Ruby.
An integer divided by zero raises :class:`ZeroDivisionError` ("divided by 0"), which the engine
reports as a template error with the template and line.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\f": "\\f",
            "\v": "\\v", "\b": "\\b", "\a": "\\a", "\x1b": "\\e", "#": "#"}


def ruby_float(value: float) -> str:
    """``Float#to_s``: ``1.0``, ``1.0e+20``, ``1.0e-05``, ``Infinity``, ``-Infinity``, ``NaN``."""
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    text = repr(value)  # the shortest round-trip digits, exponent from 1e16 / below 1e-4: Ruby's
    if "e" in text:
        mantissa, exponent = text.split("e")
        if "." not in mantissa:
            mantissa += ".0"
        return f"{mantissa}e{exponent}"
    return text


def ruby_time(value: dt.datetime) -> str:
    """Rails' ``Time#to_s``: ``2026-12-01 03:40:00 UTC``, ``... +0100``, naive: no zone."""
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    offset = value.utcoffset()
    if offset is None:
        return text
    if offset == dt.timedelta(0) and value.tzname() in ("UTC", "UTC+00:00", "Z", None):
        return f"{text} UTC"
    return f"{text} {value.strftime('%z')}"


def _inspect_str(value: str) -> str:
    out = ['"']
    for i, ch in enumerate(value):
        if ch == "#":
            out.append("\\#" if value[i + 1:i + 2] in ("{", "$", "@") else "#")
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif not ch.isprintable():
            code = ord(ch)
            out.append(f"\\x{code:02X}" if code < 0x80 else f"\\u{code:04X}" if code < 0x10000
                       else f"\\u{{{code:X}}}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def ruby_inspect(value: Any) -> str:
    """``inspect``: ``nil``, ``true``, ``"quoted"`` strings, ``[1, 2]``, ``{"a" => 1}``."""
    if value is None:
        return "nil"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return ruby_float(value)
    if isinstance(value, str):
        return _inspect_str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(ruby_inspect(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{" + ", ".join(f"{ruby_inspect(k)} => {ruby_inspect(v)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, range) and value.step == 1:
        return f"{value.start}..{value.stop - 1}"
    if isinstance(value, dt.datetime):
        return ruby_time(value)
    return str(value)


def ruby_to_s(value: Any) -> str:
    """``to_s`` (also ``"#{value}"``): like :func:`ruby_print`, always a string."""
    if value.__class__ is str:
        return value
    printed = ruby_print(value)
    return printed if isinstance(printed, str) else str(printed)


def ruby_print(value: Any) -> Any:
    """What ``<%= value %>`` prints under Ruby semantics (before HTML escaping).

    The translator inlines the common case (an exact ``str`` is printed as it is) and calls
    this for every other value. Markup stays markup (never escaped twice); values without a
    Ruby spelling (integers, decimals, dates, models, undefined names) are returned unchanged
    for Jinja2 to print with ``str()`` (an undefined name then raises as usual).
    """
    cls = value.__class__
    if cls is int:
        return value
    if value is None:
        return ""
    if cls is bool:
        return "true" if value else "false"
    if cls is float:
        return ruby_float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple | dict | range):
        return ruby_inspect(value)
    if isinstance(value, float):  # float subclasses
        return ruby_float(value)
    if isinstance(value, dt.datetime):
        return ruby_time(value)
    return value


def _flatten_to_s(items: Iterable[Any], out: list[Any]) -> list[Any]:
    for item in items:
        if isinstance(item, list | tuple):
            _flatten_to_s(item, out)
        elif isinstance(item, str):
            out.append(item)  # markup stays markup: join escapes the others
        else:
            out.append(ruby_to_s(item))
    return out


def ruby_join_items(items: Any) -> list[Any]:
    """The items ``Array#join`` joins: nested lists flattened, each item's ``to_s`` (markup
    stays markup)."""
    if items.__class__ is not list:
        items = list(items)
    for item in items:
        if item.__class__ is not str:
            return _flatten_to_s(items, [])
    return items


def ruby_div(left: Any, right: Any) -> Any:
    """``left / right`` the Ruby way: floor division for two integers, else true division
    (a float divided by zero is ``Infinity``, ``-Infinity`` or ``NaN``)."""
    if left.__class__ is int and right.__class__ is int:
        if right == 0:
            raise ZeroDivisionError(f"divided by 0 (in {left} / 0)")
        return left // right
    try:
        return left / right
    except ZeroDivisionError:
        if not (isinstance(left, float) or isinstance(right, float)) or \
                not isinstance(left, int | float):
            raise ZeroDivisionError(f"divided by 0 (in {ruby_inspect(left)} / "
                                    f"{ruby_inspect(right)})") from None
        if left == 0 or left != left:
            return math.nan
        negative = (left < 0) != (math.copysign(1.0, right) < 0)
        return -math.inf if negative else math.inf
