"""Form fields: how one submitted value is read, coerced and checked.

A field turns the raw value of a request (a string from a form body, a JSON value, or an
:class:`~rum_forms.UploadedFile`) into a Python value, or into an error message. Messages are
short, Rails-style phrases (``"can't be blank"``, ``"must be at most 99"``) that the HTML
helpers print after the field's label ("Quantity must be at most 99"); a message starting with
a capital letter is a whole sentence and is printed as it is.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

#: A custom check: ``check(value)`` returns ``None`` when the value is fine, else the error
#: message; it may be ``async``.
Validator = Callable[[Any], "str | Awaitable[str | None] | None"]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")
_DECIMAL = re.compile(r"[+-]?([0-9]{1,40}(\.[0-9]{0,40})?|\.[0-9]{1,40})")
_EMAIL = re.compile(r"[^@\s<>]{1,64}@[^@\s<>.]+(\.[^@\s<>.]+)+")
_TRUE = frozenset({"1", "true", "on", "yes", "y", "t"})
_FALSE = frozenset({"", "0", "false", "off", "no", "n", "f"})


class FieldError(ValueError):
    """Raised by :meth:`Field.coerce` with the message for the user."""


def humanize(name: str) -> str:
    """``customer_name`` → ``Customer name`` (a field's default label)."""
    text = name.removesuffix("_id").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


class Field:
    """Base of every form field.

    ``required``: a missing or blank value is an error (``"can't be blank"``).
    ``label``: what the label and error messages call the field (default: the name
    humanized). ``default``: the value when nothing was submitted and the field is optional.
    ``validators``: extra checks, ``check(value) -> message | None`` (sync or async), run on
    the coerced value when it is not ``None``. ``help``: a hint printed under the input.
    ``autocomplete``: the input's ``autocomplete`` attribute. ``attrs``: more HTML attributes
    for the input. ``required_message``: the error when a required field is left blank
    (default ``"can't be blank"``; one starting with a capital letter is shown as it is:
    ``"Tell us your name"``).
    """

    #: The ``<input type>`` (or ``"textarea"``, ``"select"``, ``"checkbox"``) the HTML helpers use.
    input_type = "text"

    def __init__(self, *, required: bool = False, label: str | None = None,
                 default: Any = None, validators: Iterable[Validator] = (),
                 help: str | None = None, autocomplete: str | None = None,
                 attrs: dict[str, Any] | None = None,
                 required_message: str | None = None) -> None:
        self.required = required
        self.required_message = required_message
        self.label = label
        self.default = default
        self.validators = list(validators)
        self.help = help
        self.autocomplete = autocomplete
        self.attrs = dict(attrs or {})
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        if self.label is None:
            self.label = humanize(name)

    # -- reading ----------------------------------------------------------------------------

    def is_blank(self, raw: Any) -> bool:
        """True when ``raw`` counts as "nothing submitted"."""
        return raw is None or (isinstance(raw, str) and not raw.strip())

    def coerce(self, raw: Any) -> Any:
        """The Python value of a non-blank ``raw`` value; raise :class:`FieldError`."""
        return raw

    def rules(self, value: Any) -> list[str]:
        """The messages of the field's built-in rules (lengths, ranges) for ``value``."""
        return []

    async def clean(self, raw: Any) -> tuple[Any, list[str]]:
        """``(value, messages)`` for ``raw``: coerced, required-checked, rules and validators
        applied. Never raises for bad input."""
        if self.is_blank(raw):
            if self.required:
                return None, [self.required_message or "can't be blank"]
            return self.blank_value(), []
        try:
            value = self.coerce(raw)
        except FieldError as exc:
            return None, [str(exc)]
        messages = self.rules(value)
        if not messages:
            for check in self.validators:
                result = check(value)
                if inspect.isawaitable(result):
                    result = await result
                if result:
                    messages.append(str(result))
        return value, messages

    def blank_value(self) -> Any:
        """The value of an optional field left blank (its ``default``)."""
        return self.default

    # -- writing ----------------------------------------------------------------------------

    def format(self, value: Any) -> str:
        """``value`` as the input's text (``None`` → empty)."""
        return "" if value is None else str(value)

    def html_attrs(self) -> dict[str, Any]:
        """HTML attributes from the field's rules (``required``, ``maxlength``, ``min``...)."""
        attrs: dict[str, Any] = {"required": self.required}
        if self.autocomplete:
            attrs["autocomplete"] = self.autocomplete
        attrs.update(self.attrs)
        return attrs

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name or '?'}>"


def _has_lone_surrogate(text: str) -> bool:
    """Whether ``text`` holds a UTF-16 surrogate, which no UTF-8 text (or database) can."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class StringField(Field):
    """A line of text. ``min_length``/``max_length`` count characters; ``pattern`` is a
    regular expression the whole value must match (``pattern_message`` explains it). Leading
    and trailing whitespace is removed unless ``strip=False``. A blank optional value is
    ``default`` (``""`` unless given)."""

    def __init__(self, *, min_length: int | None = None, max_length: int | None = None,
                 pattern: str | None = None, pattern_message: str = "is invalid",
                 strip: bool = True, default: Any = "", **options: Any) -> None:
        super().__init__(default=default, **options)
        self.min_length = min_length
        self.max_length = max_length
        self.pattern = re.compile(pattern) if pattern else None
        self.pattern_message = pattern_message
        self.strip = strip

    def is_blank(self, raw: Any) -> bool:
        return raw is None or (isinstance(raw, str) and not raw.strip())

    def coerce(self, raw: Any) -> Any:
        if not isinstance(raw, str):
            if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal):
                raise FieldError("must be text")
            raw = str(raw)
        if "\x00" in raw:
            raise FieldError("contains a NUL character")
        if not raw.isascii() and _has_lone_surrogate(raw):  # from a JSON "\udc00" escape
            raise FieldError("is not valid text (it holds a lone surrogate)")
        return raw.strip() if self.strip else raw

    def rules(self, value: Any) -> list[str]:
        if self.max_length is not None and len(value) > self.max_length:
            return [f"is too long (at most {self.max_length} characters)"]
        if self.min_length is not None and len(value) < self.min_length:
            return [f"is too short (at least {self.min_length} characters)"]
        if self.pattern is not None and not self.pattern.fullmatch(value):
            return [self.pattern_message]
        return []

    def html_attrs(self) -> dict[str, Any]:
        attrs = super().html_attrs()
        if self.max_length is not None:
            attrs.setdefault("maxlength", self.max_length)
        if self.min_length is not None:
            attrs.setdefault("minlength", self.min_length)
        if self.pattern is not None:
            attrs.setdefault("pattern", self.pattern.pattern)
        return {**attrs, **self.attrs}


class TextField(StringField):
    """Several lines of text (a ``<textarea>``)."""

    input_type = "textarea"


class EmailField(StringField):
    """An e-mail address (``autocomplete="email"`` unless told otherwise; at most 254
    characters)."""

    input_type = "email"

    def __init__(self, *, max_length: int | None = 254, **options: Any) -> None:
        options.setdefault("autocomplete", "email")
        super().__init__(max_length=max_length, **options)

    def rules(self, value: Any) -> list[str]:
        problems = super().rules(value)
        if not problems and not _EMAIL.fullmatch(value):
            problems.append("is not a valid email address")
        return problems


class PasswordField(StringField):
    """A password: never stripped and never printed back into the page.

    ``new=True`` marks a password being chosen (``autocomplete="new-password"``), otherwise
    it is the current one (``autocomplete="current-password"``).
    """

    input_type = "password"

    def __init__(self, *, new: bool = False, **options: Any) -> None:
        options.setdefault("autocomplete", "new-password" if new else "current-password")
        options.setdefault("strip", False)
        super().__init__(**options)

    def is_blank(self, raw: Any) -> bool:
        return raw is None or raw == ""

    def format(self, value: Any) -> str:
        return ""


class _Number(Field):
    input_type = "number"

    def __init__(self, *, min: Any = None, max: Any = None, **options: Any) -> None:
        super().__init__(**options)
        self.min = min
        self.max = max

    def rules(self, value: Any) -> list[str]:
        if self.min is not None and value < self.min:
            return [f"must be at least {self.min}"]
        if self.max is not None and value > self.max:
            return [f"must be at most {self.max}"]
        return []

    def html_attrs(self) -> dict[str, Any]:
        attrs = super().html_attrs()
        if self.min is not None:
            attrs.setdefault("min", self.min)
        if self.max is not None:
            attrs.setdefault("max", self.max)
        return attrs


class IntegerField(_Number):
    """A whole number, between ``min`` and ``max`` when given (and always within PostgreSQL's
    ``bigint``)."""

    def coerce(self, raw: Any) -> Any:
        if isinstance(raw, bool):
            raise FieldError("must be a whole number")
        if isinstance(raw, int):
            value = raw
        elif isinstance(raw, str) and _INTEGER.fullmatch(raw.strip()):
            value = int(raw.strip())
        else:
            raise FieldError("must be a whole number")
        if not INT64_MIN <= value <= INT64_MAX:
            raise FieldError("is out of range")
        return value

    def html_attrs(self) -> dict[str, Any]:
        return {**super().html_attrs(), "step": self.attrs.get("step", 1)}


class DecimalField(_Number):
    """A decimal number (a :class:`decimal.Decimal`), with at most ``places`` digits after
    the point when given."""

    def __init__(self, *, places: int | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.places = places
        for bound in ("min", "max"):
            if getattr(self, bound) is not None:
                setattr(self, bound, Decimal(str(getattr(self, bound))))

    def coerce(self, raw: Any) -> Any:
        if isinstance(raw, bool):
            raise FieldError("must be a number")
        text = str(raw).strip() if isinstance(raw, str | int | float | Decimal) else ""
        if not _DECIMAL.fullmatch(text):
            raise FieldError("must be a number")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise FieldError("must be a number") from None
        if self.places is not None:
            exponent = value.as_tuple().exponent
            if isinstance(exponent, int) and -exponent > self.places:
                raise FieldError(f"must have at most {self.places} digits after the point")
        return value

    def html_attrs(self) -> dict[str, Any]:
        step = "any" if self.places is None else (
            "1" if self.places == 0 else "0." + "0" * (self.places - 1) + "1")
        return {**super().html_attrs(), "step": self.attrs.get("step", step)}


class BooleanField(Field):
    """A check box: checked is ``True``; unchecked (nothing sent) is ``False``.
    ``required=True`` means it must be checked (``"must be accepted"``)."""

    input_type = "checkbox"

    def __init__(self, *, default: Any = False, **options: Any) -> None:
        super().__init__(default=default, **options)

    async def clean(self, raw: Any) -> tuple[Any, list[str]]:
        if isinstance(raw, bool):
            value = raw
        elif raw is None:
            value = False
        elif isinstance(raw, str) and raw.strip().lower() in _TRUE:
            value = True
        elif isinstance(raw, str) and raw.strip().lower() in _FALSE:
            value = False
        else:
            return None, ["must be checked or unchecked"]
        if self.required and not value:
            return value, [self.required_message or "must be accepted"]
        return value, []


class ChoiceField(Field):
    """One of ``choices``: a list of values, or of ``(value, label)`` pairs (the page shows
    labels, the form returns values). A submitted value matches a choice by its string form.
    """

    input_type = "select"

    def __init__(self, choices: Iterable[Any] = (), **options: Any) -> None:
        super().__init__(**options)
        self.choices: list[tuple[Any, str]] = [
            (c[0], str(c[1])) if isinstance(c, tuple | list) and len(c) == 2 else (c, str(c))
            for c in choices]

    def coerce(self, raw: Any) -> Any:
        if isinstance(raw, list | dict):
            raise FieldError("is not one of the choices")
        text = "true" if raw is True else "false" if raw is False else str(raw)
        for value, _ in self.choices:
            if self.format(value) == text.strip():
                return value
        raise FieldError("is not one of the choices")

    def format(self, value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return super().format(value)


class DateField(Field):
    """A date, written ``YYYY-MM-DD`` (what ``<input type="date">`` sends)."""

    input_type = "date"

    def __init__(self, *, min: dt.date | None = None, max: dt.date | None = None,
                 **options: Any) -> None:
        super().__init__(**options)
        self.min = min
        self.max = max

    def coerce(self, raw: Any) -> Any:
        if not isinstance(raw, str) or len(raw.strip()) != 10:
            raise FieldError("must be a date (YYYY-MM-DD)")
        try:
            return dt.date.fromisoformat(raw.strip())
        except ValueError:
            raise FieldError("must be a date (YYYY-MM-DD)") from None

    def rules(self, value: Any) -> list[str]:
        if self.min is not None and value < self.min:
            return [f"must be on or after {self.format(self.min)}"]
        if self.max is not None and value > self.max:
            return [f"must be on or before {self.format(self.max)}"]
        return []

    def format(self, value: Any) -> str:
        return value.isoformat() if isinstance(value, dt.date) else super().format(value)

    def html_attrs(self) -> dict[str, Any]:
        attrs = super().html_attrs()
        for bound in ("min", "max"):
            if getattr(self, bound) is not None:
                attrs.setdefault(bound, self.format(getattr(self, bound)))
        return attrs


class DateTimeField(DateField):
    """A date and time, written ``YYYY-MM-DDTHH:MM[:SS]`` (``<input type="datetime-local">``).

    The value is timezone-aware: a time without an offset is read in ``timezone`` (default
    UTC), as the ORM stores aware date-times.
    """

    input_type = "datetime-local"

    def __init__(self, *, timezone: dt.tzinfo = dt.UTC, **options: Any) -> None:
        super().__init__(**options)
        self.timezone = timezone

    def coerce(self, raw: Any) -> Any:
        if not isinstance(raw, str) or not 16 <= len(raw.strip()) <= 35:
            raise FieldError("must be a date and time (YYYY-MM-DDTHH:MM)")
        try:
            value = dt.datetime.fromisoformat(raw.strip())
        except ValueError:
            raise FieldError("must be a date and time (YYYY-MM-DDTHH:MM)") from None
        return value.replace(tzinfo=self.timezone) if value.tzinfo is None else value

    def format(self, value: Any) -> str:
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(self.timezone).replace(tzinfo=None)
            return value.isoformat(timespec="minutes" if not value.second else "seconds")
        return super().format(value)


class FileField(Field):
    """An uploaded file (an :class:`~rum_forms.UploadedFile`; the form must be sent as
    ``multipart/form-data``, which ``form_with`` does when the form has a file field).

    ``max_size`` in bytes; ``content_types``: accepted media types (``"image/png"``,
    ``"image/*"``), also the input's ``accept`` attribute.
    """

    input_type = "file"

    def __init__(self, *, max_size: int | None = None,
                 content_types: Sequence[str] = (), **options: Any) -> None:
        super().__init__(**options)
        self.max_size = max_size
        self.content_types = list(content_types)

    def is_blank(self, raw: Any) -> bool:
        # browsers send an empty part (no file name, no bytes) for an empty file input
        return raw is None or isinstance(raw, str) or (
            not getattr(raw, "filename", "") and not getattr(raw, "size", 0))

    def coerce(self, raw: Any) -> Any:
        if not hasattr(raw, "filename") or not hasattr(raw, "size"):
            raise FieldError("must be a file")
        return raw

    def rules(self, value: Any) -> list[str]:
        if self.max_size is not None and value.size > self.max_size:
            return [f"is too large (at most {self.max_size} bytes)"]
        if self.content_types and not any(_type_matches(value.content_type, accepted)
                                          for accepted in self.content_types):
            return [f"must be a file of type {', '.join(self.content_types)}"]
        return []

    def format(self, value: Any) -> str:
        return ""

    def html_attrs(self) -> dict[str, Any]:
        attrs = super().html_attrs()
        if self.content_types:
            attrs.setdefault("accept", ",".join(self.content_types))
        return attrs


def _type_matches(content_type: str, accepted: str) -> bool:
    actual = (content_type or "").split(";", 1)[0].strip().lower()
    accepted = accepted.lower()
    if accepted.endswith("/*"):
        return actual.startswith(accepted[:-1])
    return actual == accepted
