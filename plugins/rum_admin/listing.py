"""The list page's query: search, filters, ordering and keyset pagination, all bounded.

:func:`parse_list_query` reads the query string (``q``, ``order``, ``per_page``, ``after``,
``before``, ``f.<field>``) and refuses anything else with a 400; :func:`fetch_page` builds one
``SELECT`` from the model's known columns only (identifiers quoted by the ORM, every value a
bound parameter) and pages by keyset — ``WHERE (order_column, pk) > (cursor)`` — so a deep
page costs what the first one does. No ``COUNT(*)``: the page knows only whether there is a
next and a previous page. The queries run in a read-only transaction under
``[admin] statement_timeout_ms``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rum import BadRequest, HTTPError
from rum_admin.values import MAX_TEXT, BadValue, to_text, to_value
from rum_orm import inclusion, transaction

if TYPE_CHECKING:
    from rum.formdata import QueryParams
    from rum_admin.registry import ModelAdmin
    from rum_admin.state import AdminState

PARAMETERS = ("q", "order", "per_page", "after", "before")
FILTER_PREFIX = "f."
MAX_CURSOR = 600
MAX_FILTER_CHOICES = 20
QUERY_CANCELED = "57014"


@dataclass(frozen=True)
class Cursor:
    """A position in the list: the ordering column's value and the primary key of a row."""

    value: Any
    key: Any

    def encode(self) -> str:
        """URL-safe text for ``?after=`` / ``?before=``."""
        raw = json.dumps([to_text(self.value), to_text(self.key)], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@dataclass(frozen=True)
class ListQuery:
    """A list page's request, every part checked against the model."""

    search: str = ""
    filters: dict[str, Any] = field(default_factory=dict)
    order_field: str = "id"
    descending: bool = False
    per_page: int = 25
    after: Cursor | None = None
    before: Cursor | None = None

    @property
    def order(self) -> str:
        """``"field"`` or ``"-field"``, as in the query string."""
        return ("-" if self.descending else "") + self.order_field

    def params(self, **changes: Any) -> dict[str, str]:
        """The query string of this page with ``changes`` (``None`` drops a key); the
        cursors are dropped unless given, since another order or filter starts over."""
        out: dict[str, str] = {}
        if self.search:
            out["q"] = self.search
        for name, value in self.filters.items():
            out[FILTER_PREFIX + name] = to_text(value) or ""
        out["order"] = self.order
        out["per_page"] = str(self.per_page)
        for key, value in changes.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = value
        return out


@dataclass
class Page:
    """One page of records and the cursors of its neighbours."""

    records: list[Any]
    next_cursor: str | None
    prev_cursor: str | None


def parse_list_query(entry: ModelAdmin, query: QueryParams, state: AdminState) -> ListQuery:
    """The checked :class:`ListQuery` of ``query``; a 400 naming the bad part otherwise."""
    model = entry.model
    for key in query:
        if key not in PARAMETERS and not key.startswith(FILTER_PREFIX):
            raise BadRequest(f"unknown query parameter {key[:40]!r}; the list takes "
                             f"{', '.join(PARAMETERS)} and f.<field> for the filters "
                             f"({', '.join(entry.list_filter) or 'none here'})")
        if len(query.getall(key)) > 1:
            raise BadRequest(f"query parameter {key[:40]!r} is given more than once")
    search = query.get("q", "").strip()
    if len(search) > MAX_TEXT or "\x00" in search:
        raise BadRequest(f"q: the search is longer than {MAX_TEXT} characters or holds a NUL")
    if search and not entry.search_fields:
        raise BadRequest(f"{model.__name__} has no search_fields; register it with "
                         f"search_fields=[...] to search")
    filters: dict[str, Any] = {}
    for key in query:
        if key.startswith(FILTER_PREFIX):
            name = key[len(FILTER_PREFIX):]
            if name not in entry.list_filter:
                raise BadRequest(f"{key[:40]!r}: {model.__name__} is not filtered by "
                                 f"{name[:40]!r} (filters: "
                                 f"{', '.join(entry.list_filter) or 'none'})")
            if query[key] != "":
                filters[name] = to_value(model, name, query[key], key)
    order = query.get("order", "") or entry.ordering
    order_field = order.removeprefix("-")
    if not entry.sortable(order_field):
        raise BadRequest(f"order: {model.__name__} cannot be ordered by {order_field[:40]!r}; "
                         f"use a field (\"name\" or \"-name\"): "
                         f"{', '.join(n for n in model.__fields__ if entry.sortable(n))}")
    per_page = state.per_page
    if "per_page" in query:
        text = query["per_page"]
        if not (text.isascii() and text.isdigit() and len(text) <= 6
                and 1 <= int(text) <= state.max_per_page):
            raise BadRequest(f"per_page must be a whole number from 1 to {state.max_per_page} "
                             f"([admin] max_per_page), got {text[:20]!r}")
        per_page = int(text)
    after = _cursor(entry, order_field, query.get("after"), "after")
    before = _cursor(entry, order_field, query.get("before"), "before")
    if after is not None and before is not None:
        raise BadRequest("give either after or before, not both")
    return ListQuery(search, filters, order_field, order.startswith("-"), per_page, after,
                     before)


def _cursor(entry: ModelAdmin, order_field: str, text: str | None, what: str) -> Cursor | None:
    if not text:
        return None
    bad = BadRequest(f"{what}: the page cursor is not valid (it belongs to a list link; "
                     f"start again from the first page)")
    if len(text) > MAX_CURSOR:
        raise bad
    try:
        decoded = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    if not (isinstance(decoded, list) and len(decoded) == 2 and isinstance(decoded[1], str)
            and (decoded[0] is None or isinstance(decoded[0], str))):
        raise bad
    model = entry.model
    try:
        key = to_value(model, entry.primary_key, decoded[1], what)
        value = None if decoded[0] is None else to_value(model, order_field, decoded[0], what)
    except BadValue:
        raise bad from None
    if value is None and not model.__fields__[order_field].optional:
        raise bad
    return Cursor(value, key)


class _Params:
    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def build_page_query(entry: ModelAdmin, query: ListQuery) -> tuple[str, list[Any]]:
    """The page's ``SELECT`` and its parameters (one row more than ``per_page``, to know
    whether there is a further page in the direction of travel)."""
    model = entry.model
    columns = model.__columns__
    pk = columns[entry.primary_key]
    params = _Params()
    where: list[str] = []
    if query.search:
        escaped = (query.search.replace("\\", "\\\\").replace("%", "\\%")
                   .replace("_", "\\_"))
        like = params.add(f"%{escaped}%")
        where.append("(" + " OR ".join(f"{columns[name]}::text ILIKE {like}"
                                       for name in entry.search_fields) + ")")
    for name, value in query.filters.items():
        where.append(f"{columns[name]} = {params.add(value)}")
    backwards = query.before is not None
    descending = query.descending != backwards      # the direction rows are scanned in
    cursor = query.before or query.after
    single = query.order_field == entry.primary_key
    col = columns[query.order_field]
    optional = model.__fields__[query.order_field].optional
    if cursor is not None:
        key = params.add(cursor.key)
        beyond = "<" if descending else ">"
        if single:
            where.append(f"{pk} {beyond} {key}")
        elif cursor.value is None:      # in the NULLs (last going up, first going down)
            where.append(f"(({col} IS NULL AND {pk} {beyond} {key}) OR {col} IS NOT NULL)"
                         if descending else f"({col} IS NULL AND {pk} {beyond} {key})")
        else:
            value = params.add(cursor.value)
            nulls = f" OR {col} IS NULL" if optional and not descending else ""
            where.append(f"({col} {beyond} {value} OR ({col} = {value} AND "
                         f"{pk} {beyond} {key}){nulls})")
    direction = "DESC" if descending else "ASC"
    if single:
        order = f"{pk} {direction}"
    else:
        nulls_at = "NULLS FIRST" if descending else "NULLS LAST"
        order = f"{col} {direction} {nulls_at}, {pk} {direction}"
    sql = (f"SELECT * FROM {model.__quoted__}"
           + (f" WHERE {' AND '.join(where)}" if where else "")
           + f" ORDER BY {order} LIMIT {params.add(query.per_page + 1)}")
    return sql, params.values


async def fetch_page(entry: ModelAdmin, query: ListQuery, state: AdminState) -> Page:
    """The records of ``query``'s page and the cursors of the pages around it."""
    sql, params = build_page_query(entry, query)
    rows = await bounded(state, entry.model.find_by_sql(sql, params).fetch_all)
    more = len(rows) > query.per_page
    rows = rows[:query.per_page]
    if query.before is not None:
        rows.reverse()
        has_prev, has_next = more, True
    else:
        has_prev, has_next = query.after is not None, more
    order_field, pk = query.order_field, entry.primary_key

    def cursor_of(record: Any) -> str:
        return Cursor(getattr(record, order_field), getattr(record, pk)).encode()

    return Page(rows,
                cursor_of(rows[-1]) if rows and has_next else None,
                cursor_of(rows[0]) if rows and has_prev else None)


async def filter_choices(entry: ModelAdmin,
                         state: AdminState) -> dict[str, list[tuple[Any, str]]]:
    """For each filter, the ``(value, label)`` pairs offered: ``Yes``/``No`` for booleans,
    an ``inclusion`` validator's values, else the most common of the first 1,000 rows'
    values (a bounded query)."""
    model = entry.model
    out: dict[str, list[tuple[Any, str]]] = {}
    for name in entry.list_filter:
        base = model.__fields__[name].base_type
        if base is bool:
            out[name] = [(True, "Yes"), (False, "No")]
            continue
        listed = next((v.values for v in model.validators_for(name)
                       if isinstance(v, inclusion) and isinstance(v.values, list | tuple)),
                      None)
        if listed is not None:
            out[name] = [(v, str(v)) for v in listed][:MAX_FILTER_CHOICES]
            continue
        col = model.__columns__[name]
        sql = (f"SELECT v FROM (SELECT {col} AS v FROM {model.__quoted__} WHERE {col} IS NOT "
               f"NULL LIMIT 1000) sample GROUP BY v ORDER BY count(*) DESC, v "
               f"LIMIT {MAX_FILTER_CHOICES}")
        rows = await bounded(state, lambda conn, sql=sql: conn.fetch(sql))
        out[name] = [(row["v"], shown_text(row["v"])) for row in rows]
    return out


def shown_text(value: Any) -> str:
    """A filter value's label (its query-string text)."""
    return to_text(value) or ""


async def bounded(state: AdminState, run: Any) -> Any:
    """Await ``run(conn)`` in a read-only transaction capped by ``[admin] statement_timeout_ms``;
    a query that runs out of time is a 503 asking for a narrower search."""
    try:
        async with transaction(readonly=True) as conn:
            if state.statement_timeout_ms:
                await conn.execute(f"SET LOCAL statement_timeout = "
                                   f"{int(state.statement_timeout_ms)}")
            return await run(conn)
    except Exception as exc:
        if getattr(exc, "sqlstate", None) == QUERY_CANCELED:
            raise HTTPError("the list took longer than [admin] statement_timeout_ms to read; "
                            "narrow it with a search or a filter", status=503) from None
        raise
