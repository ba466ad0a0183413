"""``Model``: a table as a Python class with annotated fields, its records and relations.

::

    class User(Model):               # table "users"
        id: int | None = None        # the primary key (added when not declared)
        email: str
        created_at: datetime
        admin: bool = False
        orders = has_many("Order")   # Order.user_id → users.id

    class Order(Model):
        user_id: int
        total_amount: float
        user = belongs_to(User)
"""

from __future__ import annotations

import copy
import datetime as dt
import inspect
import re
import sys
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, ClassVar, TypeVar

import asyncpg

from rum_orm.changes import report_change
from rum_orm.database import Connection, Database, executor
from rum_orm.errors import ModelDefinitionError, NotFound, OrmError, closest, translate
from rum_orm.scope import Join, Scope, run_query
from rum_orm.sql import AnyOf, Column, Compare, Params
from rum_orm.sql import quote as q
from rum_orm.validation_errors import BASE, Errors, ValidationError
from rum_orm.validators import (
    Action,
    ValidationContext,
    Validator,
    confirmation,
    html_attributes,
    marked_validator,
    uniqueness,
    using,
    virtual,
)
from rum_orm.values import INT64_MAX, INT64_MIN, check_args

M = TypeVar("M", bound="Model")
_NOTHING = AnyOf([])  # a condition no row satisfies (renders FALSE)
Conn = Database | Connection | None
_UNSET: Any = object()


# -- names -----------------------------------------------------------------------------------------


def snake_case(name: str) -> str:
    """``OrderItem`` → ``order_item``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])|(?<=[A-Z])([A-Z])(?=[a-z])", r"_\1\2", name).lower()


def pluralize(word: str) -> str:
    """``user`` → ``users``, ``category`` → ``categories``, ``box`` → ``boxes``."""
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    return word + "s"


def table_name(class_name: str) -> str:
    """The table a model class maps to by default: ``User`` → ``users``."""
    return pluralize(snake_case(class_name))


# -- fields ----------------------------------------------------------------------------------------


def _without_none(annotation: Any) -> Any:
    """``X`` of ``X | None`` (``Optional[X]``); a union of several types stays as it is."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return args[0] if len(args) == 1 else annotation


class Field:
    """One declared column (or, with ``virtual``, an attribute that is not a column): its
    name, annotation (resolved when possible, without ``Annotated[...]``), default and the
    validators declared in ``Annotated[type, validator, ...]``."""

    __slots__ = ("annotation", "base_type", "default", "name", "optional", "validators",
                 "virtual")

    def __init__(self, name: str, annotation: Any, default: Any,
                 validators: Sequence[Validator] = (), virtual: bool = False) -> None:
        self.name = name
        self.annotation = annotation
        self.optional = _is_optional(annotation)
        #: The annotation without ``Optional``/``| None``.
        self.base_type = _without_none(annotation) if self.optional else annotation
        self.default = None if default is _UNSET and (self.optional or virtual) else default
        self.validators: tuple[Validator, ...] = tuple(validators)
        self.virtual = virtual

    def __repr__(self) -> str:
        return f"Field({self.name!r}, {self.annotation!r})"


def _is_optional(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return "None" in annotation or "Optional" in annotation
    return type(None) in typing.get_args(annotation)


def _resolve_annotation(annotation: Any, klass: type) -> Any:
    """A string annotation (``from __future__ import annotations``) evaluated in the module
    of the class that declared it; the string itself when that fails (e.g. a name that only
    exists inside a function)."""
    if not isinstance(annotation, str):
        return annotation
    module = sys.modules.get(klass.__module__)
    namespace = dict(vars(module)) if module else {}
    try:
        return eval(annotation, namespace, dict(vars(klass)))
    except Exception:
        return annotation


def _unannotated(name: str, annotation: Any, raw: Any, klass: type
                 ) -> tuple[Any, list[Validator], bool]:
    """``Annotated[type, ...]`` → ``(type, validators, virtual)``."""
    if isinstance(annotation, str):
        if "Annotated[" in annotation:
            raise ModelDefinitionError(
                f"{klass.__name__}.{name}: cannot evaluate the annotation {raw!r}, so its "
                f"validators would be lost; every name in it must be importable at the top "
                f"of module {klass.__module__} (a class defined inside a function cannot use "
                f"its local names in a string annotation)")
        return annotation, [], False
    if typing.get_origin(annotation) is not Annotated:
        return annotation, [], False
    metadata = annotation.__metadata__
    validators = [m for m in metadata if isinstance(m, Validator)]
    misplaced = [m for m in metadata
                 if isinstance(m, type) and issubclass(m, Validator | virtual)]
    if misplaced:
        raise ModelDefinitionError(f"{klass.__name__}.{name}: call the validator: "
                                   f"{misplaced[0].__name__}() instead of "
                                   f"{misplaced[0].__name__}")
    return annotation.__origin__, validators, any(isinstance(m, virtual) for m in metadata)


def _collect_fields(cls: type) -> dict[str, Field]:
    declared: dict[str, tuple[Any, type]] = {}
    for klass in reversed(cls.__mro__):
        if klass is Model or not issubclass(klass, Model):
            continue
        for name, annotation in inspect.get_annotations(klass).items():
            declared[name] = (annotation, klass)
    fields: dict[str, Field] = {}
    for name, (raw, klass) in declared.items():
        if name.startswith("_"):
            continue
        annotation = _resolve_annotation(raw, klass)
        origin = typing.get_origin(annotation)
        if annotation is ClassVar or origin is ClassVar or (
                isinstance(annotation, str) and annotation.startswith(("ClassVar", "typing.Cl"))):
            continue
        default = _UNSET
        for holder in cls.__mro__:
            if name in holder.__dict__:
                value = holder.__dict__[name]
                if not isinstance(value, Relation | classmethod | staticmethod | property):
                    default = value
                break
        annotation, validators, is_virtual = _unannotated(name, annotation, raw, klass)
        fields[name] = Field(name, annotation, default, validators, is_virtual)
    return fields


# -- relations -------------------------------------------------------------------------------------


class Relation:
    """Base of :class:`has_many` and :class:`belongs_to` (class attributes of a model)."""

    kind = ""

    def __init__(self, model: type[Model] | str, *, foreign_key: str | None = None) -> None:
        self._target = model
        self._foreign_key = foreign_key
        self.owner: type[Model] | None = None
        self.name = ""

    def __set_name__(self, owner: type[Model], name: str) -> None:
        self.owner = owner
        self.name = name

    @property
    def target(self) -> type[Model]:
        """The related model class."""
        assert self.owner is not None
        return resolve_model(self._target, self.owner)

    @property
    def foreign_key(self) -> str:
        """The foreign-key column (on the target for has_many, on the owner for belongs_to)."""
        raise NotImplementedError


class has_many(Relation):
    """``orders = has_many("Order")``: ``orders.user_id`` points at this model's ``id``.

    ``user.orders`` is the scope of that user's orders; ``User.all().join(Order)`` joins them.
    """

    kind = "has_many"

    @property
    def foreign_key(self) -> str:
        """``<owner>_id``, unless the relation was given ``foreign_key``."""
        assert self.owner is not None
        return self._foreign_key or f"{snake_case(self.owner.__name__)}_id"

    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return self
        key = owner.__primary_key__  # type: ignore[attr-defined]  # owner is a Model subclass
        return self.target.all().filter(self.foreign_key, getattr(obj, key))


class belongs_to(Relation):
    """``user = belongs_to("User")``: this model's ``user_id`` points at ``users.id``.

    ``order.user`` is a scope finding that user (``await order.user.fetch()``).
    """

    kind = "belongs_to"

    @property
    def foreign_key(self) -> str:
        """``<target>_id``, unless the relation was given ``foreign_key``."""
        return self._foreign_key or f"{snake_case(self.target.__name__)}_id"

    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return self
        target = self.target
        return target.all().filter(target.__primary_key__, getattr(obj, self.foreign_key))


def _all_models(base: type) -> list[type]:
    out: list[type] = []
    sub: type
    for sub in base.__subclasses__():
        out.append(sub)
        out.extend(_all_models(sub))
    return out


def resolve_model(ref: type[Model] | str, near: type) -> type[Model]:
    """A model class from a class or its name (looked up beside ``near`` first)."""
    if isinstance(ref, type):
        if not issubclass(ref, Model):
            raise ModelDefinitionError(f"{ref.__name__} is not a rum_orm.Model subclass")
        return ref
    module = sys.modules.get(near.__module__)
    found = getattr(module, ref, None) if module else None
    if isinstance(found, type) and issubclass(found, Model):
        return found
    matches = [m for m in _all_models(Model) if m.__name__ == ref]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        known = [m.__name__ for m in _all_models(Model)]
        hint = closest(ref, known)
        raise ModelDefinitionError(f"{near.__name__}: no model named {ref!r}"
                                   + (f"; did you mean {hint!r}?" if hint else ""))
    local = [m for m in matches if m.__module__ == near.__module__]
    if len(local) == 1:
        return local[0]
    raise ModelDefinitionError(f"{near.__name__}: several models are named {ref!r}; pass the "
                               f"class itself instead of its name")


def _relation_between(source: type[Model], target: type[Model]) -> Join | None:
    # A relation declared on either side; the foreign key is on ``target`` when source
    # has_many target or target belongs_to source, else on ``source``.
    for holder, other, fk_on_target in ((source, target, "has_many"),
                                        (target, source, "belongs_to")):
        for rel in holder.__relations__.values():
            if rel.target is not other:
                continue
            if rel.kind == fk_on_target:
                return Join(target, source, target.column(rel.foreign_key),
                            source.column(source.__primary_key__))
            return Join(target, source, target.column(target.__primary_key__),
                        source.column(rel.foreign_key))
    return None


def find_join(sources: Sequence[type[Model]], target: type[Model]) -> Join:
    """How to join ``target`` to the first of ``sources`` it is related to."""
    for source in sources:
        join = _relation_between(source, target)
        if join is not None:
            return join
    names = ", ".join(s.__name__ for s in sources)
    first = sources[0].__name__
    raise ModelDefinitionError(
        f"cannot join {target.__name__} to {names}: no relation declared. Add e.g. "
        f"`{pluralize(snake_case(target.__name__))} = has_many({target.__name__!r})` to {first}"
        f" or `{snake_case(first)} = belongs_to({first!r})` to {target.__name__}")


# -- the model -------------------------------------------------------------------------------------


class Model:
    """Base class of ORM models; see the module documentation."""

    __table__: ClassVar[str] = ""
    __quoted__: ClassVar[str] = ""
    __primary_key__: ClassVar[str] = "id"
    __fields__: ClassVar[dict[str, Field]] = {}
    __columns__: ClassVar[dict[str, str]] = {}
    __relations__: ClassVar[dict[str, Relation]] = {}
    #: attributes that are not columns (``virtual()``, ``<field>_confirmation``)
    __attributes__: ClassVar[dict[str, Field]] = {}
    #: validators by field (``"base"``: the record-wide ``@validates`` methods)
    __validators__: ClassVar[dict[str, tuple[Validator, ...]]] = {}
    #: how fields are named in full error messages (default: ``user_id`` → ``User``)
    __labels__: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__table__" not in cls.__dict__ or not cls.__dict__["__table__"]:
            cls.__table__ = table_name(cls.__name__)
        cls.__quoted__ = q(cls.__table__)
        declared = _collect_fields(cls)
        if "errors" in declared:
            raise ModelDefinitionError(
                f"{cls.__name__}: a field may not be named 'errors' (record.errors holds the "
                f"validation messages); name the attribute differently")
        fields = {n: f for n, f in declared.items() if not f.virtual}
        attributes = {n: f for n, f in declared.items() if f.virtual}
        pk = cls.__primary_key__
        if pk not in fields:
            fields = {pk: Field(pk, int | None, None), **fields}
        cls.__fields__ = fields
        cls.__columns__ = {name: Column(cls.__table__, name).to_sql() for name in fields}
        cls.__relations__ = {name: rel for klass in reversed(cls.__mro__)
                             for name, rel in vars(klass).items() if isinstance(rel, Relation)}
        validators: dict[str, list[Validator]] = {}
        for name, field in declared.items():
            if field.validators:
                validators[name] = list(field.validators)
            if any(isinstance(v, confirmation) for v in field.validators):
                extra = confirmation.attribute(name)
                if extra in fields:
                    raise ModelDefinitionError(
                        f"{cls.__name__}.{name}: confirmation() reads {extra!r}, which is a "
                        f"column; it must be an attribute that is not stored")
                attributes.setdefault(extra, Field(extra, field.annotation, None, virtual=True))
        methods: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                methods[attr] = value
        for attr, value in methods.items():
            marked = marked_validator(value)
            if marked is None:
                continue
            target = marked.field or BASE
            if target != BASE and target not in declared:
                cls._unknown(target, f"@validates({target!r}) on {attr}()")
            validators.setdefault(target, []).append(marked)
        if BASE in validators:  # record-wide checks run last
            validators[BASE] = validators.pop(BASE)
        cls.__attributes__ = attributes
        cls.__validators__ = {name: tuple(vs) for name, vs in validators.items()}

    def __init__(self, values: Mapping[str, Any] | None = None, /, **kwargs: Any) -> None:
        data = {**dict(values or {}), **kwargs}
        cls = type(self)
        fields = cls.__fields__
        for name in data:
            if name not in fields and name not in cls.__attributes__:
                self._unknown(name)
        d = self.__dict__
        for name in cls.__attributes__:
            if name in data:
                d[name] = data[name]
        for name, field in fields.items():
            if name in data:
                d[name] = data[name]
            elif field.default is not _UNSET:
                default = field.default
                d[name] = copy.copy(default) if isinstance(default, list | dict | set) \
                    else default

    @classmethod
    def _unknown(cls, name: str, where: str = "") -> None:
        known = [*cls.__fields__, *cls.__attributes__]
        hint = closest(name, known)
        raise OrmError(f"{where + ': ' if where else ''}{cls.__name__} has no field {name!r}"
                       + (f"; did you mean {hint!r}?" if hint else "")
                       + f" (fields: {', '.join(known)})")

    def __getattr__(self, name: str) -> Any:
        cls = type(self)
        if name in cls.__fields__:
            return None  # declared but not set yet (the database fills it in on save)
        attribute = cls.__attributes__.get(name)
        if attribute is not None:
            return None if attribute.default is _UNSET else attribute.default
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @classmethod
    def _from_record(cls: type[M], record: Any) -> M:
        obj = cls.__new__(cls)
        obj.__dict__.update(record.items())
        return obj

    @classmethod
    def _from_records(cls: type[M], records: Iterable[Any]) -> list[M]:
        """``_from_record`` for every row of a result, without a method call per row."""
        new = cls.__new__
        out: list[M] = []
        append = out.append
        for record in records:
            obj = new(cls)
            obj.__dict__.update(record.items())
            append(obj)
        return out

    @classmethod
    def _related(cls, other: type[Model] | str) -> type[Model]:
        """The model ``other`` names, looked up beside this one (for a scope's joins)."""
        return resolve_model(other, cls)

    @staticmethod
    def _join_from(sources: Sequence[type[Model]], target: type[Model]) -> Join:
        """How to join ``target`` to the first of ``sources`` it is related to."""
        return find_join(sources, target)

    # -- representation ----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The record's columns as a dict (what JSON responses and templates see); attributes
        that are not columns (``virtual()``, confirmations) are left out."""
        hidden = type(self).__attributes__
        return {k: v for k, v in self.__dict__.items()
                if not k.startswith("_") and k not in hidden}

    # -- validation --------------------------------------------------------------------------------

    @property
    def errors(self) -> Errors:
        """The messages of the last :meth:`validate` (empty before it), by field."""
        found = self.__dict__.get("_errors")
        if found is None:
            found = self.__dict__["_errors"] = Errors(type(self).__labels__)
        return found

    @classmethod
    def validators_for(cls, name: str) -> tuple[Validator, ...]:
        """The validators declared for field (or attribute) ``name``, in the order they run;
        ``"base"``: the record-wide ``@validates`` methods. Unknown names are an error."""
        if name != BASE and name not in cls.__fields__ and name not in cls.__attributes__:
            cls._unknown(name)
        return cls.__validators__.get(name, ())

    @classmethod
    def html_attributes_for(cls, name: str) -> dict[str, Any]:
        """HTML input attributes that express ``name``'s unconditional validators:
        ``required``, ``minlength``/``maxlength``, ``pattern``, ``min``/``max``/``step``."""
        return html_attributes(cls.validators_for(name))

    async def validate(self, conn: Conn = None) -> bool:
        """Run every validator (fields in declaration order, then ``@validates`` methods);
        fill :attr:`errors` and return whether there are none. Queries (``uniqueness``, your
        own validators' model queries) run on ``conn`` when given, else where model queries
        run."""
        cls = type(self)
        errors = Errors(cls.__labels__)
        self.__dict__["_errors"] = errors
        action: Action = ("create" if self.__dict__.get(cls.__primary_key__) is None
                          else "update")
        context = ValidationContext(errors, conn, action)
        with using(conn):
            for name, validators in cls.__validators__.items():
                value = None if name == BASE else getattr(self, name)
                for validator in validators:
                    if validator.applies(self, action):
                        await validator.validate(self, name, value, context)
        return not errors

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in list(self.to_dict().items())[:6])
        return f"<{type(self).__name__} {shown}>"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.to_dict() == other.to_dict()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    # -- queries -----------------------------------------------------------------------------------

    @classmethod
    def column(cls, name: str) -> Column:
        """This model's column ``name``, qualified by the table: ``"orders"."total"``."""
        return Column(cls.__table__, name)

    @classmethod
    def all(cls: type[M]) -> Scope[M]:
        """The scope of every record; chain filters on it."""
        return Scope(cls)

    @classmethod
    def find(cls: type[M], pk: Any) -> Scope[M]:
        """The record whose primary key is ``pk`` (``await User.find(15).fetch()``).

        A string key of an integer primary key (``"15"`` from a URL) is converted; one that
        is not a number, or is beyond ``bigint``, matches nothing (so ``fetch()`` answers
        404).
        """
        if cls.__fields__[cls.__primary_key__].base_type is int:
            if isinstance(pk, str):
                try:
                    pk = int(pk)
                except ValueError:
                    return Scope(cls, (_NOTHING,))
            if isinstance(pk, int) and not INT64_MIN <= pk <= INT64_MAX:
                return Scope(cls, (_NOTHING,))  # beyond bigint: no such record
        return Scope(cls, (Compare(cls.__primary_key__, "=", pk),))

    @classmethod
    def related(cls, other: type[Model] | str, records: Sequence[Any]) -> Scope[Any]:
        """The ``other`` records related to ``records`` of this model, in one query:
        ``await User.related(Order, users).fetch_all()``."""
        target = resolve_model(other, cls)
        join = _relation_between(cls, target)
        if join is None:
            find_join([cls], target)  # raises the explanation
            raise AssertionError
        # join.on_left is the target's column; on_right the source's
        source_col = join.on_right.name
        values = list(dict.fromkeys(v for r in records
                                    if (v := getattr(r, source_col, None)) is not None))
        return target.all().filter(join.on_left.name, values)

    @classmethod
    def find_by_sql(cls: type[M], sql: str, params: Sequence[Any] = ()) -> RawQuery[M]:
        """Records from hand-written SQL (``$1, $2...`` placeholders bound to ``params``)."""
        return RawQuery(cls, sql, list(params))

    @classmethod
    def create(cls: type[M], values: Mapping[str, Any] | None = None, /, *,
               validate: bool = True, **kwargs: Any) -> Create[M]:
        """``INSERT ... RETURNING *``: ``await User.create(email="a@b.c")``; add
        ``.unique_by("email")`` for ``ON CONFLICT ("email") DO UPDATE``.

        The new record is validated first (as ``Model(**values)``, so Python defaults count):
        an invalid one raises :class:`ValidationError`; ``validate=False`` skips that."""
        return Create(cls, {**dict(values or {}), **kwargs}, validate=validate)

    @classmethod
    def find_or_create_by(cls: type[M], values: Mapping[str, Any] | None = None, /,
                          **kwargs: Any) -> FindOrCreate[M]:
        """Find the record with these values, or create it (see :class:`FindOrCreate`)."""
        return FindOrCreate(cls, {**dict(values or {}), **kwargs})

    # -- records -----------------------------------------------------------------------------------

    def _check_values(self, names: Sequence[str]) -> None:
        for name in names:
            _check_aware(type(self), name, self.__dict__[name])

    async def save(self: M, conn: Conn = None, *, validate: bool = True) -> M:
        """``INSERT`` (primary key ``None``) or ``UPDATE`` every column; refresh from the row
        the database returns (defaults, triggers) and return ``self``.

        The record is validated first (:meth:`validate`, on ``conn``): an invalid one raises
        :class:`ValidationError` and nothing is written. ``validate=False`` skips that. A
        unique violation on a column with a ``uniqueness`` validator (a concurrent writer got
        there first) is a :class:`ValidationError` too, with that validator's message.

        On ``INSERT``, fields that are ``None`` are left out, so the column's default applies
        (``created_at ... DEFAULT now()`` declared as ``created_at: datetime | None = None``).
        """
        cls = type(self)
        if validate and cls.__validators__ and not await self.validate(conn):
            raise ValidationError(self, self.errors)
        pk = cls.__primary_key__
        names = [n for n in cls.__fields__ if n in self.__dict__ and not
                 (n == pk and self.__dict__[n] is None)]
        extra = [n for n in self.__dict__ if n not in cls.__fields__ and not n.startswith("_")]
        self._check_values(names)
        params = Params()
        table = q(cls.__table__)
        if self.__dict__.get(pk) is None:
            names = [n for n in names if self.__dict__[n] is not None]
            if names:
                cols = ", ".join(q(n) for n in names)
                vals = ", ".join(params.add(self.__dict__[n]) for n in names)
                sql = f"INSERT INTO {table} ({cols}) VALUES ({vals}) RETURNING *"
            else:
                sql = f"INSERT INTO {table} DEFAULT VALUES RETURNING *"
        else:
            sets = ", ".join(f"{q(n)} = {params.add(self.__dict__[n])}"
                             for n in names if n != pk)
            if not sets:
                return self
            sql = (f"UPDATE {table} SET {sets} WHERE {q(pk)} = "
                   f"{params.add(self.__dict__[pk])} RETURNING *")
        action: Action = "create" if self.__dict__.get(pk) is None else "update"
        target = where_to_write(conn)
        try:
            row = await run_query(cls, target, "fetchrow", sql, params.values)
        except asyncpg.UniqueViolationError as exc:
            taken = _taken(self, exc)
            if taken is None:
                raise
            raise taken from exc
        if row is None:
            raise NotFound(f"{cls.__name__} with {pk}={self.__dict__[pk]!r} no longer exists",
                           model=cls, sql=sql, params=params.values)
        for n in extra:
            self.__dict__.pop(n, None)
        self.__dict__.update(row.items())
        await report_change(self, action, target)
        return self

    async def update(self: M, values: Mapping[str, Any] | None = None, /, *,
                     conn: Conn = None, validate: bool = True, **kwargs: Any) -> M:
        """Set fields and :meth:`save`: ``await user.update(admin=True)``. An invalid result
        raises :class:`ValidationError` (the fields keep the new values, nothing is written);
        ``validate=False`` skips validation."""
        changes = {**dict(values or {}), **kwargs}
        cls = type(self)
        for name in changes:
            if name not in cls.__fields__ and name not in cls.__attributes__:
                self._unknown(name)
        self.__dict__.update(changes)
        return await self.save(conn, validate=validate)

    @classmethod
    async def bulk_update(cls: type[M], records: Iterable[M], fields: Sequence[str] | None = None,
                          *, conn: Conn = None, validate: bool = True) -> int:
        """Write ``fields`` of existing ``records`` (each has its primary key) in one round trip:
        ``await World.bulk_update(worlds, ["randomnumber"])``; return how many were sent.

        ``fields`` defaults to every column the first record holds, but the primary key.
        One ``UPDATE ... WHERE <pk> = $1`` runs for each record, pipelined on one connection
        (asyncpg's ``executemany``), all or nothing, in primary-key order (so two bulk updates
        of the same rows cannot deadlock). Records are validated first (``validate=False``
        skips it) and every value is checked before anything is sent. Unlike :meth:`save`,
        records are not refreshed from the database, and a record whose row no longer exists
        is skipped. Change listeners hear an ``update`` for each record.
        """
        records = list(records)
        if not records:
            return 0
        pk = cls.__primary_key__
        for record in records:
            if not isinstance(record, cls):
                raise TypeError(f"{cls.__name__}.bulk_update() takes {cls.__name__} records, "
                                f"got {record!r}")
        if fields is None:
            names = [n for n in cls.__fields__ if n != pk and n in records[0].__dict__]
        else:
            names = list(fields)
            for name in names:
                if name not in cls.__fields__:
                    cls._unknown(name, f"{cls.__name__}.bulk_update()")
            if pk in names:
                raise OrmError(f"{cls.__name__}.bulk_update() finds rows by {pk!r} and cannot "
                               f"change it; leave it out of fields")
        if not names:
            raise OrmError(f"{cls.__name__}.bulk_update(): no field to write; name them: "
                           f"bulk_update(records, [\"field\", ...])")
        if validate and cls.__validators__:
            for record in records:
                if not await record.validate(conn):
                    raise ValidationError(record, record.errors)
        sets = ", ".join(f"{q(n)} = ${i}" for i, n in enumerate(names, 2))
        sql = f"UPDATE {q(cls.__table__)} SET {sets} WHERE {q(pk)} = $1"
        rows = []
        for i, record in enumerate(records):
            values = record.__dict__
            if values.get(pk) is None:
                raise OrmError(f"{cls.__name__}.bulk_update() writes existing records, but "
                               f"record {i} has no {pk}: create it with save() or create()")
            missing = [n for n in names if n not in values]
            if missing:
                raise OrmError(f"{cls.__name__}.bulk_update(): record {i} ({pk}="
                               f"{values[pk]!r}) has no value for {', '.join(missing)}")
            record._check_values(names)
            row = [values[pk], *(values[n] for n in names)]
            check_args(row, cls, sql)
            rows.append(row)
        try:
            rows.sort(key=lambda row: row[0])
        except TypeError:
            pass  # keys that do not compare keep the given order
        target = where_to_write(conn)
        try:
            if type(target) is Database:
                await target._orm_query("executemany", sql, [rows])
            else:
                await target.executemany(sql, rows)
        except asyncpg.PostgresError as exc:
            new = translate(exc, cls, sql)
            if new is exc:
                raise
            raise new from exc
        for record in records:
            await report_change(record, "update", target)
        return len(records)

    async def delete(self, conn: Conn = None) -> bool:
        """``DELETE`` this record; return whether a row was deleted."""
        cls = type(self)
        pk = cls.__primary_key__
        target = where_to_write(conn)
        status = await run_query(cls, target, "execute",
                                 f"DELETE FROM {q(cls.__table__)} WHERE {q(pk)} = $1",
                                 [self.__dict__.get(pk)])
        deleted = status.endswith(" 1")
        if deleted:
            await report_change(self, "delete", target)
        return deleted

    async def reload(self: M, conn: Conn = None) -> M:
        """Read this record's columns again from the database; return ``self``."""
        fresh = await type(self).find(self.__dict__.get(type(self).__primary_key__)).fetch(conn)
        self.__dict__.clear()
        self.__dict__.update(fresh.__dict__)
        return self


def where_to_write(conn: Conn) -> Database | Connection:
    """Where a write with ``conn`` runs (:func:`executor`), as the current transaction's
    connection when there is one, so change listeners join it."""
    target = executor(conn)
    if isinstance(target, Database):
        return target.current() or target
    return target


def _check_aware(model: type, name: str, value: Any) -> None:
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        raise OrmError(f"{model.__name__}.{name} is a naive datetime ({value}); PostgreSQL "
                       f"would read it in the server's time zone. Use an aware one, e.g. "
                       f"datetime.now(timezone.utc)")


_KEY = re.compile(r"Key \((.+?)\)=\(")


def _taken(record: Model, exc: BaseException) -> ValidationError | None:
    """The :class:`ValidationError` for a unique violation on a column with a
    ``uniqueness`` validator (two writers validated at the same time and the database's
    unique index stopped the second), or ``None``."""
    match = _KEY.search(getattr(exc, "detail", None) or "")
    if match is None:
        return None
    cls = type(record)
    for part in match.group(1).split(", "):
        name = re.sub(r"^lower\((.+?)(?:::[\w ]+)?\)$", r"\1", part.strip()).strip('"')
        for validator in cls.__validators__.get(name, ()):
            if isinstance(validator, uniqueness):
                errors = Errors(cls.__labels__)
                errors.add(name, validator.text(value=getattr(record, name)))
                record.__dict__["_errors"] = errors
                return ValidationError(record, errors)
    return None


def _delegate(name: str) -> classmethod:
    def method(cls: type[Model], *args: Any, **kwargs: Any) -> Any:
        return getattr(Scope(cls), name)(*args, **kwargs)

    method.__name__ = name
    method.__qualname__ = f"Model.{name}"
    method.__doc__ = f"``Model.all().{name}(...)``: see :meth:`Scope.{name}`."
    return classmethod(method)


for _name in ("filter", "where", "filter_lt", "filter_gt", "filter_lte", "filter_gte", "not_",
              "filter_not", "or_", "order", "limit", "offset", "lock", "join", "join_nested",
              "distinct", "count", "exists", "fetch_all"):
    setattr(Model, _name, _delegate(_name))
del _name


# -- statements that are not scopes ----------------------------------------------------------------


class RawQuery(typing.Generic[M]):
    """What :meth:`Model.find_by_sql` returns: fetch it like a scope."""

    def __init__(self, model: type[M], sql: str, params: list[Any]) -> None:
        self.model = model
        self.sql = sql
        self.params = params

    async def fetch_all(self, conn: Conn = None) -> list[M]:
        """Every row, as records."""
        rows = await run_query(self.model, conn, "fetch", self.sql, self.params, orm=False)
        return self.model._from_records(rows)

    async def fetch_optional(self, conn: Conn = None) -> M | None:
        """The first row as a record, or ``None``."""
        row = await run_query(self.model, conn, "fetchrow", self.sql, self.params, orm=False)
        return None if row is None else self.model._from_record(row)

    async def fetch(self, conn: Conn = None) -> M:
        """The first row as a record; :class:`NotFound` when there is none."""
        found = await self.fetch_optional(conn)
        if found is None:
            raise NotFound(f"{self.model.__name__} not found by SQL", model=self.model,
                           sql=self.sql, params=self.params)
        return found

    def to_sql(self) -> str:
        """The SQL as given."""
        return self.sql


class Create(typing.Generic[M]):
    """An ``INSERT ... RETURNING *`` of one record; ``await`` it or call :meth:`fetch`."""

    def __init__(self, model: type[M], values: dict[str, Any],
                 unique: tuple[str, ...] = (), *, validate: bool = True) -> None:
        for name in values:
            if name not in model.__fields__ and name not in model.__attributes__:
                model._unknown(name)
        self.model = model
        self.given = values
        self.values = {k: v for k, v in values.items() if k in model.__fields__}
        self.unique = unique
        self.validate = validate

    def unique_by(self, *columns: str) -> Create[M]:
        """On a unique violation of ``columns``, update the existing row instead
        (``ON CONFLICT (columns) DO UPDATE SET ... = EXCLUDED....``). ``uniqueness``
        validators of these columns are not run (the conflict is expected)."""
        if len(columns) == 1 and isinstance(columns[0], list | tuple):
            columns = tuple(columns[0])
        if not columns:
            raise TypeError("unique_by() needs the column(s) of a unique index")
        return Create(self.model, self.given, tuple(columns), validate=self.validate)

    async def _check(self, conn: Conn) -> None:
        if not self.validate or not self.model.__validators__:
            return
        record = self.model(self.given)
        valid = await record.validate(conn)
        for column in self.unique:
            if any(isinstance(v, uniqueness) for v in self.model.__validators__.get(column, ())):
                record.errors.discard(column)
                valid = not record.errors
        if not valid:
            raise ValidationError(record, record.errors)

    def to_sql(self) -> str:
        """The statement, with ``$n`` placeholders."""
        return self._sql(Params())

    def _sql(self, params: Params) -> str:
        table = q(self.model.__table__)
        for name, value in self.values.items():
            _check_aware(self.model, name, value)
        if not self.values:
            return f"INSERT INTO {table} DEFAULT VALUES RETURNING *"
        cols = ", ".join(q(n) for n in self.values)
        vals = ", ".join(params.add(v) for v in self.values.values())
        sql = f"INSERT INTO {table} ({cols}) VALUES ({vals})"
        if self.unique:
            target = ", ".join(q(c) for c in self.unique)
            sets = ", ".join(f"{q(n)} = EXCLUDED.{q(n)}" for n in self.values)
            sql += f" ON CONFLICT ({target}) DO UPDATE SET {sets}"
        return sql + " RETURNING *"

    async def fetch(self, conn: Conn = None) -> M:
        """Validate (unless ``validate=False``) and run it; return the created (or, with
        ``unique_by``, updated) record."""
        await self._check(conn)
        params = Params()
        sql = self._sql(params)
        target = where_to_write(conn)
        try:
            row = await run_query(self.model, target, "fetchrow", sql, params.values)
        except asyncpg.UniqueViolationError as exc:
            taken = _taken(self.model(self.given), exc)
            if taken is None:
                raise
            raise taken from exc
        record = self.model._from_record(row)
        await report_change(record, "create", target)
        return record

    def __await__(self) -> typing.Generator[Any, None, M]:
        return self.fetch().__await__()


class FindOrCreate(typing.Generic[M]):
    """``SELECT`` a record by ``values``; when there is none, ``INSERT`` it (with
    ``unique_by``: ``INSERT ... ON CONFLICT DO UPDATE``, safe against a concurrent insert)."""

    def __init__(self, model: type[M], values: dict[str, Any],
                 unique: tuple[str, ...] = ()) -> None:
        self.model = model
        self.values = values
        self.unique = unique

    def unique_by(self, *columns: str) -> FindOrCreate[M]:
        """See :meth:`Create.unique_by`."""
        if len(columns) == 1 and isinstance(columns[0], list | tuple):
            columns = tuple(columns[0])
        return FindOrCreate(self.model, self.values, tuple(columns))

    async def fetch(self, conn: Conn = None) -> M:
        """Run it; return the found or created record."""
        columns = {k: v for k, v in self.values.items() if k in self.model.__fields__}
        found = await self.model.all().filter(**columns).fetch_first(conn)
        if found is not None:
            return found
        create = Create(self.model, self.values)
        if self.unique:
            create = create.unique_by(*self.unique)
        return await create.fetch(conn)

    def __await__(self) -> typing.Generator[Any, None, M]:
        return self.fetch().__await__()
