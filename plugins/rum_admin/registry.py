"""Which models the admin shows, and how: :class:`ModelAdmin` and :func:`register`.

``rum_admin.register(Order, list_display=[...], search_fields=[...], list_filter=[...],
ordering="-id")`` declares a model's admin options; every name is checked against the model's
fields at once (a typo is an error naming the known fields). Which models an app's admin
shows is decided when the app is built (``[admin] models``, see :func:`models_for_app`).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from rum import ConfigError
from rum_orm import Model, snake_case

#: Python types a column may have to be sorted, filtered and paged on (they round-trip
#: through a cursor and a query string).
ORDERABLE_TYPES: tuple[type, ...] = (int, str, Decimal, float, date, datetime, bool, UUID)

#: Python types the forms plugin's ``ModelForm`` edits (others are shown, not edited).
FORM_TYPES: tuple[type, ...] = (int, str, Decimal, float, date, datetime, bool)

#: Slugs the admin's own routes use.
RESERVED_SLUGS = frozenset({"dashboards", "assets"})


class AdminDefinitionError(ConfigError):
    """A model registered with options that do not fit it (unknown field, bad ordering)."""


@dataclass(frozen=True)
class ModelAdmin:
    """How the admin shows one model.

    - ``list_display``: the list page's columns (default: every column, at most 8);
    - ``search_fields``: text searched (``ILIKE``, case-insensitive substring) by the box;
    - ``list_filter``: fields offered as filters (booleans, ``inclusion`` choices, or the most
      common values);
    - ``ordering``: the default order, ``"field"`` or ``"-field"`` (default ``"-<pk>"``);
    - ``form_fields``: the fields of the create and edit forms (default: every column but the
      primary key whose type a form edits: text, numbers, dates, booleans);
    - ``slug``: the URL segment (default: the table name).
    """

    model: type[Model]
    list_display: tuple[str, ...] = ()
    search_fields: tuple[str, ...] = ()
    list_filter: tuple[str, ...] = ()
    ordering: str = ""
    form_fields: tuple[str, ...] = ()
    slug: str = ""
    label: str = ""

    @classmethod
    def build(cls, model: type[Model], *, list_display: Sequence[str] = (),
              search_fields: Sequence[str] = (), list_filter: Sequence[str] = (),
              ordering: str | None = None, form_fields: Sequence[str] = (),
              slug: str | None = None, label: str | None = None) -> ModelAdmin:
        """Check the options against ``model`` and fill in the defaults."""
        if not (isinstance(model, type) and issubclass(model, Model)):
            raise AdminDefinitionError(f"rum_admin.register() takes a rum_orm.Model subclass, "
                                       f"got {model!r}")
        pk = model.__primary_key__
        columns = list(model.__fields__)
        where = f"rum_admin.register({model.__name__})"

        def check(names: Sequence[str], what: str, *, attributes: bool = False) -> tuple[str, ...]:
            if isinstance(names, str):
                raise AdminDefinitionError(f"{where}: {what} must be a list of field names, "
                                           f"got the string {names!r}")
            known = columns + (list(model.__attributes__) if attributes else [])
            for name in names:
                if name not in known:
                    raise AdminDefinitionError(f"{where}: {what} names {name!r}, which is not a "
                                               f"field of {model.__name__} (fields: "
                                               f"{', '.join(known)})")
            return tuple(names)

        display = check(list_display, "list_display") or tuple(columns[:8])
        search = check(search_fields, "search_fields")
        filters = check(list_filter, "list_filter")
        for name in filters:
            if not is_orderable(model, name):
                raise AdminDefinitionError(f"{where}: list_filter field {name!r} has type "
                                           f"{model.__fields__[name].base_type!r}; filters take "
                                           f"text, numbers, dates and booleans")
        order = ordering if ordering is not None else f"-{pk}"
        order_field = order.removeprefix("-")
        if order_field not in columns or not is_orderable(model, order_field):
            raise AdminDefinitionError(f"{where}: ordering {order!r} must be \"field\" or "
                                       f"\"-field\" with a sortable field of {model.__name__} "
                                       f"(fields: {', '.join(columns)})")
        form = check(form_fields, "form_fields", attributes=True)
        for name in form:
            if name in model.__fields__ and not is_editable(model, name):
                raise AdminDefinitionError(f"{where}: form_fields names {name!r}, whose type "
                                           f"{model.__fields__[name].base_type!r} a form cannot "
                                           f"edit (text, numbers, dates, booleans); leave it out")
        form = form or tuple(c for c in columns if c != pk and is_editable(model, c))
        slug = slug or model.__table__
        if not slug.replace("_", "").replace("-", "").isalnum() or slug in RESERVED_SLUGS:
            raise AdminDefinitionError(f"{where}: slug {slug!r} must be letters, digits, '-' "
                                       f"or '_', and not one of {sorted(RESERVED_SLUGS)}")
        label = label or snake_case(model.__name__).replace("_", " ").capitalize()
        return cls(model, display, search, filters, order, form, slug, label)

    @property
    def primary_key(self) -> str:
        """The model's primary key field."""
        return self.model.__primary_key__

    def sortable(self, name: str) -> bool:
        """Whether the list may be ordered by field ``name``."""
        return name in self.model.__fields__ and is_orderable(self.model, name)


def is_editable(model: type[Model], name: str) -> bool:
    """Whether field ``name`` has a type the create and edit forms handle."""
    base = model.__fields__[name].base_type
    return isinstance(base, type) and issubclass(base, FORM_TYPES)


def is_orderable(model: type[Model], name: str) -> bool:
    """Whether field ``name`` has a type the admin sorts, filters and pages on."""
    base = model.__fields__[name].base_type
    return isinstance(base, type) and issubclass(base, ORDERABLE_TYPES)


class Registry:
    """Models registered with :func:`register` in this process (options only, no data)."""

    def __init__(self) -> None:
        self.entries: dict[type[Model], ModelAdmin] = {}

    def add(self, entry: ModelAdmin) -> None:
        """Record ``entry`` (a later registration of the same model replaces it)."""
        self.entries[entry.model] = entry


#: What ``rum_admin.register`` fills; apps built afterwards read it (see models_for_app).
REGISTERED = Registry()


def register(model: type[Model], /, **options: Any) -> type[Model]:
    """Show ``model`` in the admin of apps built from now on (unless their ``[admin] models``
    names the models explicitly); ``options`` are :class:`ModelAdmin`'s. Returns the model,
    so it also works as a class decorator (``@register`` without options)."""
    REGISTERED.add(ModelAdmin.build(model, **options))
    return model


def import_model(ref: str, where: str) -> type[Model]:
    """The model class named ``"package.module:Class"``."""
    module_name, _, class_name = ref.partition(":")
    if not module_name or not class_name:
        raise ConfigError(f"{where}: {ref!r} must be \"module:Class\" (e.g. "
                          f"\"shop.models:Order\") or \"all\"")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{where}: cannot import {module_name!r} for {ref!r}: {exc}") from None
    model = getattr(module, class_name, None)
    if not (isinstance(model, type) and issubclass(model, Model)):
        raise ConfigError(f"{where}: {ref!r} is not a rum_orm.Model subclass")
    return model


def all_models(root: Path) -> list[type[Model]]:
    """Every imported ``Model`` subclass defined in a module under ``root`` (the app's)."""
    found: list[type[Model]] = []
    stack: list[type[Model]] = list(Model.__subclasses__())
    while stack:
        model = stack.pop()
        stack.extend(model.__subclasses__())
        path = getattr(sys.modules.get(model.__module__), "__file__", None)
        if not path or "<locals>" in model.__qualname__:
            continue
        if Path(path).resolve().is_relative_to(root.resolve()):
            found.append(model)
    return sorted(found, key=lambda m: m.__table__)


def models_for_app(refs: Sequence[str], root: Path, where: str,
                   extra: Sequence[ModelAdmin] = ()) -> list[ModelAdmin]:
    """The admin's models for an app: ``[admin] models`` (``"module:Class"`` entries, or
    ``"all"`` for every model defined under the app's root) or, when it is empty, those
    given to :func:`register`; then ``extra``. A model's registered options apply."""
    models: list[type[Model]] = []
    for ref in refs:
        if ref == "all":
            models += all_models(root)
        else:
            models.append(import_model(str(ref), where))
    if not refs:
        models = list(REGISTERED.entries)
    entries: dict[str, ModelAdmin] = {}
    for model in models:
        entry = REGISTERED.entries.get(model) or ModelAdmin.build(model)
        entries.setdefault(entry.slug, entry)
    for entry in extra:
        entries[entry.slug] = entry
    return list(entries.values())
