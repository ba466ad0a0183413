"""The admin's record pages: index, list, detail, create, edit and delete.

Routes under ``[admin] prefix`` (``/admin``):

==============================  ==========  ============================================
``/admin``                      GET         the models and the dashboards
``/admin/<slug>``               GET         list: columns, search, filters, ordering, pages
``/admin/<slug>/new``           GET, POST   create form (422 with the errors, 303 when saved)
``/admin/<slug>/<id>``          GET         detail
``/admin/<slug>/<id>/edit``     GET, POST   edit form (422 with the errors, 303 when saved)
``/admin/<slug>/<id>/delete``   GET, POST   confirmation page; the post deletes (303)
==============================  ==========  ============================================

Forms are the forms plugin's ``ModelForm`` of the model (its validations apply), written with
``form_with`` (which adds the CSRF field the sessions plugin checks on every post). Records are
written only through ``form.save()`` (``Model.save``) and ``record.delete()``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from rum import NotFound
from rum_admin.controller import AdminController, render_admin
from rum_admin.listing import (
    FILTER_PREFIX,
    fetch_page,
    filter_choices,
    parse_list_query,
)
from rum_admin.state import admin_state
from rum_admin.values import BadValue, to_text, to_value
from rum_forms import ModelForm, see_other
from rum_orm import ValidationError
from rum_sessions import flash

if TYPE_CHECKING:
    from rum import App, Request, Response, Route
    from rum_admin.listing import ListQuery
    from rum_admin.registry import ModelAdmin
    from rum_admin.state import AdminState


def entry_for(request: Request) -> tuple[AdminState, ModelAdmin]:
    """The app's admin state and the :class:`ModelAdmin` named by the URL's slug (404)."""
    app = request.app
    assert app is not None
    state = admin_state(app)
    entry = state.models.get(request.path_params["model"])
    if entry is None:
        raise NotFound(f"the admin shows no model {request.path_params['model'][:40]!r} "
                       f"(models: {', '.join(state.models) or 'none'})")
    return state, entry


async def record_for(request: Request, entry: ModelAdmin) -> Any:
    """The record whose primary key is the URL's ``id`` (404 when there is none)."""
    text = request.path_params["id"]
    model = entry.model
    try:
        key = to_value(model, entry.primary_key, text, "id")
    except BadValue:
        raise NotFound(f"{model.__name__} {text[:40]!r} does not exist") from None
    record = await model.find(key).fetch_optional()
    if record is None:
        raise NotFound(f"{model.__name__} {text[:40]!r} does not exist")
    return record


def form_class(state: AdminState, entry: ModelAdmin) -> type[ModelForm]:
    """The ``ModelForm`` of ``entry``'s model with its ``form_fields`` (made once per app)."""
    made = state.forms.get(entry.slug)
    if made is None:
        made = type(f"{entry.model.__name__}AdminForm", (ModelForm,),
                    {"model": entry.model, "fields": list(entry.form_fields),
                     "__module__": __name__})
        state.forms[entry.slug] = made
    return made


def shown(value: Any) -> str:
    """A value as the pages print it."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, date | datetime | Decimal):
        return to_text(value) or ""
    return str(value)


def key_of(entry: ModelAdmin, record: Any) -> str:
    """The record's primary key as a URL segment."""
    return to_text(getattr(record, entry.primary_key)) or ""


def describe(entry: ModelAdmin, record: Any) -> str:
    """A record's title: ``Product 7``."""
    return f"{entry.label} {key_of(entry, record)}"


class AdminIndex(AdminController):
    """``<prefix>``: the models and the dashboards."""

    async def get(self, request: Request) -> Response:
        return await render_admin(request, "admin/index.html", title="Admin")


class RecordList(AdminController):
    """``<prefix>/<slug>``: the list page."""

    async def get(self, request: Request) -> Response:
        state, entry = entry_for(request)
        query = parse_list_query(entry, request.query, state)
        page = await fetch_page(entry, query, state)
        choices = await filter_choices(entry, state)
        base = state.list_url(entry)

        def url(**changes: Any) -> str:
            return f"{base}?{urlencode(query.params(**changes))}"

        columns = []
        for name in entry.list_display:
            link = None
            if entry.sortable(name):
                flipped = f"-{name}" if query.order == name else name
                link = url(order=flipped, after=None, before=None)
            sorted_as = ("ascending" if query.order == name else
                         "descending" if query.order == f"-{name}" else None)
            columns.append({"name": name, "label": name.replace("_", " ").capitalize(),
                            "link": link, "sorted": sorted_as})
        rows = []
        for record in page.records:
            cells = [shown(getattr(record, name)) for name in entry.list_display]
            rows.append({"url": state.url(entry.slug, key_of(entry, record)),
                         "record_key": key_of(entry, record), "first_cell": cells[0],
                         "other_cells": cells[1:]})
        filters = []
        for name, pairs in choices.items():
            active = name in query.filters
            current = query.filters.get(name)
            options = [{"label": "All", "url": url(**{FILTER_PREFIX + name: None}),
                        "current": not active}]
            options += [{"label": label,
                         "url": url(**{FILTER_PREFIX + name: to_text(value) or ""}),
                         "current": active and current == value
                         and type(current) is type(value)}
                        for value, label in pairs]
            filters.append({"label": name.replace("_", " ").capitalize(), "options": options})
        return await render_admin(
            request, "admin/list.html", title=f"{entry.label} records", entry=entry,
            query=query, columns=columns, rows=rows, filters=filters,
            hidden=_hidden_fields(query),
            next_url=url(after=page.next_cursor) if page.next_cursor else None,
            prev_url=url(before=page.prev_cursor) if page.prev_cursor else None,
            new_url=state.url(entry.slug, "new"), list_url=base)


def _hidden_fields(query: ListQuery) -> list[tuple[str, str]]:
    """The search form's hidden fields: the current filters, order and page size."""
    return [(k, v) for k, v in query.params().items() if k != "q"]


class RecordDetail(AdminController):
    """``<prefix>/<slug>/<id>``: every field of one record."""

    async def get(self, request: Request) -> Response:
        state, entry = entry_for(request)
        record = await record_for(request, entry)
        key = key_of(entry, record)
        fields = [(name.replace("_", " ").capitalize(), shown(getattr(record, name)))
                  for name in entry.model.__fields__]
        return await render_admin(
            request, "admin/detail.html", title=describe(entry, record), entry=entry,
            fields=fields, list_url=state.list_url(entry),
            edit_url=state.url(entry.slug, key, "edit"),
            delete_url=state.url(entry.slug, key, "delete"))


class RecordNew(AdminController):
    """``<prefix>/<slug>/new``: the create form; the post saves through the model."""

    async def get(self, request: Request) -> Response:
        state, entry = entry_for(request)
        form = form_class(state, entry)(initial=entry.model())   # the model's defaults
        return await self._page(request, state, entry, form)

    async def post(self, request: Request) -> Response:
        state, entry = entry_for(request)
        form = await form_class(state, entry).from_request(request)
        if not await form.validate():
            return await self._page(request, state, entry, form)
        try:
            record = await form.save()
        except ValidationError as exc:    # a concurrent writer took a unique value
            _copy_errors(form, exc)
            return await self._page(request, state, entry, form)
        except Exception as exc:
            message = refused_by_database(exc)
            if message is None:
                raise
            form.add_error(None, message)
            return await self._page(request, state, entry, form)
        flash(request, f"{describe(entry, record)} was created")
        return see_other(state.url(entry.slug, key_of(entry, record)))

    async def _page(self, request: Request, state: AdminState, entry: ModelAdmin,
                    form: ModelForm) -> Response:
        return await render_admin(
            request, "admin/form.html", status=422 if form.errors else 200,
            title=f"New {entry.label.lower()}", entry=entry, form=form,
            action=state.url(entry.slug, "new"), cancel_url=state.list_url(entry),
            submit="Create")


class RecordEdit(AdminController):
    """``<prefix>/<slug>/<id>/edit``: the edit form; the post saves through the model."""

    async def get(self, request: Request) -> Response:
        state, entry = entry_for(request)
        record = await record_for(request, entry)
        form = form_class(state, entry)(instance=record)
        return await self._page(request, state, entry, form, record)

    async def post(self, request: Request) -> Response:
        state, entry = entry_for(request)
        record = await record_for(request, entry)
        form = await form_class(state, entry).from_request(request, instance=record)
        if not await form.validate():
            return await self._page(request, state, entry, form, record)
        try:
            await form.save()
        except ValidationError as exc:
            _copy_errors(form, exc)
            return await self._page(request, state, entry, form, record)
        except Exception as exc:
            message = refused_by_database(exc)
            if message is None:
                raise
            form.add_error(None, message)
            return await self._page(request, state, entry, form, record)
        flash(request, f"{describe(entry, record)} was saved")
        return see_other(state.url(entry.slug, key_of(entry, record)))

    async def _page(self, request: Request, state: AdminState, entry: ModelAdmin,
                    form: ModelForm, record: Any) -> Response:
        key = key_of(entry, record)
        return await render_admin(
            request, "admin/form.html", status=422 if form.errors else 200,
            title=f"Edit {describe(entry, record)}", entry=entry, form=form,
            action=state.url(entry.slug, key, "edit"),
            cancel_url=state.url(entry.slug, key), submit="Save")


class RecordDelete(AdminController):
    """``<prefix>/<slug>/<id>/delete``: the confirmation page; the post deletes."""

    async def get(self, request: Request) -> Response:
        state, entry = entry_for(request)
        record = await record_for(request, entry)
        return await self._page(request, state, entry, record)

    async def post(self, request: Request) -> Response:
        state, entry = entry_for(request)
        record = await record_for(request, entry)
        try:
            await record.delete()
        except Exception as exc:
            message = refused_by_database(exc)
            if message is None:
                raise
            return await self._page(request, state, entry, record, error=message, status=409)
        flash(request, f"{describe(entry, record)} was deleted")
        return see_other(state.list_url(entry))

    async def _page(self, request: Request, state: AdminState, entry: ModelAdmin, record: Any,
                    *, error: str | None = None, status: int = 200) -> Response:
        key = key_of(entry, record)
        return await render_admin(
            request, "admin/delete.html", status=status,
            title=f"Delete {describe(entry, record)}", entry=entry,
            record_title=describe(entry, record), error=error,
            action=state.url(entry.slug, key, "delete"),
            cancel_url=state.url(entry.slug, key))


#: SQLSTATE class 23: a constraint of the database refused the write.
INTEGRITY_CLASS = "23"


def refused_by_database(exc: BaseException) -> str | None:
    """The message of a constraint violation PostgreSQL raised (``None`` for other errors):
    the model's validations let the write through, but a foreign key, ``CHECK`` or
    ``NOT NULL`` constraint did not."""
    state = getattr(exc, "sqlstate", None)
    if not (isinstance(state, str) and state.startswith(INTEGRITY_CLASS)):
        return None
    constraint = getattr(exc, "constraint_name", None)
    named = f" ({constraint})" if constraint else ""
    if state == "23503":
        return f"other records refer to this one{named}; change or delete them first"
    return f"the database refused the values{named}: {getattr(exc, 'message', exc)}"


def _copy_errors(form: ModelForm, exc: ValidationError) -> None:
    for name, messages in exc.errors.to_dict().items():
        for message in messages:
            form.add_error(name if name in form.form_fields else None, str(message))


def record_routes(app: App) -> list[Route]:
    """The index and the record pages under ``[admin] prefix``."""
    state = admin_state(app)
    model = state.url("<slug:model>")
    record = state.url("<slug:model>", "<id>")
    return [AdminIndex.route(state.prefix, name="admin_index"),
            RecordList.route(model, name="admin_list"),
            RecordNew.route(f"{model}/new", name="admin_new"),
            RecordDetail.route(record, name="admin_detail"),
            RecordEdit.route(f"{record}/edit", name="admin_edit"),
            RecordDelete.route(f"{record}/delete", name="admin_delete")]
