"""``Form``: a declarative form class that reads a request, coerces and validates it.

::

    class OrderForm(Form):
        customer = StringField(required=True, max_length=80)
        quantity = IntegerField(required=True, min=1, max=99)

    form = await OrderForm.from_request(request)   # form body or JSON object
    if await form.validate():
        form.data          # {"customer": "Ada", "quantity": 2}
    else:
        form.errors        # {"quantity": ["must be at most 99"]}
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Self

from rum.errors import BadRequest
from rum.negotiation import is_json_type
from rum_forms.fields import Field, FileField

#: The ``errors`` key of messages about the whole form rather than one field.
BASE = "base"


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])|(?<=[A-Z])([A-Z])(?=[a-z])", r"_\1\2", name).lower()


class BoundField:
    """One field of one form, as the HTML helpers see it: ``name``, ``id``, ``label``,
    ``value`` (the text to show), ``errors`` and the :class:`Field` itself."""

    __slots__ = ("field", "form", "name")

    def __init__(self, form: Form, name: str, field: Field) -> None:
        self.form = form
        self.name = name
        self.field = field

    @property
    def id(self) -> str:
        """The input's ``id``: ``<form prefix>_<name>`` (``order_customer``)."""
        prefix = self.form.prefix
        return f"{prefix}_{self.name}" if prefix else self.name

    @property
    def label(self) -> str:
        """The field's label."""
        return self.field.label or self.name

    @property
    def value(self) -> str:
        """What the input shows: the submitted text when there was a submission, else the
        initial value formatted (passwords and files: always empty)."""
        return self.form.value_text(self.name)

    @property
    def errors(self) -> list[str]:
        """The field's error messages (empty when valid or not validated yet)."""
        return self.form.errors.get(self.name, [])

    def __repr__(self) -> str:
        return f"<BoundField {self.name} value={self.value!r} errors={self.errors!r}>"


class Form:
    """Base of declarative forms; fields are class attributes (see the module docstring).

    ``Form(values, files=..., initial=...)`` builds a form from a mapping of raw values (a
    ``FormData``, a JSON object, a dict); ``initial`` (a mapping or an object such as a model)
    fills the inputs of a form shown before any submission. :meth:`from_request` reads the
    request's body. After ``await form.validate()``: :attr:`errors` maps a field name (or
    ``"base"``) to its messages, :attr:`data` holds the coerced values, and :attr:`raw` keeps
    what was submitted so the page shows it again.

    Extra checks: a method ``validate_<field>(self, value) -> message | None`` (sync or
    async) runs after the field's own rules pass; ``async def check(self)`` runs last and
    may call :meth:`add_error`.
    """

    #: The fields, by name, in declaration order (collected from the class and its bases).
    form_fields: ClassVar[dict[str, Field]] = {}
    #: Prefix of the inputs' ``id``s (default: the class name in snake case without
    #: ``_form``: ``OrderForm`` → ``order``, so ``order_customer``).
    prefix: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields: dict[str, Field] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, Field):
                    fields[name] = value
        taken = sorted(n for n in fields if n in _RESERVED)
        if taken:
            raise TypeError(f"{cls.__name__}: a field may not be named {', '.join(taken)} "
                            f"(Form uses the name); rename the field and give it label=...")
        cls.form_fields = fields
        if "prefix" not in cls.__dict__:
            cls.prefix = cls.default_prefix()

    @classmethod
    def default_prefix(cls) -> str:
        """The ``prefix`` of a class that does not set one: ``OrderForm`` → ``order``."""
        return _snake(cls.__name__).removesuffix("_form") or "form"

    def __init__(self, values: Mapping[str, Any] | None = None, /, *,
                 files: Mapping[str, Any] | None = None,
                 initial: Mapping[str, Any] | object | None = None) -> None:
        self.submitted = values is not None
        self.raw: dict[str, Any] = {}
        if values is not None:
            files = files if files is not None else getattr(values, "files", None)
            for name, field in self.form_fields.items():
                if isinstance(field, FileField):
                    self.raw[name] = files.get(name) if files else None
                else:
                    self.raw[name] = values.get(name)
        self.initial = initial
        self.errors: dict[str, list[str]] = {}
        self.data: dict[str, Any] = {}
        self.validated = False

    @classmethod
    async def from_request(cls, request: Any, **kwargs: Any) -> Self:
        """A form holding ``request``'s body: a JSON object when the body is JSON, else
        ``await request.form()`` (urlencoded or multipart, with files). A JSON body that is
        not an object is a 400. For GET and HEAD (a search form) the query string is read;
        a query naming none of the form's fields leaves the form unsubmitted."""
        if request.method in ("GET", "HEAD"):
            query = request.query
            if not any(name in query for name in cls.form_fields):
                return cls(None, **kwargs)
            return cls(query, **kwargs)
        if is_json_type(request.content_type):
            body = request.json()
            if not isinstance(body, dict):
                raise BadRequest(f"expected a JSON object with the fields of "
                                 f"{cls.__name__} ({', '.join(cls.form_fields)}), got "
                                 f"{type(body).__name__}")
            return cls(body, **kwargs)
        return cls(await request.form(), **kwargs)

    # -- validation -------------------------------------------------------------------------

    async def validate(self) -> bool:
        """Coerce and check every field, then the form's own checks; ``True`` when no field
        has errors. Fills :attr:`data` and :attr:`errors`; bad input never raises."""
        self.errors = {}
        self.data = {}
        for name, field in self.form_fields.items():
            value, messages = await field.clean(self.raw.get(name))
            if not messages:
                custom = getattr(self, f"validate_{name}", None)
                if custom is not None:
                    result = custom(value)
                    if inspect.isawaitable(result):
                        result = await result
                    if result:
                        messages = [str(result)]
            if messages:
                self.errors[name] = list(messages)
            else:
                self.data[name] = value
        if not self.errors:
            await self.check()
        self.validated = True
        return not self.errors

    async def check(self) -> None:
        """Checks across fields, after every field passed; override and call
        :meth:`add_error`. :attr:`data` holds the coerced values."""

    def add_error(self, field: str | None, message: str) -> None:
        """Add ``message`` to ``field``'s errors (``None`` or ``"base"``: the whole form)."""
        self.errors.setdefault(field or BASE, []).append(message)
        if field in self.data:
            del self.data[field]

    @property
    def is_valid(self) -> bool:
        """True after a :meth:`validate` that found no errors."""
        return self.validated and not self.errors

    @property
    def base_errors(self) -> list[str]:
        """Messages about the whole form (``errors["base"]``)."""
        return self.errors.get(BASE, [])

    def full_messages(self) -> list[str]:
        """Every error as a sentence: ``"Quantity must be at most 99"`` (base errors as
        they are), in field order."""
        out = list(self.base_errors)
        for name, messages in self.errors.items():
            if name == BASE:
                continue
            out += [full_message(self.label_for(name), m) for m in messages]
        return out

    # -- values for the page ----------------------------------------------------------------

    def __getitem__(self, name: str) -> BoundField:
        field = self.form_fields.get(name)
        if field is None:
            raise KeyError(f"{type(self).__name__} has no field {name!r} (fields: "
                           f"{', '.join(self.form_fields)})")
        return BoundField(self, name, field)

    def __iter__(self) -> Iterator[BoundField]:
        return (self[name] for name in self.form_fields)

    def label_for(self, name: str) -> str:
        """The label of field ``name`` (the name humanized for unknown names)."""
        field = self.form_fields.get(name)
        if field is not None and field.label:
            return field.label
        return name.replace("_", " ").capitalize()

    def initial_value(self, name: str) -> Any:
        """The value ``name`` starts with: from ``initial`` (mapping key or attribute), else
        the field's default."""
        initial = self.initial
        if isinstance(initial, Mapping):
            if name in initial:
                return initial[name]
        elif initial is not None:
            value = getattr(initial, name, None)
            if value is not None:
                return value
        field = self.form_fields.get(name)
        return field.default if field is not None else None

    def value(self, name: str) -> Any:
        """The field's current value: the coerced one after validation, else the raw one
        submitted, else the initial value."""
        if name in self.data:
            return self.data[name]
        if self.submitted:
            return self.raw.get(name)
        return self.initial_value(name)

    def value_text(self, name: str) -> str:
        """The text an input shows for ``name``: what the user typed (kept as typed, also
        when invalid), else the initial value formatted by the field."""
        field = self.form_fields.get(name)
        if field is None:
            return ""
        if self.submitted:
            raw = self.raw.get(name)
            return field.format(None if isinstance(raw, dict | list) else raw)
        return field.format(self.initial_value(name))

    def __repr__(self) -> str:
        state = ("valid" if not self.errors else f"errors={self.errors!r}") \
            if self.validated else "not validated"
        return f"<{type(self).__name__} {state}>"


#: Names a form instance uses itself (fields may not take them).
_RESERVED = frozenset({*(n for n in vars(Form) if not n.startswith("__")), "raw", "data",
                       "errors", "initial", "submitted", "validated", "instance", "model",
                       "fields"})


def full_message(label: str, message: str) -> str:
    """``"can't be blank"`` → ``"Customer can't be blank"``; a message that starts with a
    capital letter is already a sentence and is kept as it is."""
    if message[:1].isupper():
        return message
    return f"{label} {message}"
