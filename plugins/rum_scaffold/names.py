"""Names a generator derives from one class name: ``Post`` → ``post``, ``posts``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rum.errors import RumError
from rum_orm import pluralize, snake_case  # name tables exactly as the ORM will

_CLASS = re.compile(r"[A-Z][A-Za-z0-9]*")


def class_name(name: str) -> str:
    """``post``/``blog_post``/``BlogPost`` → ``BlogPost``; anything else is an error."""
    if "_" in name or name.islower():
        name = "".join(part.capitalize() for part in name.split("_") if part)
    if not _CLASS.fullmatch(name):
        raise RumError(f"{name!r} is not a class name: use e.g. Post or BlogPost")
    return name


@dataclass
class Names:
    """``Post`` → ``post``, ``posts`` (table, URL and template directory)."""

    cls: str
    singular: str = ""
    plural: str = ""

    def __post_init__(self) -> None:
        self.cls = class_name(self.cls)
        self.singular = snake_case(self.cls)
        self.plural = pluralize(self.singular)
