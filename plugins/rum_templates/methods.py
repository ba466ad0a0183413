"""Rum's method-style calls (``name.upcase``) and the Jinja2 filters they compile to.

Each method maps to a Jinja2 filter (built in, or one of the ``rum_*`` filters below), a test,
a membership check or a Python method, so translated templates are as direct as hand-written
Jinja2: ``user.name.upcase`` becomes ``user.name|upper``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from jinja2 import Undefined, pass_eval_context
from jinja2.filters import do_join
from jinja2.nodes import EvalContext
from markupsafe import Markup, escape

from rum_templates.blocks import BLOCK_FILTERS
from rum_templates.ruby import ruby_div, ruby_inspect, ruby_join_items, ruby_print, ruby_to_s


@dataclass(frozen=True)
class Method:
    """How one Rum method compiles.

    ``kind`` is ``"filter"`` (``obj|target(args)``), ``"test"`` (``obj is target``),
    ``"contains"`` (``arg in obj``), ``"python"`` (``obj.target(args)``) or ``"slice"``
    (``obj[:n]`` for ``take``, ``obj[n:]`` for ``drop``).
    """

    kind: str
    target: str
    min_args: int = 0
    max_args: int = 0
    doc: str = ""


def _f(target: str, doc: str, min_args: int = 0, max_args: int = 0) -> Method:
    return Method("filter", target, min_args, max_args, doc)


METHODS: dict[str, Method] = {
    # strings
    "upcase": _f("upper", "upper case"),
    "downcase": _f("lower", "lower case"),
    "capitalize": _f("capitalize", "first letter upper case, the rest lower case"),
    "titleize": _f("title", "Every Word Capitalized"),
    "strip": _f("trim", "without leading and trailing whitespace"),
    "lstrip": _f("rum_lstrip", "without leading whitespace"),
    "rstrip": _f("rum_rstrip", "without trailing whitespace"),
    "truncate": _f("rum_truncate", "at most n characters, ending in ... when cut", 1, 2),
    "gsub": _f("replace", "every occurrence of a replaced by b (plain text, not a regex)", 2, 2),
    "split": Method("python", "split", 0, 1, "list of the parts between separators"),
    "start_with?": Method("python", "startswith", 1, 1, "starts with the prefix"),
    "end_with?": Method("python", "endswith", 1, 1, "ends with the suffix"),
    "escape": _f("escape", "HTML-escaped (marks the result safe)"),
    "html_safe": _f("safe", "marked safe: printed without escaping"),
    "to_json": _f("tojson", "JSON, safe to embed in HTML and <script>"),
    "inspect": _f("rum_inspect", "Ruby's inspect: nil, true, \"quoted\", [1, 2], {\"a\" => 1}"),
    # conversions
    "to_s": _f("rum_to_s", "as a string (nil: empty string)"),
    "to_i": _f("int", "as an integer (0 when not a number)"),
    "to_f": _f("float", "as a float (0.0 when not a number)"),
    "to_a": _f("list", "as a list"),
    # collections
    "length": _f("length", "number of items or characters"),
    "size": _f("length", "number of items or characters"),
    "count": _f("length", "number of items or characters"),
    "first": _f("rum_first", "first item (or character); nil if empty; first(n): a list", 0, 1),
    "last": _f("rum_last", "last item (or character); nil if empty; last(n): a list", 0, 1),
    "compact": _f("rum_compact", "without nil items (a hash: without nil values)"),
    "flatten": _f("rum_flatten", "nested lists spliced into one list"),
    "reverse": _f("rum_reverse", "items or characters in reverse order"),
    "join": _f("join", "items joined with the separator (default: none), escaped", 0, 1),
    "sort": _f("sort", "sorted items"),
    "uniq": _f("rum_uniq", "items without duplicates, in first-seen order"),
    "min": _f("min", "smallest item"),
    "max": _f("max", "largest item"),
    "sum": _f("sum", "sum of the items"),
    "keys": _f("rum_keys", "a hash's keys"),
    "values": _f("rum_values", "a hash's values"),
    "all?": _f("rum_all", "every item is true"),
    "none?": _f("rum_none", "no item is true"),
    "each_with_index": _f("rum_each_with_index", "[item, index] pairs (for .map { |x, i| })"),
    "each_slice": _f("rum_each_slice", "consecutive groups of n items", 1, 1),
    "times": _f("rum_times", "0...n (for n.times.map { |i| })"),
    "take": Method("slice", "take", 1, 1, "the first n items"),
    "drop": Method("slice", "drop", 1, 1, "all but the first n items"),
    # numbers
    "abs": _f("abs", "absolute value"),
    "floor": _f("rum_floor", "largest integer not above (an integer)"),
    "ceil": _f("rum_ceil", "smallest integer not below (an integer)"),
    "div": _f("rum_intdiv", "integer division, rounded down: 7.div(2) is 3", 1, 1),
    "fdiv": _f("rum_fdiv", "float division: 7.fdiv(2) is 3.5", 1, 1),
    "round": _f("rum_round", "rounded half away from zero to n decimals (default: integer)",
                0, 1),
    "even?": Method("test", "even", 0, 0, "is even"),
    "odd?": Method("test", "odd", 0, 0, "is odd"),
    "zero?": _f("rum_zero", "equals 0"),
    # predicates
    "empty?": _f("rum_empty", "has no items / characters (nil counts as empty)"),
    "any?": _f("rum_any", "has at least one item"),
    "nil?": _f("rum_nil", "is nil (or undefined)"),
    "blank?": _f("rum_blank", "nil, false, empty or only whitespace"),
    "present?": _f("rum_present", "not blank?"),
    "presence": _f("rum_presence", "the value if present?, else nil (Rails)"),
    "include?": Method("contains", "in", 1, 1, "contains the item / substring / key"),
    "key?": Method("contains", "in", 1, 1, "the hash has the key"),
    "has_key?": Method("contains", "in", 1, 1, "the hash has the key"),
}


# -- filters behind the rum_* names ---------------------------------------------------------


def rum_to_s(value: Any) -> str:
    """``to_s``: ``str(value)``, but ``nil`` is the empty string."""
    if value is None:
        return ""
    return str(value)


def rum_ruby_to_s(value: Any) -> str:
    """``to_s`` under Ruby semantics: ``nil`` -> ``""``, ``true`` -> ``"true"``, Ruby floats,
    lists and hashes."""
    return ruby_to_s(value)


@pass_eval_context
def rum_join(eval_ctx: EvalContext, value: Any, separator: str = "") -> str:
    """``join`` under Ruby semantics: nested lists flattened, each item's ``to_s`` (``nil`` is
    empty, ``true`` is ``true``). Like Jinja2's ``join``, the result is markup (items escaped)
    only when an item or the separator is markup; otherwise it is escaped when printed."""
    items = ruby_join_items(value)
    if eval_ctx.autoescape and (hasattr(separator, "__html__") or
                                any(hasattr(item, "__html__") for item in items)):
        return do_join(eval_ctx, items, separator)
    return str(separator).join(items)


def rum_floor(value: Any) -> int:
    """``floor``: the largest integer not above ``value``."""
    return math.floor(value)


def rum_ceil(value: Any) -> int:
    """``ceil``: the smallest integer not below ``value``."""
    return math.ceil(value)


def rum_intdiv(value: Any, divisor: Any) -> int:
    """``div``: division rounded down to an integer (``-7.div(2)`` is -4)."""
    if divisor == 0:
        raise ZeroDivisionError(f"divided by 0 (in {value}.div(0))")
    return math.floor(value // divisor)


def rum_fdiv(value: Any, divisor: Any) -> float:
    """``fdiv``: float division (by zero: ``Infinity`` / ``NaN``, as in Ruby)."""
    return ruby_div(float(value), divisor)


def rum_first(value: Any, count: int | None = None) -> Any:
    """``first`` / ``first(n)``: the first item (``nil`` when empty) / the first ``n``; a
    hash's items are ``[key, value]`` pairs."""
    if isinstance(value, Mapping):
        value = list(value.items())
    if count is not None:
        return list(itertools.islice(value, count)) if not isinstance(value, str) else \
            value[:count]
    if isinstance(value, Sequence):
        return value[0] if len(value) else None
    return next(iter(value), None)


def rum_last(value: Any, count: int | None = None) -> Any:
    """``last`` / ``last(n)``: the last item (``nil`` when empty) / the last ``n``."""
    items = value if isinstance(value, Sequence) else \
        list(value.items() if isinstance(value, Mapping) else value)
    if count is not None:
        tail = items[len(items) - count:] if count > 0 else items[:0]
        return tail if isinstance(items, str) else list(tail)
    return items[-1] if len(items) else None


def rum_compact(value: Any) -> Any:
    """``compact``: without ``nil`` items (a hash keeps its non-nil values)."""
    if isinstance(value, Mapping):
        return {k: v for k, v in value.items() if v is not None}
    return [item for item in value if item is not None]


def rum_flatten(value: Any) -> list[Any]:
    """``flatten``: nested lists (and tuples) spliced into one list."""
    out: list[Any] = []
    for item in value:
        if isinstance(item, list | tuple):
            out.extend(rum_flatten(item))
        else:
            out.append(item)
    return out


def rum_presence(value: Any) -> Any:
    """``presence`` (Rails): ``value`` unless it is ``blank?``, else ``nil``."""
    return None if rum_blank(value) else value


def rum_all(value: Any) -> bool:
    """``all?``: every item is true."""
    return all(value)


def rum_none(value: Any) -> bool:
    """``none?``: no item is true."""
    return not any(value)


def rum_reverse(value: Any) -> Any:
    """``reverse``: a reversed string or list (never a lazy iterator)."""
    if isinstance(value, str):
        return value[::-1]
    return list(value)[::-1]


def rum_empty(value: Any) -> bool:
    """``empty?``: ``nil`` or no items."""
    return value is None or len(value) == 0


def rum_any(value: Any) -> bool:
    """``any?``: at least one truthy item (or any character in a string)."""
    if value is None:
        return False
    if isinstance(value, str | Mapping):
        return len(value) > 0
    return any(value)


def rum_nil(value: Any) -> bool:
    """``nil?``: ``None`` or undefined."""
    return value is None or isinstance(value, Undefined)


def rum_blank(value: Any) -> bool:
    """``blank?``: nil, false, empty, or a string of whitespace."""
    if value is None or value is False or isinstance(value, Undefined):
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return len(value) == 0
    except TypeError:
        return False


def rum_present(value: Any) -> bool:
    """``present?``: not ``blank?``."""
    return not rum_blank(value)


def rum_zero(value: Any) -> bool:
    """``zero?``: equals 0."""
    return value == 0


def rum_truncate(value: Any, length: int, omission: str = "...") -> str:
    """``truncate(n)``: at most ``n`` characters; a cut string ends in ``omission``."""
    text = str(value)
    if len(text) <= length:
        return text
    return text[: max(length - len(omission), 0)] + omission


def rum_uniq(value: Iterable[Any]) -> list[Any]:
    """``uniq``: a list without duplicates (hashable items), first occurrence kept."""
    return list(dict.fromkeys(value))


def rum_round(value: Any, digits: int = 0) -> Any:
    """``round``: half away from zero, like Ruby; an integer when ``digits`` is 0."""
    quantum = Decimal(1).scaleb(-digits)
    rounded = Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)
    return int(rounded) if digits <= 0 else float(rounded)


def rum_lstrip(value: Any) -> str:
    """``lstrip``: no leading whitespace."""
    return str(value).lstrip()


def rum_rstrip(value: Any) -> str:
    """``rstrip``: no trailing whitespace."""
    return str(value).rstrip()


def rum_keys(value: Mapping[Any, Any]) -> list[Any]:
    """``keys``: a list of the mapping's keys."""
    return list(value.keys())


def rum_values(value: Mapping[Any, Any]) -> list[Any]:
    """``values``: a list of the mapping's values."""
    return list(value.values())


def rum_pairs(value: Any) -> Iterable[Any]:
    """Iterate a mapping's items in ``for key, value in hash``; other iterables unchanged."""
    if isinstance(value, Mapping):
        return value.items()
    return value


def raw(value: Any) -> Markup:
    """Rails' ``raw(html)``: the value marked safe, printed without escaping (``nil``: empty).
    Only for trusted content."""
    return Markup("" if value is None else value)


def h(value: Any) -> Markup:
    """Rails' ``h(text)``: the value HTML-escaped (already-safe markup stays as it is)."""
    return escape("" if value is None else value)


#: Functions every template can call (Rails view helpers).
HELPERS: dict[str, Any] = {"raw": raw, "h": h}

FILTERS: dict[str, Any] = {
    **BLOCK_FILTERS,
    "rum_print": ruby_print,
    "rum_div": ruby_div,
    "rum_inspect": ruby_inspect,
    "rum_ruby_to_s": rum_ruby_to_s,
    "rum_join": rum_join,
    "rum_all": rum_all,
    "rum_first": rum_first,
    "rum_last": rum_last,
    "rum_compact": rum_compact,
    "rum_flatten": rum_flatten,
    "rum_presence": rum_presence,
    "rum_floor": rum_floor,
    "rum_ceil": rum_ceil,
    "rum_intdiv": rum_intdiv,
    "rum_fdiv": rum_fdiv,
    "rum_none": rum_none,
    "rum_to_s": rum_to_s,
    "rum_reverse": rum_reverse,
    "rum_empty": rum_empty,
    "rum_any": rum_any,
    "rum_nil": rum_nil,
    "rum_blank": rum_blank,
    "rum_present": rum_present,
    "rum_zero": rum_zero,
    "rum_truncate": rum_truncate,
    "rum_uniq": rum_uniq,
    "rum_round": rum_round,
    "rum_lstrip": rum_lstrip,
    "rum_rstrip": rum_rstrip,
    "rum_keys": rum_keys,
    "rum_values": rum_values,
    "rum_pairs": rum_pairs,
}
