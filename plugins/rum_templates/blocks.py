"""Ruby block methods: ``items.map { |x| x.upcase }``, ``select``, ``sort_by``, ``sum``...

The translator compiles a block ``{ |x| body }`` (or ``do |x| body end``, or ``&:name``) to a
Python lambda (see :mod:`rum_templates.codegen`) and the method to one of the filters below,
which receives it as its first argument. A block with several parameters destructures each
item (``pairs.map { |k, v| ... }``, ``each_with_index.map { |x, i| ... }``); a hash's items are
its ``[key, value]`` pairs, as in Ruby. Tests on the block's result use Rum's (Python's)
truthiness, like ``if``.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Block = Callable[..., Any]


@dataclass(frozen=True)
class BlockMethod:
    """A method that takes a block: compiled to ``obj|filter(block, args...)``."""

    filter: str
    doc: str
    min_args: int = 0
    max_args: int = 0


def _items(value: Any) -> Iterable[Any]:
    if isinstance(value, Mapping):
        return value.items()
    return value


def _one(block: Block) -> Callable[[Any], Any]:
    """``block`` as a function of one item: several parameters destructure the item."""
    arity = block.__code__.co_argcount
    if arity <= 1:
        return block

    def spread(item: Any) -> Any:
        if isinstance(item, list | tuple):
            parts = list(item[:arity])
            parts += [None] * (arity - len(parts))
            return block(*parts)
        return block(item, *([None] * (arity - 1)))

    return spread


def rum_map(value: Any, block: Block) -> list[Any]:
    """``map { |x| ... }`` / ``collect``: the block's result for each item."""
    return list(map(_one(block), _items(value)))


def rum_flat_map(value: Any, block: Block) -> list[Any]:
    """``flat_map { |x| ... }``: the results, lists spliced in."""
    fn = _one(block)
    out: list[Any] = []
    for item in _items(value):
        result = fn(item)
        if isinstance(result, list | tuple):
            out.extend(result)
        else:
            out.append(result)
    return out


def _keep(value: Any, block: Block, wanted: bool) -> Any:
    fn = _one(block)
    if isinstance(value, Mapping):
        return {k: v for k, v in value.items() if bool(fn((k, v))) is wanted}
    return [item for item in value if bool(fn(item)) is wanted]


def rum_select(value: Any, block: Block) -> Any:
    """``select { |x| ... }`` / ``filter``: the items the block is true for (a hash stays a
    hash)."""
    return _keep(value, block, True)


def rum_reject(value: Any, block: Block) -> Any:
    """``reject { |x| ... }``: the items the block is false for."""
    return _keep(value, block, False)


def rum_filter_map(value: Any, block: Block) -> list[Any]:
    """``filter_map { |x| ... }``: the block's true results."""
    return [r for r in map(_one(block), _items(value)) if r]


def rum_find(value: Any, block: Block) -> Any:
    """``find { |x| ... }`` / ``detect``: the first item the block is true for, else nil."""
    fn = _one(block)
    return next((item for item in _items(value) if fn(item)), None)


def rum_find_index(value: Any, block: Block) -> int | None:
    """``find_index { |x| ... }`` / ``index``: the position of the first match, else nil."""
    fn = _one(block)
    return next((i for i, item in enumerate(_items(value)) if fn(item)), None)


def rum_sort_by(value: Any, block: Block) -> list[Any]:
    """``sort_by { |x| ... }``: items sorted by the block's result."""
    return sorted(_items(value), key=_one(block))


def rum_min_by(value: Any, block: Block) -> Any:
    """``min_by { |x| ... }``: the item with the smallest result (nil if empty)."""
    return min(_items(value), key=_one(block), default=None)


def rum_max_by(value: Any, block: Block) -> Any:
    """``max_by { |x| ... }``: the item with the largest result (nil if empty)."""
    return max(_items(value), key=_one(block), default=None)


def rum_sum_by(value: Any, block: Block, start: Any = 0) -> Any:
    """``sum { |x| ... }``: the sum of the block's results."""
    return sum(map(_one(block), _items(value)), start)


def rum_count_by(value: Any, block: Block) -> int:
    """``count { |x| ... }``: how many items the block is true for."""
    fn = _one(block)
    return sum(1 for item in _items(value) if fn(item))


def rum_any_by(value: Any, block: Block) -> bool:
    """``any? { |x| ... }``."""
    return any(map(_one(block), _items(value)))


def rum_all_by(value: Any, block: Block) -> bool:
    """``all? { |x| ... }``."""
    return all(map(_one(block), _items(value)))


def rum_none_by(value: Any, block: Block) -> bool:
    """``none? { |x| ... }``."""
    return not any(map(_one(block), _items(value)))


def rum_group_by(value: Any, block: Block) -> dict[Any, list[Any]]:
    """``group_by { |x| ... }``: a hash from each result to the items that gave it."""
    fn = _one(block)
    out: dict[Any, list[Any]] = {}
    for item in _items(value):
        out.setdefault(fn(item), []).append(item)
    return out


def rum_index_by(value: Any, block: Block) -> dict[Any, Any]:
    """``index_by { |x| ... }`` (Rails): a hash from each result to its (last) item."""
    fn = _one(block)
    return {fn(item): item for item in _items(value)}


def rum_partition(value: Any, block: Block) -> list[list[Any]]:
    """``partition { |x| ... }``: ``[items the block is true for, the others]``."""
    fn = _one(block)
    yes: list[Any] = []
    no: list[Any] = []
    for item in _items(value):
        (yes if fn(item) else no).append(item)
    return [yes, no]


def rum_uniq_by(value: Any, block: Block) -> list[Any]:
    """``uniq { |x| ... }``: the first item of each distinct result."""
    fn = _one(block)
    seen: dict[Any, Any] = {}
    for item in _items(value):
        seen.setdefault(fn(item), item)
    return list(seen.values())


def rum_take_while(value: Any, block: Block) -> list[Any]:
    """``take_while { |x| ... }``: the leading items the block is true for."""
    return list(itertools.takewhile(_one(block), _items(value)))


def rum_drop_while(value: Any, block: Block) -> list[Any]:
    """``drop_while { |x| ... }``: the items from the first one the block is false for."""
    return list(itertools.dropwhile(_one(block), _items(value)))


def rum_sort_with(value: Any, block: Block) -> list[Any]:
    """``sort { |a, b| b <=> a }``: sorted by the comparison block (negative: a first)."""
    return sorted(_items(value), key=functools.cmp_to_key(block))


def rum_min_with(value: Any, block: Block) -> Any:
    """``min { |a, b| ... }``: the smallest item by the comparison block (nil if empty)."""
    return min(_items(value), key=functools.cmp_to_key(block), default=None)


def rum_max_with(value: Any, block: Block) -> Any:
    """``max { |a, b| ... }``: the largest item by the comparison block (nil if empty)."""
    return max(_items(value), key=functools.cmp_to_key(block), default=None)


def rum_safe_nav(value: Any, block: Block) -> Any:
    """``value&.rest``: ``nil`` when ``value`` is ``nil``, else the rest of the chain."""
    return None if value is None else block(value)


def rum_cmp(left: Any, right: Any) -> int | None:
    """``left <=> right``: -1, 0 or 1 (nil when the values do not compare)."""
    try:
        return (left > right) - (left < right)
    except TypeError:
        return None


def rum_each_with_index(value: Any) -> list[tuple[Any, int]]:
    """``each_with_index`` without a block: ``[item, index]`` pairs, for
    ``each_with_index.map { |x, i| ... }``."""
    return [(item, i) for i, item in enumerate(_items(value))]


def rum_each_slice(value: Any, size: int) -> list[list[Any]]:
    """``each_slice(n)``: consecutive groups of ``n`` items (the last may be shorter)."""
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"each_slice needs a positive size, got {size!r}")
    items = list(_items(value))
    return [items[i:i + size] for i in range(0, len(items), size)]


def rum_times(value: int) -> range:
    """``n.times`` without a block: ``0...n``, for ``3.times.map { |i| ... }``."""
    return range(value)


def rum_block(*_args: Any) -> Any:
    """Placeholder: the code generator turns ``body|rum_block("x")`` into a lambda. It is
    never called at run time; raising keeps Jinja2's optimizer from folding it."""
    raise RuntimeError("rum_block is compiled by the Rum code generator, never called")


#: Methods that take a block (``{ |x| ... }``, ``do |x| ... end`` or ``&:name``).
BLOCK_METHODS: dict[str, BlockMethod] = {
    "map": BlockMethod("rum_map", "the block's result for each item"),
    "collect": BlockMethod("rum_map", "same as map"),
    "flat_map": BlockMethod("rum_flat_map", "the results, lists spliced in"),
    "select": BlockMethod("rum_select", "items the block is true for (a hash stays a hash)"),
    "filter": BlockMethod("rum_select", "same as select"),
    "reject": BlockMethod("rum_reject", "items the block is false for"),
    "filter_map": BlockMethod("rum_filter_map", "the block's true results"),
    "find": BlockMethod("rum_find", "first item the block is true for, else nil"),
    "detect": BlockMethod("rum_find", "same as find"),
    "find_index": BlockMethod("rum_find_index", "position of the first match, else nil"),
    "sort_by": BlockMethod("rum_sort_by", "items sorted by the block's result"),
    "min_by": BlockMethod("rum_min_by", "item with the smallest result"),
    "max_by": BlockMethod("rum_max_by", "item with the largest result"),
    "sum": BlockMethod("rum_sum_by", "sum of the block's results (optional start value)",
                       0, 1),
    "count": BlockMethod("rum_count_by", "how many items the block is true for"),
    "any?": BlockMethod("rum_any_by", "the block is true for some item"),
    "all?": BlockMethod("rum_all_by", "the block is true for every item"),
    "none?": BlockMethod("rum_none_by", "the block is true for no item"),
    "group_by": BlockMethod("rum_group_by", "hash: result -> items"),
    "index_by": BlockMethod("rum_index_by", "hash: result -> item (Rails)"),
    "partition": BlockMethod("rum_partition", "[true items, false items]"),
    "uniq": BlockMethod("rum_uniq_by", "first item of each distinct result"),
    "sort": BlockMethod("rum_sort_with", "sorted by a comparison block: { |a, b| b <=> a }"),
    "min": BlockMethod("rum_min_with", "smallest item by a comparison block"),
    "max": BlockMethod("rum_max_with", "largest item by a comparison block"),
    "take_while": BlockMethod("rum_take_while", "leading items the block is true for"),
    "drop_while": BlockMethod("rum_drop_while", "items from the first false one on"),
}

BLOCK_FILTERS: dict[str, Callable[..., Any]] = {
    "rum_map": rum_map,
    "rum_flat_map": rum_flat_map,
    "rum_select": rum_select,
    "rum_reject": rum_reject,
    "rum_filter_map": rum_filter_map,
    "rum_find": rum_find,
    "rum_find_index": rum_find_index,
    "rum_sort_by": rum_sort_by,
    "rum_min_by": rum_min_by,
    "rum_max_by": rum_max_by,
    "rum_sum_by": rum_sum_by,
    "rum_count_by": rum_count_by,
    "rum_any_by": rum_any_by,
    "rum_all_by": rum_all_by,
    "rum_none_by": rum_none_by,
    "rum_group_by": rum_group_by,
    "rum_index_by": rum_index_by,
    "rum_partition": rum_partition,
    "rum_uniq_by": rum_uniq_by,
    "rum_take_while": rum_take_while,
    "rum_drop_while": rum_drop_while,
    "rum_sort_with": rum_sort_with,
    "rum_min_with": rum_min_with,
    "rum_max_with": rum_max_with,
    "rum_cmp": rum_cmp,
    "rum_safe_nav": rum_safe_nav,
    "rum_each_with_index": rum_each_with_index,
    "rum_each_slice": rum_each_slice,
    "rum_times": rum_times,
    "rum_block": rum_block,
}
