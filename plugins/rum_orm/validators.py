"""Validators: declared next to a model's fields, run by ``await record.validate()``.

::

    from typing import Annotated
    from rum_orm import Model, presence, length, matches, uniqueness

    class User(Model):
        email: Annotated[str, presence(), length(max=200), matches(r"^[^@\\s]+@[^@\\s]+$"),
                         uniqueness(case_sensitive=False)]
        nickname: Annotated[str | None, length(min=2, max=30)] = None

Every validator takes ``message=`` (replaces its default message; ``{placeholders}`` such as
``{count}`` are filled in), ``if_=``/``unless=`` (a function of the record) and
``on="create"|"update"``. Apart from :class:`presence`, :class:`confirmation` and
:class:`check`, validators pass ``None`` (a missing optional value): pair them with
``presence()`` to require one.

The validator classes are lower-case, like ``has_many``: they read as declarations.
"""

from __future__ import annotations

import decimal
import inspect
import math
import re
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, Literal

from rum_orm.errors import ModelDefinitionError
from rum_orm.sql import quote as q
from rum_orm.validation_errors import BASE, Errors

Action = Literal["create", "update"]
_ACTIONS = ("create", "update")


class ValidationContext:
    """What a validator gets besides the record: ``errors`` to add messages to, ``conn`` (the
    connection or database ``validate(conn=...)`` was given, else ``None``: where model
    queries run) and ``action`` (``"create"`` for a record without a primary key, else
    ``"update"``)."""

    __slots__ = ("action", "conn", "errors")

    def __init__(self, errors: Errors, conn: Any = None, action: Action = "create") -> None:
        self.errors = errors
        self.conn = conn
        self.action = action


class _Keep(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class Validator:
    """Base class of validators. A subclass implements :meth:`problems` (sync, one value) or
    overrides :meth:`validate` (async, sees the record and the context)."""

    #: the message when ``message=`` is not given (may use ``{placeholders}``)
    default_message: ClassVar[str] = "is invalid"
    #: whether a ``None`` value passes without a check
    skips_none: ClassVar[bool] = True

    def __init__(self, *, message: str | None = None,
                 if_: Callable[[Any], Any] | None = None,
                 unless: Callable[[Any], Any] | None = None,
                 on: Action | None = None) -> None:
        if on is not None and on not in _ACTIONS:
            raise ModelDefinitionError(f"{type(self).__name__}(on={on!r}): on must be "
                                       f"'create', 'update' or None (both)")
        for label, fn in (("if_", if_), ("unless", unless)):
            if fn is not None and not callable(fn):
                raise ModelDefinitionError(f"{type(self).__name__}({label}=...) must be a "
                                           f"function of the record, got {fn!r}")
        self.message = message
        self.if_ = if_
        self.unless = unless
        self.on = on

    @property
    def conditional(self) -> bool:
        """True when the validator applies only sometimes (``if_``, ``unless`` or ``on``)."""
        return self.if_ is not None or self.unless is not None or self.on is not None

    def applies(self, record: Any, action: Action) -> bool:
        """Whether to run on ``record`` for ``action``."""
        if self.on is not None and self.on != action:
            return False
        if self.if_ is not None and not self.if_(record):
            return False
        return not (self.unless is not None and self.unless(record))

    def text(self, default: str | None = None, **params: Any) -> str:
        """The message to add: ``message=`` or ``default`` (else :attr:`default_message`),
        with ``{name}`` placeholders filled from ``params``."""
        text = self.message or default or self.default_message
        if "{" not in text:
            return text
        try:
            return text.format_map(_Keep(params))
        except (ValueError, IndexError, AttributeError, KeyError):
            return text

    def problems(self, value: Any) -> list[str]:
        """The messages for ``value`` (empty when it is valid)."""
        return []

    async def validate(self, record: Any, field: str, value: Any,
                       context: ValidationContext) -> None:
        """Add the messages about ``record.<field>`` (``value``) to ``context.errors``."""
        if value is None and self.skips_none:
            return
        for message in self.problems(value):
            context.errors.add(field, message)

    def html_attributes(self) -> dict[str, Any]:
        """HTML input attributes expressing this rule (``{"required": True}``,
        ``{"maxlength": 200}``, ``{"min": 1}``...), for forms; ``{}`` when none does."""
        return {}

    def _params(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        shown = {k: v for k, v in self._params().items()
                 if not (v is None or v is False or v == ())}
        for key in ("message", "if_", "unless", "on"):
            if getattr(self, key) is not None:
                shown[key] = getattr(self, key)
        args = ", ".join(f"{k}={v!r}" for k, v in shown.items())
        return f"{type(self).__name__}({args})"


def is_blank(value: Any) -> bool:
    """``None``, a string of only whitespace, or an empty collection."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | dict | set | frozenset | bytes | bytearray):
        return len(value) == 0
    return False


class presence(Validator):  # lower-case: declarations read as words
    """The value must not be blank (``None``, ``""``, only whitespace, an empty list).
    ``False`` is a value: require ``True`` with ``inclusion([True])``.
    Message: ``can't be blank``."""

    default_message = "can't be blank"
    skips_none = False

    def problems(self, value: Any) -> list[str]:
        return [self.text()] if is_blank(value) else []

    def html_attributes(self) -> dict[str, Any]:
        return {"required": True}


class absence(Validator):
    """The value must be blank (see :class:`presence`). Message: ``must be blank``."""

    default_message = "must be blank"
    skips_none = False

    def problems(self, value: Any) -> list[str]:
        return [] if is_blank(value) else [self.text()]


class length(Validator):
    """The length of a string (characters) or a list must be at least ``min``, at most
    ``max``, or exactly ``is_``. Messages: ``is too short (at least {count} characters)``,
    ``is too long (at most {count} characters)``, ``must be exactly {count} characters
    long`` (``items`` for lists); ``message=`` replaces all three."""

    def __init__(self, *, min: int | None = None, max: int | None = None,
                 is_: int | None = None, **options: Any) -> None:
        super().__init__(**options)
        for label, bound in (("min", min), ("max", max), ("is_", is_)):
            if bound is not None and (not isinstance(bound, int) or isinstance(bound, bool)
                                      or bound < 0):
                raise ModelDefinitionError(f"length({label}={bound!r}): give a whole number "
                                           f">= 0")
        if min is None and max is None and is_ is None:
            raise ModelDefinitionError("length() needs min=, max= or is_=")
        if is_ is not None and (min is not None or max is not None):
            raise ModelDefinitionError("length(is_=...) cannot be combined with min= or max=")
        if min is not None and max is not None and min > max:
            raise ModelDefinitionError(f"length(min={min}, max={max}): min is above max")
        self.min = min
        self.max = max
        self.is_ = is_

    def problems(self, value: Any) -> list[str]:
        try:
            size = len(value)
        except TypeError:
            size = len(str(value))
        unit = "characters" if isinstance(value, str) else "items"
        if self.is_ is not None and size != self.is_:
            return [self.text(f"must be exactly {{count}} {unit} long", count=self.is_)]
        if self.min is not None and size < self.min:
            return [self.text(f"is too short (at least {{count}} {unit})", count=self.min)]
        if self.max is not None and size > self.max:
            return [self.text(f"is too long (at most {{count}} {unit})", count=self.max)]
        return []

    def html_attributes(self) -> dict[str, Any]:
        low = self.is_ if self.is_ is not None else self.min
        high = self.is_ if self.is_ is not None else self.max
        out: dict[str, Any] = {}
        if low:
            out["minlength"] = low
        if high is not None:
            out["maxlength"] = high
        return out

    def _params(self) -> dict[str, Any]:
        return {"min": self.min, "max": self.max, "is_": self.is_}


_PYTHON_ONLY = re.compile(r"\(\?P|\(\?[aiLmsux]|\\[AZz]|\(\?<[!=]|\(\?#")


class matches(Validator):
    """The string must match the regular expression ``pattern`` (``re.search``: anchor it
    with ``^...$`` to match the whole value). Message: ``is invalid``.

    Named ``matches`` rather than ``format`` so that importing it does not hide Python's
    built-in ``format()``.
    """

    def __init__(self, pattern: str | re.Pattern[str], *, flags: int = 0,
                 **options: Any) -> None:
        super().__init__(**options)
        try:
            self.regex = re.compile(pattern, flags) if isinstance(pattern, str) else pattern
        except re.error as exc:
            raise ModelDefinitionError(f"matches({pattern!r}): not a regular expression: "
                                       f"{exc}") from None
        self.pattern = self.regex.pattern

    def problems(self, value: Any) -> list[str]:
        return [] if self.regex.search(str(value)) else [self.text()]

    def html_attributes(self) -> dict[str, Any]:
        """``pattern`` when the expression is anchored at both ends, has no flags and uses
        no Python-only syntax (browsers anchor ``pattern`` and use JavaScript's syntax)."""
        src = self.pattern
        if (self.regex.flags & ~re.UNICODE or not src.startswith("^") or not src.endswith("$")
                or src.endswith("\\$") or _PYTHON_ONLY.search(src)):
            return {}
        return {"pattern": src[1:-1]}

    def _params(self) -> dict[str, Any]:
        return {"pattern": self.pattern}


def _listed(values: Any) -> str | None:
    if isinstance(values, range) and values.step == 1 and len(values):
        return f"between {values.start} and {values.stop - 1}"
    if isinstance(values, Sequence | set | frozenset | dict) and not isinstance(values, str) \
            and 0 < len(values) <= 12:
        shown = [str(v) for v in values]
        return "one of: " + ", ".join(sorted(shown) if isinstance(values, set | frozenset)
                                      else shown)
    return None


class inclusion(Validator):
    """The value must be in ``values`` (a list, set, range...). Message: ``must be one of: a,
    b, c`` (``must be between 1 and 5`` for a range; ``is not an allowed value`` for long or
    unsized collections)."""

    def __init__(self, values: Container[Any], **options: Any) -> None:
        super().__init__(**options)
        if isinstance(values, str) or not isinstance(values, Container):
            raise ModelDefinitionError(f"inclusion({values!r}): give a list, set or range of "
                                       f"the allowed values")
        self.values = values

    def problems(self, value: Any) -> list[str]:
        try:
            ok = value in self.values
        except TypeError:
            ok = False
        if ok:
            return []
        listed = _listed(self.values)
        return [self.text(f"must be {listed}" if listed else "is not an allowed value",
                          value=value)]

    def _params(self) -> dict[str, Any]:
        return {"values": self.values}


class exclusion(Validator):
    """The value must not be in ``values``. Message: ``is not allowed``."""

    default_message = "is not allowed"

    def __init__(self, values: Container[Any], **options: Any) -> None:
        super().__init__(**options)
        if isinstance(values, str) or not isinstance(values, Container):
            raise ModelDefinitionError(f"exclusion({values!r}): give a list, set or range of "
                                       f"the refused values")
        self.values = values

    def problems(self, value: Any) -> list[str]:
        try:
            refused = value in self.values
        except TypeError:
            refused = False
        return [self.text(value=value)] if refused else []

    def _params(self) -> dict[str, Any]:
        return {"values": self.values}


Number = int | float | decimal.Decimal


def _number(value: Any) -> Number | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | decimal.Decimal | float):
        number: Number = value
    elif isinstance(value, str):
        try:
            number = decimal.Decimal(value.strip())
        except decimal.InvalidOperation:
            return None
    else:
        return None
    if isinstance(number, float) and not math.isfinite(number):
        return None
    if isinstance(number, decimal.Decimal) and not number.is_finite():
        return None
    return number


def _shown(bound: Any) -> str:
    return str(bound)


class numericality(Validator):
    """The value must be a number (``int``, ``float``, ``Decimal``, or a string holding one;
    never a ``bool``), a whole one with ``integer=True``, and within the bounds: ``gt``
    (greater than), ``ge`` (at least), ``lt`` (less than), ``le`` (at most), ``between=(low,
    high)`` (both included). Messages: ``must be a number``, ``must be a whole number``,
    ``must be greater than {count}``, ``must be at least {count}``, ``must be less than
    {count}``, ``must be at most {count}``, ``must be between {low} and {high}``."""

    def __init__(self, *, integer: bool = False, gt: Number | None = None,
                 ge: Number | None = None, lt: Number | None = None, le: Number | None = None,
                 between: tuple[Number, Number] | None = None, **options: Any) -> None:
        super().__init__(**options)
        for label, bound in (("gt", gt), ("ge", ge), ("lt", lt), ("le", le)):
            if bound is not None and _number(bound) is None:
                raise ModelDefinitionError(f"numericality({label}={bound!r}): give a number")
        if between is not None and (not isinstance(between, tuple | list) or len(between) != 2
                                    or any(_number(b) is None for b in between)
                                    or between[0] > between[1]):
            raise ModelDefinitionError(f"numericality(between={between!r}): give (low, high),"
                                       f" low <= high")
        self.integer = integer
        self.gt, self.ge, self.lt, self.le = gt, ge, lt, le
        self.between = tuple(between) if between is not None else None

    def problems(self, value: Any) -> list[str]:
        number = _number(value)
        if number is None:
            return [self.text("must be a number", value=value)]
        if self.integer and not (isinstance(number, int) or number == int(number)):
            return [self.text("must be a whole number", value=value)]
        out = []
        if self.between is not None:
            low, high = self.between
            if not low <= number <= high:  # type: ignore[operator]
                out.append(self.text("must be between {low} and {high}", low=_shown(low),
                                     high=_shown(high), value=value))
        checks = ((self.gt, lambda b: number > b, "must be greater than {count}"),
                  (self.ge, lambda b: number >= b, "must be at least {count}"),
                  (self.lt, lambda b: number < b, "must be less than {count}"),
                  (self.le, lambda b: number <= b, "must be at most {count}"))
        for bound, ok, text in checks:
            if bound is not None and not ok(bound):
                out.append(self.text(text, count=_shown(bound), value=value))
        return out

    def html_attributes(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        low = [b for b in (self.ge, self.between and self.between[0]) if b is not None]
        high = [b for b in (self.le, self.between and self.between[1]) if b is not None]
        if self.integer and self.gt is not None and self.gt == int(self.gt):
            low.append(int(self.gt) + 1)
        if self.integer and self.lt is not None and self.lt == int(self.lt):
            high.append(int(self.lt) - 1)
        if low:
            out["min"] = max(low)  # type: ignore[type-var]
        if high:
            out["max"] = min(high)  # type: ignore[type-var]
        if self.integer:
            out["step"] = 1
        return out

    def _params(self) -> dict[str, Any]:
        return {"integer": self.integer, "gt": self.gt, "ge": self.ge, "lt": self.lt,
                "le": self.le, "between": self.between}


class confirmation(Validator):
    """``<field>_confirmation`` (an attribute of the record that is not a column; the model
    accepts it in its constructor, ``create()`` and ``update()``) must equal the field when it
    is given (``None``: not checked). The message goes to ``<field>_confirmation``:
    ``doesn't match Password``."""

    skips_none = False

    def __init__(self, *, case_sensitive: bool = True, **options: Any) -> None:
        super().__init__(**options)
        self.case_sensitive = case_sensitive

    @staticmethod
    def attribute(field: str) -> str:
        """The name of the confirmation attribute of ``field``: ``<field>_confirmation``."""
        return f"{field}_confirmation"

    async def validate(self, record: Any, field: str, value: Any,
                       context: ValidationContext) -> None:
        name = self.attribute(field)
        given = getattr(record, name, None)
        if given is None:
            return
        same = (given == value if self.case_sensitive
                else str(given).casefold() == str(value).casefold())
        if not same:
            label = context.errors.label(field)
            context.errors.add(name, self.text(f"doesn't match {label}", field=label))

    def _params(self) -> dict[str, Any]:
        return {"case_sensitive": self.case_sensitive}


class uniqueness(Validator):
    """No other row of the table may have the same value: checked with a query, on
    ``validate(conn=...)``'s connection (else where model queries run). ``scope`` names
    columns that must match too (unique per account: ``scope=("account_id",)``; a ``None``
    scope value matches ``IS NULL``); ``case_sensitive=False`` compares ``lower()`` of both.
    The record itself (same primary key) is left out on update. Message: ``is already
    taken``.

    A check before the write cannot stop two concurrent writers: keep a unique index in the
    database as well (the validator gives the friendly message, the index the guarantee).
    """

    default_message = "is already taken"

    def __init__(self, *, scope: str | Iterable[str] = (), case_sensitive: bool = True,
                 **options: Any) -> None:
        super().__init__(**options)
        self.scope = (scope,) if isinstance(scope, str) else tuple(scope)
        self.case_sensitive = case_sensitive

    async def validate(self, record: Any, field: str, value: Any,
                       context: ValidationContext) -> None:
        if value is None:
            return
        model = type(record)
        unknown = [c for c in self.scope if c not in model.__fields__]
        if unknown:
            raise ModelDefinitionError(f"{model.__name__}.{field}: uniqueness(scope=...) names "
                                       f"unknown column(s) {', '.join(unknown)}")
        args: list[Any] = [value]
        column = q(field)
        if self.case_sensitive or not isinstance(value, str):
            where = [f"{column} = $1"]
        else:
            where = [f"lower({column}) = lower($1)"]
        for name in self.scope:
            scoped = getattr(record, name, None)
            if scoped is None:
                where.append(f"{q(name)} IS NULL")
            else:
                args.append(scoped)
                where.append(f"{q(name)} = ${len(args)}")
        pk = model.__primary_key__
        key = getattr(record, pk, None)
        if key is not None:
            args.append(key)
            where.append(f"{q(pk)} <> ${len(args)}")
        sql = f"SELECT * FROM {q(model.__table__)} WHERE {' AND '.join(where)} LIMIT 1"
        if await model.find_by_sql(sql, args).fetch_optional(context.conn) is not None:
            context.errors.add(field, self.text(value=value))

    def _params(self) -> dict[str, Any]:
        return {"scope": self.scope, "case_sensitive": self.case_sensitive}


def _messages(result: Any, fallback: str) -> list[str]:
    if result is None or result is True:
        return []
    if result is False:
        return [fallback]
    if isinstance(result, str):
        return [result] if result else []
    if isinstance(result, Iterable):
        return [str(m) for m in result]
    raise TypeError(f"a validator returned {result!r}; return None or True (valid), False, a "
                    f"message or a list of messages")


async def _outcome(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        result = fn(*args)
        if inspect.isawaitable(result):
            result = await result
    except ValueError as exc:
        return str(exc) or False
    return result


class check(Validator):
    """A custom rule: ``check(fn)`` calls ``fn(record, value)`` (sync or ``async``). It
    returns ``None``/``True`` (valid), ``False`` (adds ``message=``, else ``is invalid``), a
    message or a list of messages; raising ``ValueError("...")`` adds its text. Runs on
    ``None`` values too."""

    skips_none = False

    def __init__(self, fn: Callable[[Any, Any], Any], **options: Any) -> None:
        super().__init__(**options)
        if not callable(fn):
            raise ModelDefinitionError(f"check({fn!r}): give a function (record, value)")
        self.fn = fn

    async def validate(self, record: Any, field: str, value: Any,
                       context: ValidationContext) -> None:
        for message in _messages(await _outcome(self.fn, record, value), self.text()):
            context.errors.add(field, message)

    def _params(self) -> dict[str, Any]:
        return {"fn": getattr(self.fn, "__qualname__", self.fn)}


class method_check(check):
    """A method decorated with :func:`validates`: ``method(self, value)`` for a field,
    ``method(self)`` for the record (messages go to ``"base"``)."""

    def __init__(self, fn: Callable[..., Any], field: str | None, **options: Any) -> None:
        super().__init__(fn, **options)
        self.field = field

    async def validate(self, record: Any, field: str, value: Any,
                       context: ValidationContext) -> None:
        args = (record,) if self.field is None else (record, value)
        for message in _messages(await _outcome(self.fn, *args), self.text()):
            context.errors.add(BASE if self.field is None else field, message)


_MARK = "__rum_validates__"


def validates(field: Any = None, /, *, message: str | None = None,
              if_: Callable[[Any], Any] | None = None,
              unless: Callable[[Any], Any] | None = None,
              on: Action | None = None) -> Any:
    """Mark a model method as a validator (sync or ``async``)::

        @validates("quantity")          # method(self, value): messages go to "quantity"
        async def quantity_in_stock(self, value): ...

        @validates                      # method(self): messages go to "base"
        def not_on_sunday(self): ...

    The method returns what a :class:`check` function returns (``None``, ``False``, a
    message, a list of messages) or raises ``ValueError``; it may also add to
    ``self.errors`` directly. ``message=``, ``if_=``, ``unless=`` and ``on=`` as for every
    validator.
    """
    options = {"message": message, "if_": if_, "unless": unless, "on": on}

    def mark(fn: Callable[..., Any], name: str | None) -> Callable[..., Any]:
        if not callable(fn):
            raise ModelDefinitionError(f"@validates decorates a method, got {fn!r}")
        setattr(fn, _MARK, method_check(fn, name, **options))
        return fn

    if callable(field):  # bare @validates
        return mark(field, None)
    if field is not None and not isinstance(field, str):
        raise ModelDefinitionError(f"@validates({field!r}): give a field name or nothing")
    return lambda fn: mark(fn, field)


def marked_validator(obj: Any) -> method_check | None:
    """The validator a :func:`validates` decorator attached to ``obj``, if any."""
    found = getattr(obj, _MARK, None)
    return found if isinstance(found, method_check) else None


class virtual:
    """Marks an annotated attribute that is not a column: ``password: Annotated[str | None,
    virtual(), length(min=12)] = None``. The constructor, ``create()`` and ``update()``
    accept it and validators see it, but it is never written to the database, is not in
    ``to_dict()``, and a successful ``save()`` forgets it."""

    def __repr__(self) -> str:
        return "virtual()"


@contextmanager
def using(conn: Any) -> Iterator[None]:
    """Inside the block, model queries made without a connection run on ``conn`` (a
    connection, a transaction or a database); ``None`` changes nothing. Validation uses it so
    that a custom validator's queries join ``validate(conn=...)``."""
    if conn is None:
        yield
        return
    from rum_orm.database import Database, _current, _opened

    if isinstance(conn, Database):
        opened, current = _opened.set(conn), _current.set(None)
    else:
        opened, current = None, _current.set(conn)
    try:
        yield
    finally:
        _current.reset(current)
        if opened is not None:
            _opened.reset(opened)


def html_attributes(validators: Iterable[Validator]) -> dict[str, Any]:
    """The HTML input attributes of these validators merged (conditional ones left out: they
    may not apply to the form being shown)."""
    out: dict[str, Any] = {}
    for validator in validators:
        if not validator.conditional:
            out.update(validator.html_attributes())
    return out
