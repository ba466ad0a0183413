"""``Errors`` (a record's validation messages, by field) and ``ValidationError``.

::

    errors = Errors()
    errors.add("email", "can't be blank")
    errors.add("base", "orders are closed on Sundays")
    errors["email"]            # ["can't be blank"]
    errors.full_messages()     # ["Email can't be blank", "orders are closed on Sundays"]
    errors.to_dict()           # {"email": ["can't be blank"], "base": [...]}
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import rum
from rum_orm.errors import OrmError

#: The key of errors about the whole record rather than one field.
BASE = "base"


def humanize(name: str) -> str:
    """How a field is named in a full message: ``email`` → ``Email``, ``user_id`` → ``User``,
    ``password_confirmation`` → ``Password confirmation``."""
    if name.endswith("_id") and len(name) > 3:
        name = name[:-3]
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


class Errors(Mapping[str, list[str]]):
    """A record's validation messages: a mapping of field name → list of messages, in the
    order they were added. Model-wide messages are under ``"base"``.

    Messages are the part after the field's name (``"can't be blank"``);
    :meth:`full_messages` puts the name in front. ``labels`` overrides how a field is named
    there (a model's ``__labels__``; else :func:`humanize`). An empty ``Errors`` is false.
    """

    def __init__(self, labels: Mapping[str, str] | None = None) -> None:
        self._messages: dict[str, list[str]] = {}
        self.labels: dict[str, str] = dict(labels or {})

    # -- mapping ----------------------------------------------------------------------------------

    def __getitem__(self, field: str) -> list[str]:
        return self._messages[field]

    def __iter__(self) -> Iterator[str]:
        return iter(self._messages)

    def __len__(self) -> int:
        return len(self._messages)

    def get(self, field: str, default: Any = None) -> Any:  # the Mapping one, typed loosely
        """The messages of ``field``, or ``default`` when it has none
        (``errors.get("email", [])``)."""
        return self._messages.get(field, default)

    def __repr__(self) -> str:
        return f"Errors({self._messages!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Errors):
            return self._messages == other._messages
        if isinstance(other, Mapping):
            return self._messages == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    # -- changing ---------------------------------------------------------------------------------

    def add(self, field: str, message: str) -> None:
        """Add ``message`` to ``field`` (``"base"`` for the record as a whole); a message the
        field already has is not added twice."""
        messages = self._messages.setdefault(field, [])
        if message not in messages:
            messages.append(message)

    def merge(self, other: Mapping[str, Any]) -> None:
        """Add every message of ``other`` (an ``Errors`` or ``{field: [messages]}``; a single
        string counts as one message)."""
        for field, messages in other.items():
            for message in [messages] if isinstance(messages, str) else messages:
                self.add(field, str(message))

    def discard(self, field: str) -> None:
        """Forget the messages of ``field``."""
        self._messages.pop(field, None)

    def clear(self) -> None:
        """Forget every message."""
        self._messages.clear()

    # -- reading ----------------------------------------------------------------------------------

    def label(self, field: str) -> str:
        """How ``field`` is named in full messages."""
        return self.labels.get(field) or humanize(field)

    def full_message(self, field: str, message: str) -> str:
        """``"Email can't be blank"``; a ``"base"`` message as it is."""
        if field == BASE:
            return message
        return f"{self.label(field)} {message}"

    def full_messages_for(self, field: str) -> list[str]:
        """The full messages of one field."""
        return [self.full_message(field, m) for m in self._messages.get(field, [])]

    def full_messages(self) -> list[str]:
        """Every message with its field's name in front: ``["Email can't be blank"]``."""
        return [self.full_message(f, m) for f, ms in self._messages.items() for m in ms]

    def to_dict(self) -> dict[str, list[str]]:
        """``{field: [messages]}`` (a copy; what a JSON 422 carries)."""
        return {field: list(messages) for field, messages in self._messages.items()}

    @property
    def count(self) -> int:
        """How many messages there are, over every field."""
        return sum(len(m) for m in self._messages.values())


class ValidationError(OrmError, rum.errors.UnprocessableEntity):
    """``save()``/``create()``/``update()`` refused an invalid record.

    ``errors`` is the record's :class:`Errors`, ``model`` the invalid record itself (an
    instance; ``type(exc.model)`` is its class). The message lists the full messages; a
    controller that lets it escape answers ``422`` with ``{field: [messages]}`` as the
    problem's ``errors``.
    """

    def __init__(self, model: Any, errors: Errors | None = None) -> None:
        self.model = model
        self.errors: Errors = errors if errors is not None else model.errors
        name = type(model).__name__
        listed = "; ".join(self.errors.full_messages()) or "no messages"
        super().__init__(f"{name} is invalid: {listed}", data=self.errors.to_dict())
