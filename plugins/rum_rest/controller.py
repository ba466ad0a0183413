"""``ModelController(User).crud("/api/users")``: JSON CRUD routes for one model."""

from __future__ import annotations

import base64
import binascii
import inspect
import logging
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from rum import Authentication, Controller, Middleware, Request, Response, Route, jsonutil
from rum.errorpage import problem, status_title
from rum.errors import (
    BadRequest,
    HTTPError,
    NotFound,
    UnprocessableEntity,
    UnsupportedMediaType,
)
from rum.negotiation import PROBLEM_JSON
from rum_orm import INT64_MAX
from rum_rest.coerce import Invalid, checked, from_json, from_text, integer_text, shown
from rum_rest.resource import MISSING, FieldSpec
from rum_rest.store import DEFAULT, OPERATORS, Filter, SQLStore
from rum_rest.validation import has_validations, invalid, model_record, reported

logger = logging.getLogger("rum.rest")

#: Query-string keys that are not filters.
RESERVED = frozenset({"limit", "offset", "order", "cursor"})

DEFAULT_LIMIT = 25
MAX_LIMIT = 100

#: Longest ``?cursor=`` token accepted (characters).
MAX_CURSOR = 4096

#: SQLSTATE classes of database errors that are the client's fault, and the status they get.
_SQLSTATE_STATUS = {"23505": 409, "23503": 422, "23502": 422, "23514": 422, "22001": 422,
                    "22003": 422, "22P02": 422, "22007": 422, "22008": 422, "22021": 422,
                    "22P05": 422}


class ModelController:
    """Builds the routes of a JSON API for one model.

    ``ModelController(User).crud("/api/users")`` returns routes for::

        GET    /api/users          list: filters, ?order=, ?limit=&offset=, total count
        POST   /api/users          create (201 + Location)
        GET    /api/users/<id>     retrieve
        PUT    /api/users/<id>     full update: absent fields go back to their defaults
        PATCH  /api/users/<id>     partial update
        DELETE /api/users/<id>     delete (204)

    ``model`` is an ORM model class, or a :class:`~rum_rest.resource.Resource` describing a
    table. ``read_only`` names fields clients may not set (the primary key always is);
    ``exclude`` hides fields entirely; ``default_limit``/``max_limit`` bound pages (default:
    ``[rest]`` settings, 25 and 100). ``auth`` (a handler or the name of one, e.g.
    ``"session"`` or ``"token"``) and ``middleware`` guard every route, as on a controller.
    ``scope(request)`` (sync or async) returns ``{field: value}`` pairs that restrict every
    operation to matching rows and are written into created rows, e.g.
    ``scope=lambda request: {"user_id": request.user.id}``.
    """

    def __init__(self, model: Any, *, read_only: Iterable[str] = (),
                 exclude: Iterable[str] = (), default_limit: int | None = None,
                 max_limit: int | None = None, name: str | None = None,
                 auth: Authentication | str | None = None,
                 middleware: Iterable[Middleware] = (),
                 scope: Callable[[Request], Any] | None = None) -> None:
        from rum_rest.models import describe

        self.resource = describe(model, read_only=tuple(read_only), exclude=tuple(exclude),
                                 name=name)
        self.store = SQLStore(self.resource)
        self.default_limit = default_limit
        self.max_limit = max_limit
        self.auth = auth
        self.middleware = list(middleware)
        self.scope = scope

    def crud(self, prefix: str, *, name: str | None = None) -> list[Route]:
        """The collection route ``prefix`` and the item route ``prefix/<id>``."""
        prefix = prefix.rstrip("/")
        kind = {int: "int", uuid.UUID: "uuid"}.get(self.resource.pk.type)
        param = f"<{kind}:id>" if kind else "<id>"
        base = name or self.resource.plural
        collection = CollectionController(self, prefix)
        item = ItemController(self, prefix)
        return [collection.route(prefix, name=f"{base}_list"),
                item.route(f"{prefix}/{param}", name=f"{base}_item")]

    # -- limits -----------------------------------------------------------------------------------

    def limits(self, request: Request) -> tuple[int, int]:
        """``(default_limit, max_limit)`` from the controller, else ``[rest]``."""
        config = request.app.config if request.app is not None else None
        default = self.default_limit or (config.get_int("rest", "default_limit") if config
                                         else None) or DEFAULT_LIMIT
        top = self.max_limit or (config.get_int("rest", "max_limit") if config
                                 else None) or MAX_LIMIT
        return min(default, top), top


class _RestController(Controller):
    """Answers errors as JSON, always (API clients do not always send ``Accept``)."""

    api = True  # an API route: problem+json errors, no anonymous session cookie

    def __init__(self, owner: ModelController, prefix: str) -> None:
        self.owner = owner
        self.resource = owner.resource
        self.store = owner.store
        self.prefix = prefix

    def auth(self) -> Authentication | str | None:
        return self.owner.auth

    def middleware(self) -> list[Middleware]:
        return list(self.owner.middleware)

    async def handle(self, request: Request) -> Response:
        try:
            return await super().handle(request)
        except HTTPError as exc:  # rum_orm.ValueRejected (a 422) included
            return error(exc.status, exc.detail, exc.data, exc.headers, request)
        except Exception as exc:
            status = _SQLSTATE_STATUS.get(getattr(exc, "sqlstate", None) or "")
            if status is None:
                raise
            return _database_error(exc, status, request)

    def storage(self, request: Request) -> Any:
        app = request.app
        assert app is not None
        return app.storage

    async def fixed(self, request: Request) -> dict[str, Any]:
        """The ``scope`` values for this request (``{}`` without a scope)."""
        if self.owner.scope is None:
            return {}
        values = self.owner.scope(request)
        if inspect.isawaitable(values):
            values = await values
        values = dict(values or {})
        unknown = [k for k in values if k not in self.resource.fields]
        if unknown:
            raise TypeError(f"ModelController({self.resource.name}) scope returned unknown "
                            f"field(s) {', '.join(unknown)}; fields: "
                            f"{', '.join(self.resource.fields)}")
        return values

    @staticmethod
    def scope_filters(fixed: dict[str, Any]) -> list[Filter]:
        return [Filter(k, "eq", v) for k, v in fixed.items()]

    def present(self, row: dict[str, Any]) -> dict[str, Any]:
        """The JSON object of one row (only the exposed fields)."""
        return {name: row.get(name) for name in self.resource.fields}

    def body(self, request: Request) -> dict[str, Any]:
        """The request body as a JSON object (400 otherwise: empty, not JSON, nested deeper
        than :data:`rum.jsonutil.MAX_DEPTH`, a number over Python's digit limit; 415 for a
        body declared as another media type, such as a form's)."""
        media = request.content_type
        if media and media != "application/json" and not media.endswith("+json"):
            raise UnsupportedMediaType(f"the request body is {media}; send a JSON object "
                                       "with Content-Type: application/json")
        if not request.body.strip():
            raise BadRequest("the request body is empty; send a JSON object")
        data = request.json()  # 400 for invalid JSON, too deep, too many digits, not UTF-8
        if not isinstance(data, dict):
            raise BadRequest(f"the request body must be a JSON object, got "
                             f"{type(data).__name__ if data is not None else 'null'}")
        return data

    def validate(self, data: dict[str, Any], *, partial: bool, ignore_pk: Any = None,
                 fixed: dict[str, Any] | None = None) -> dict[str, Any]:
        """Typed values of ``data``, with ``fixed`` (scope) values forced; 422 listing every
        bad field."""
        values, errors = self.coerce(data, partial=partial, ignore_pk=ignore_pk, fixed=fixed)
        if errors:
            raise invalid(errors)
        return values

    def coerce(self, data: dict[str, Any], *, partial: bool, ignore_pk: Any = None,
               fixed: dict[str, Any] | None = None
               ) -> tuple[dict[str, Any], dict[str, list[str]]]:
        """Typed values of ``data`` and the errors of the fields that are not right (unknown,
        read-only, wrong type, missing)."""
        errors: dict[str, list[str]] = {}
        values: dict[str, Any] = {}
        fields = self.resource.fields
        fixed = fixed or {}
        unknown = f"unknown field; known fields: {', '.join(fields)}"
        for key, raw in data.items():
            spec = fields.get(key)
            if spec is None:
                errors[key] = [unknown]
                continue
            if key in fixed:
                if raw != _json_value(fixed[key]):
                    errors[key] = ["is set by the server for this request"]
                continue
            if spec.read_only:
                if spec.primary_key and ignore_pk is not None and raw == _json_pk(ignore_pk):
                    continue
                errors[key] = ["is read-only"]
                continue
            if raw is None:
                if not spec.nullable:
                    errors[key] = ["may not be null"]
                else:
                    values[key] = None
                continue
            try:
                values[key] = from_json(spec.type, raw)
            except Invalid as exc:
                errors[key] = [str(exc)]
        if not partial:
            for key, spec in fields.items():
                if spec.required and key not in data and key not in fixed:
                    errors.setdefault(key, []).append("is required")
        return values, errors

    async def model_errors(self, request: Request, values: dict[str, Any],
                           errors: dict[str, list[str]], *, pk: Any = None,
                           fixed: dict[str, Any] | None = None) -> None:
        """Add the model's validation errors (``rum_orm`` validators: presence, uniqueness...)
        of the record these ``values`` would make to ``errors``: the new record, or with
        ``pk`` the stored one changed. Fields that already have an error keep only that one;
        fields reset to their database default (PUT) are not judged. Raises the 404 of a
        record that is not there (or not in ``fixed``'s scope)."""
        if not has_validations(self.resource.model):
            return
        record = await model_record(self.resource, self.storage(request), values, pk,
                                    fixed or {}, skip=DEFAULT)
        if record is None:
            if pk is not None and not errors:
                raise self._missing_record(pk)
            return
        reset = {name for name, value in values.items() if value is DEFAULT}  # PUT
        for field, messages in record.errors.items():
            if field not in errors and field not in reset:
                errors[field] = list(messages)

    def _missing_record(self, pk: Any) -> NotFound:
        text = str(pk)
        text = text if len(text) <= 40 else text[:40] + "..."
        return NotFound(f"no {self.resource.name} with {self.resource.primary_key} {text}")


def _json_pk(pk: Any) -> Any:
    return pk if isinstance(pk, int) else str(pk)


def _json_value(value: Any) -> Any:
    """``value`` as it looks after a JSON round trip (to compare with a request body)."""
    return jsonutil.loads(jsonutil.dumps(value))


def error(status: int, detail: str, errors: Any = None,
          headers: dict[str, str] | None = None, request: Request | None = None) -> Response:
    """An RFC 9457 problem-details response (``application/problem+json``), as the kernel
    answers API clients: ``type``, ``title``, ``status``, ``detail``, ``instance``, the
    per-field ``errors`` when there are any, and ``error`` (the reason phrase, as before)."""
    body = problem(status, detail, request=request, errors=errors,
                   extra={"error": status_title(status)})
    response = Response(jsonutil.dumps(body), status, content_type=PROBLEM_JSON)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


_KEY_COLUMNS = re.compile(r"Key \(([^)]+)\)=")


def _database_error(exc: Exception, status: int, request: Request) -> Response:
    column = getattr(exc, "column_name", None)
    detail = getattr(exc, "detail", None) or str(exc)
    if column is None:  # unique and foreign-key violations name the key in the detail
        m = _KEY_COLUMNS.search(detail)
        column = m.group(1) if m else None
    message = str(exc).split("\n", 1)[0]
    if status == 409:
        return error(409, f"conflicts with an existing row: {detail}",
                     {column: ["must be unique"]} if column else None, request=request)
    errors = {column: [message]} if column else None
    return error(status, message if not detail or detail == message else f"{message}: {detail}",
                 errors, request=request)


class CollectionController(_RestController):
    """``GET`` (list) and ``POST`` (create) on the collection path."""

    async def get(self, request: Request) -> Response:
        """A page: ``limit``, ``offset`` or ``cursor``, ``order``, filters; 422 on bad ones."""
        default_limit, max_limit = self.owner.limits(request)
        errors: dict[str, list[str]] = {}
        limit = _int_param(request, "limit", default_limit, 1, max_limit, errors)
        offset = _int_param(request, "offset", 0, 0, None, errors)
        order = self._order(request, errors)
        filters = self._filters(request, errors)
        filters += self.scope_filters(await self.fixed(request))
        cursor = request.query.get("cursor")
        after = None
        if cursor is not None and not errors:
            after = self._cursor(cursor, order, offset, errors)
        if errors:
            errors, names = reported(errors)
            raise UnprocessableEntity(f"invalid query parameters: {names}", data=errors)
        rows, total = await self.store.list(self.storage(request), filters, order, limit,
                                            offset, after)
        page: dict[str, Any] = {
            "items": [self.present(r) for r in rows],
            "total": total,
            "limit": limit,
        }
        if cursor is None:
            page["offset"] = offset
            page["next_offset"] = offset + limit if offset + limit < total else None
        else:
            last = rows[-1] if len(rows) == limit else None
            page["next_cursor"] = None if last is None else encode_cursor(
                [last[name] for name, _ in order])
        return Response.json(page)

    def _cursor(self, token: str, order: list[tuple[str, bool]], offset: int,
                errors: dict[str, list[str]]) -> list[Any] | None:
        """The keyset values of a ``?cursor=`` token (``""``: the first page)."""
        fields = self.resource.fields
        if offset:
            errors["offset"] = ["cannot be combined with cursor"]
            return None
        nullable = [name for name, _ in order if fields[name].nullable]
        if nullable:
            errors["cursor"] = [f"cursor pages need non-nullable order fields; "
                                f"{', '.join(nullable)} may be null (use offset pages)"]
            return None
        if token == "":
            return None
        try:
            return decode_cursor(token, [fields[name].type for name, _ in order])
        except Invalid as exc:
            raise BadRequest(f"invalid cursor: {exc}; start again without it",
                             data={"cursor": [f"{exc}; start again without it"]}) from None

    def _order(self, request: Request, errors: dict[str, list[str]]) -> list[tuple[str, bool]]:
        order: list[tuple[str, bool]] = []
        for part in (request.query.get("order") or "").split(","):
            part = part.strip()
            if not part:
                continue
            desc = part.startswith("-")
            name = part.lstrip("-+")
            if name not in self.resource.fields:
                errors.setdefault("order", []).append(
                    f"unknown field {name!r}; order by one of {', '.join(self.resource.fields)}"
                    " (prefix - for descending)")
                continue
            order.append((name, desc))
        if not any(name == self.resource.primary_key for name, _ in order):
            order.append((self.resource.primary_key, False))  # stable pages
        return order

    def _filters(self, request: Request, errors: dict[str, list[str]]) -> list[Filter]:
        filters = []
        fields = self.resource.fields
        for key in request.query:
            if key in RESERVED:
                continue
            name, _, op = key.partition("__")
            op = op or "eq"
            spec = fields.get(name)
            if spec is None:
                errors[key] = [f"unknown filter; filter on one of {', '.join(fields)}"]
                continue
            if op not in OPERATORS:
                errors[key] = [f"unknown operator {op!r}; use one of {', '.join(OPERATORS)}"]
                continue
            if not spec.filterable:
                errors[key] = ["this field cannot be filtered"]
                continue
            try:
                filters.extend(_filter(spec, op, request.query.getall(key)))
            except Invalid as exc:
                errors[key] = [str(exc)]
        return filters

    async def post(self, request: Request) -> Response:
        """Validate and insert a record; 201 with a ``Location`` header."""
        fixed = await self.fixed(request)
        values, errors = self.coerce(self.body(request), partial=False, fixed=fixed)
        values = {**values, **fixed}
        await self.model_errors(request, values, errors)
        if errors:
            raise invalid(errors)
        row = await self.store.insert(self.storage(request), values)
        pk = row[self.resource.primary_key]
        return Response.json(self.present(row), 201, headers={"location": f"{self.prefix}/{pk}"})


def encode_cursor(values: list[Any]) -> str:
    """An opaque ``?cursor=`` token for the row with these order values."""
    return base64.urlsafe_b64encode(jsonutil.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(token: str, kinds: list[type]) -> list[Any]:
    """The order values in a ``?cursor=`` token, typed as ``kinds``; :class:`Invalid` for
    anything but what :func:`encode_cursor` makes: too long, not URL-safe base64, not a flat
    JSON array of as many scalars as ``kinds``, or values that do not fit the fields."""
    if len(token) > MAX_CURSOR:
        raise Invalid(f"is longer than {MAX_CURSOR} characters")
    try:
        data = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_",
                                validate=True)
        raw = jsonutil.loads(data, max_depth=1)
    except (ValueError, binascii.Error):  # JSONDecodeError and UnicodeDecodeError included
        raise Invalid("is not a cursor from this listing (with this order)") from None
    if not isinstance(raw, list) or len(raw) != len(kinds) or any(
            isinstance(v, dict | list) for v in raw):
        raise Invalid("is not a cursor from this listing (with this order)")
    return [from_json(kind, value) for kind, value in zip(kinds, raw, strict=True)]


def _filter(spec: FieldSpec, op: str, texts: list[str]) -> list[Filter]:
    if op == "isnull":
        return [Filter(spec.name, op, from_text(bool, texts[-1]))]
    if op == "in":
        items = [item for text in texts for item in text.split(",") if item != ""]
        return [Filter(spec.name, op, [from_text(spec.type, item) for item in items])]
    if op == "contains":
        return [Filter(spec.name, op, checked(str, text)) for text in texts]
    return [Filter(spec.name, op, from_text(spec.type, text)) for text in texts]


def _int_param(request: Request, key: str, default: int, low: int, high: int | None,
               errors: dict[str, list[str]]) -> int:
    text = request.query.get(key)
    if text is None or text == "":
        return default
    high = INT64_MAX if high is None else high
    try:
        value = integer_text(text)
    except ValueError:  # not ASCII digits, or over Python's digit limit
        errors[key] = [f"must be an integer between {low} and {high}, got {shown(text)}"]
        return default
    if not low <= value <= high:
        digits = str(value) if len(text) <= 40 else text[:40] + "..."
        errors[key] = [f"must be between {low} and {high}, got {digits}"]
        return default
    return value


class ItemController(_RestController):
    """``GET``, ``PUT``, ``PATCH`` and ``DELETE`` on ``prefix/<id>``."""

    def _pk(self, request: Request) -> Any:
        """The primary key in the path; 404 for one no row can have (not of the key's type,
        beyond ``bigint``, holding a NUL character...)."""
        raw = request.path_params["id"]
        kind = self.resource.pk.type
        try:
            if isinstance(raw, str) and kind is not str:
                return from_text(kind, raw)
            return checked(kind, raw)
        except Invalid:
            raise self._missing(raw) from None

    def _missing(self, pk: Any) -> NotFound:
        return self._missing_record(pk)

    async def get(self, request: Request) -> Response:
        """One record, or 404."""
        pk = self._pk(request)
        scope = self.scope_filters(await self.fixed(request))
        row = await self.store.get(self.storage(request), pk, scope)
        if row is None:
            raise self._missing(pk)
        return Response.json(self.present(row))

    async def put(self, request: Request) -> Response:
        """Replace a record: writable fields left out go back to their defaults."""
        pk = self._pk(request)
        fixed = await self.fixed(request)
        values, errors = self.coerce(self.body(request), partial=False, ignore_pk=pk,
                                     fixed=fixed)
        for name, spec in self.resource.writable.items():  # a full update: reset the rest
            if name not in values and name not in fixed and name not in errors:
                values[name] = DEFAULT if spec.default is MISSING else spec.default
        await self.model_errors(request, values, errors, pk=pk, fixed=fixed)
        if errors:
            raise invalid(errors)
        return await self._update(request, pk, values, fixed)

    async def patch(self, request: Request) -> Response:
        """Update only the fields given."""
        pk = self._pk(request)
        fixed = await self.fixed(request)
        values, errors = self.coerce(self.body(request), partial=True, ignore_pk=pk,
                                     fixed=fixed)
        await self.model_errors(request, values, errors, pk=pk, fixed=fixed)
        if errors:
            raise invalid(errors)
        return await self._update(request, pk, values, fixed)

    async def _update(self, request: Request, pk: Any, values: dict[str, Any],
                      fixed: dict[str, Any]) -> Response:
        row = await self.store.update(self.storage(request), pk, values,
                                      self.scope_filters(fixed))
        if row is None:
            raise self._missing(pk)
        return Response.json(self.present(row))

    async def delete(self, request: Request) -> Response:
        """Delete a record; 204, or 404 if there is none."""
        pk = self._pk(request)
        scope = self.scope_filters(await self.fixed(request))
        if not await self.store.delete(self.storage(request), pk, scope):
            raise self._missing(pk)
        return Response.empty(204)
