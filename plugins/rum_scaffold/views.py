"""The source text ``rum generate`` writes: controllers, ERB views, tests and jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rum_scaffold.fields import FieldSpec

if TYPE_CHECKING:
    from rum_scaffold.names import Names

_CONVERT = {
    "str": "str", "text": "str", "int": "int", "float": "float", "decimal": "decimal.Decimal",
    "date": "dt.date.fromisoformat", "datetime": "_datetime", "uuid": "uuid.UUID",
    "json": "_json_object",
}
_MESSAGES = {
    "int": "must be a whole number", "float": "must be a number",
    "decimal": "must be a number", "date": "must be a date (YYYY-MM-DD)",
    "datetime": "must be a date and time", "uuid": "must be a UUID",
    "json": "must be a JSON object",
}


def controller_classes(names: Names) -> list[tuple[str, str, str]]:
    """``(class, path, route name)`` of a scaffold's controllers."""
    p, s, c = names.plural, names.singular, names.cls
    plural_cls = "".join(part.capitalize() for part in p.split("_"))
    return [
        (f"{plural_cls}Controller", f"/{p}", p),
        (f"New{c}Controller", f"/{p}/new", f"new_{s}"),
        (f"{c}Controller", f"/{p}/<int:id>", s),
        (f"Edit{c}Controller", f"/{p}/<int:id>/edit", f"edit_{s}"),
        (f"Delete{c}Controller", f"/{p}/<int:id>/delete", f"delete_{s}"),
    ]


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def controller_source(names: Names, fields: list[FieldSpec], *, api: bool = False) -> str:
    """The scaffold's controllers: index/create, new, show/update, edit, destroy."""
    s, p, c = names.singular, names.plural, names.cls
    (index_cls, _, _), (new_cls, _, _), (show_cls, _, _), (edit_cls, _, _), \
        (delete_cls, _, _) = controller_classes(names)
    kinds = {f.kind for f in fields}
    imports = ["from __future__ import annotations", ""]
    std = sorted({"import datetime as dt" for k in kinds if k in ("date", "datetime")}
                 | {"import decimal" for k in kinds if k == "decimal"}
                 | {"import json" for k in kinds if k == "json"}
                 | {"import uuid" for k in kinds if k == "uuid"})
    imports += [*std, "from collections.abc import Callable, Mapping",
                "from typing import Any", "",
                "from rum import Controller, NotFound, Request, Response"]
    if api:
        imports.append("from rum_rest import ModelController")
    imports += ["", f"from models import {c}"]
    booleans = [f.name for f in fields if f.kind == "bool"]
    others = [f for f in fields if f.kind != "bool"]
    field_lines = "".join(f'    "{f.name}": ({_CONVERT[f.kind]}, {f.optional}, '
                          f'"{_MESSAGES.get(f.kind, "is not valid")}"),\n' for f in others)
    helpers = ""
    if "datetime" in kinds:
        helpers += ('\n\ndef _datetime(raw: str) -> dt.datetime:\n'
                    '    """A form\'s date and time; without a zone, UTC."""\n'
                    '    value = dt.datetime.fromisoformat(raw)\n'
                    '    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)\n')
    if "json" in kinds:
        helpers += ('\n\ndef _json_object(raw: str) -> dict[str, Any]:\n'
                    '    value = json.loads(raw)\n'
                    '    if not isinstance(value, dict):\n'
                    '        raise ValueError("not an object")\n'
                    '    return value\n')
    blank = "{" + ", ".join(f'"{f.name}": ""' for f in fields) + "}"
    api_class = (f"\n\n#: JSON API: GET/POST /api/{p}, GET/PUT/PATCH/DELETE /api/{p}/<id> "
                 f"(rum_rest)\n{c}Api = ModelController({c})\n") if api else ""
    return f'''"""{_title(p)}: index, show, new, create, edit, update and destroy (written by
`rum generate scaffold {c}`)."""

{chr(10).join(imports)}
{helpers}

#: form fields: name → (convert the submitted text, may be empty (None), message when invalid)
FIELDS: dict[str, tuple[Callable[[str], Any], bool, str]] = {{
{field_lines}}}
#: check boxes: checked → True
BOOLEANS: tuple[str, ...] = ({"".join(f'"{b}", ' for b in booleans)})


def {s}_values(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The {s}'s fields from a submitted form, converted, and the errors by field."""
    values: dict[str, Any] = {{name: form.get(name) in ("true", "on", "1") for name in BOOLEANS}}
    errors: dict[str, str] = {{}}
    for name, (convert, optional, message) in FIELDS.items():
        raw = (form.get(name) or "").strip()
        if not raw:
            if optional:
                values[name] = None
            else:
                errors[name] = "can't be blank"
            continue
        try:
            values[name] = convert(raw)
        except (ValueError, ArithmeticError):
            errors[name] = message
    return values, errors


async def find_{s}(request: Request) -> {c}:
    """The {s} the path names, or a 404."""
    {s} = await {c}.find(request.path_params["id"]).fetch_optional()
    if {s} is None:
        raise NotFound(f"no {s} with id {{request.path_params['id']}}")
    return {s}


async def invalid(controller: Controller, template: str, title: str, form: Mapping[str, str],
                  errors: dict[str, str], **context: Any) -> Response:
    """The form again, with what was typed and the errors (422)."""
    response = await controller.render(template, title=title, errors=errors,
                                       {s}={{**{blank}, **dict(form)}}, **context)
    response.status = 422
    return response


class {index_cls}(Controller):
    """``GET /{p}``: index; ``POST /{p}``: create."""

    async def get(self, request: Request) -> Response:
        {p} = await {c}.all().order("id").fetch_all()
        return await self.render("{p}/index.html", title="{_title(p)}", {p}={p})

    async def post(self, request: Request) -> Response:
        form = await request.form()
        values, errors = {s}_values(form)
        if errors:
            return await invalid(self, "{p}/new.html", "New {s.replace("_", " ")}", form, errors)
        {s} = await {c}.create(values)
        return Response.redirect(request.app.url_for("{s}", id={s}.id), 303)


class {new_cls}(Controller):
    """``GET /{p}/new``: the form for a new {s}."""

    async def get(self, request: Request) -> Response:
        return await self.render("{p}/new.html", title="New {s.replace("_", " ")}",
                                 {s}={blank}, errors={{}})


class {show_cls}(Controller):
    """``GET /{p}/<id>``: show; ``POST /{p}/<id>``: update (from the edit form)."""

    async def get(self, request: Request) -> Response:
        {s} = await find_{s}(request)
        return await self.render("{p}/show.html", title="{_title(s)}", {s}={s})

    async def post(self, request: Request) -> Response:
        {s} = await find_{s}(request)
        form = await request.form()
        values, errors = {s}_values(form)
        if errors:
            return await invalid(self, "{p}/edit.html", "Edit {s.replace("_", " ")}", form,
                                 errors, id={s}.id)
        await {s}.update(values)
        return Response.redirect(request.app.url_for("{s}", id={s}.id), 303)


class {edit_cls}(Controller):
    """``GET /{p}/<id>/edit``: the form to change a {s}."""

    async def get(self, request: Request) -> Response:
        {s} = await find_{s}(request)
        return await self.render("{p}/edit.html", title="Edit {s.replace("_", " ")}", {s}={s},
                                 id={s}.id, errors={{}})


class {delete_cls}(Controller):
    """``POST /{p}/<id>/delete``: destroy."""

    async def post(self, request: Request) -> Response:
        {s} = await find_{s}(request)
        await {s}.delete()
        return Response.redirect(request.app.url_for("{p}"), 303)
{api_class}'''


def _input(s: str, f: FieldSpec) -> str:
    label = _title(f.name)
    value = f"<%= {s}.{f.name} %>"
    if f.info.input == "checkbox":
        return (f'  <p>\n    <label><input type="checkbox" name="{f.name}" value="true"'
                f'<% if {s}.{f.name} %> checked<% end %>> {label}</label>\n  </p>\n')
    if f.info.input == "textarea":
        control = f'<textarea id="{f.name}" name="{f.name}" rows="6">{value}</textarea>'
    else:
        step = ' step="any"' if f.kind in ("float", "decimal") else ""
        control = (f'<input type="{f.info.input}" id="{f.name}" name="{f.name}"{step} '
                   f'value="{value}">')
    return (f'  <p>\n    <label for="{f.name}">{label}</label>\n    {control}\n'
            f'    <% if errors.{f.name} %><span class="error"><%= errors.{f.name} %></span>'
            f'<% end %>\n  </p>\n')


def templates(names: Names, fields: list[FieldSpec], *, layout: bool) -> list[tuple[str, str]]:
    """``(file name, text)`` of the scaffold's ERB views."""
    s, p = names.singular, names.plural

    def page(body: str) -> str:
        if not layout:
            return body
        return f'<% extends "layout.html" %>\n<% block content %>\n{body}<% end %>\n'

    heads = "".join(f"<th>{_title(f.name)}</th>" for f in fields)
    cells = "".join(f"<td><%= {s}.{f.name} %></td>" for f in fields)
    index = (f"<h1>{_title(p)}</h1>\n"
             f'<p><a href="<%= url_for("new_{s}") %>">New {s.replace("_", " ")}</a></p>\n'
             f"<table>\n  <thead><tr>{heads}<th></th></tr></thead>\n  <tbody>\n"
             f"  <% for {s} in {p} %>\n"
             f"    <tr>{cells}\n"
             f'      <td><a href="<%= url_for("{s}", id: {s}.id) %>">Show</a>\n'
             f'          <a href="<%= url_for("edit_{s}", id: {s}.id) %>">Edit</a></td></tr>\n'
             f"  <% else %>\n    <tr><td colspan=\"{len(fields) + 1}\">No {p.replace('_', ' ')} "
             f"yet.</td></tr>\n  <% end %>\n  </tbody>\n</table>\n")
    shown = "".join(f"  <dt>{_title(f.name)}</dt>\n  <dd><%= {s}.{f.name} %></dd>\n"
                    for f in fields)
    show = (f"<h1>{_title(s)} <%= {s}.id %></h1>\n<dl>\n{shown}</dl>\n"
            f'<p><a href="<%= url_for("edit_{s}", id: {s}.id) %>">Edit</a>\n'
            f'   <a href="<%= url_for("{p}") %>">Back</a></p>\n'
            f'<form method="post" action="<%= url_for("delete_{s}", id: {s}.id) %>">\n'
            f"  <%= csrf_input %>\n  <button type=\"submit\">Delete</button>\n</form>\n")
    form = ('<form method="post" action="<%= action %>">\n  <%= csrf_input %>\n'
            + "".join(_input(s, f) for f in fields)
            + '  <p><button type="submit"><%= button %></button></p>\n</form>\n')
    new = (f"<h1>New {s.replace('_', ' ')}</h1>\n"
           f'<%= render "{p}/_form.html", action: url_for("{p}"), button: "Create" %>\n'
           f'<p><a href="<%= url_for("{p}") %>">Back</a></p>\n')
    edit = (f"<h1>Edit {s.replace('_', ' ')}</h1>\n"
            f'<%= render "{p}/_form.html", action: url_for("{s}", id: id), button: "Save" %>\n'
            f'<p><a href="<%= url_for("{s}", id: id) %>">Show</a>\n'
            f'   <a href="<%= url_for("{p}") %>">Back</a></p>\n')
    return [("index.html", page(index)), ("show.html", page(show)), ("new.html", page(new)),
            ("edit.html", page(edit)), ("_form.html", form)]


def test_source(names: Names, fields: list[FieldSpec], *, api: bool = False) -> str:
    """Tests of the scaffold, against a fresh database (``database_url`` comes from the
    ``rum_orm.testing`` pytest plugin) with the app's migrations applied."""
    s, p, c = names.singular, names.plural, names.cls
    sample = "{" + ", ".join(f'"{f.name}": {f.sample()!r}' for f in fields) + "}"
    check = next((f for f in fields if f.kind in ("str", "text")), None)
    shown = f"assert {check.sample()!r} in page.text_body()" if check else "assert page.text_body()"
    required = next((f for f in fields if not f.optional and f.kind != "bool"), None)
    invalid = (f'''

async def test_invalid_form_is_shown_again_with_errors(client) -> None:
    token = await csrf_token(client, "/{p}/new")
    response = await client.post("/{p}", form={{**SAMPLE, "{required.name}": "",
                                               "csrf_token": token}})
    assert response.status == 422
    assert "can&#39;t be blank" in response.text_body() or "can't be blank" in \\
        response.text_body()
    assert await {c}.all().count() == 0
''' if required else "")
    if api:
        invalid += f'''

async def test_json_api_lists_what_the_form_created(client) -> None:
    location = await create(client)
    response = await client.get("/api/{p}")
    assert response.status == 200
    body = response.json_body()
    assert body["total"] == 1
    assert body["items"][0]["id"] == int(location.rsplit("/", 1)[1])
'''
    return f'''"""Tests of the {p} pages (written by `rum generate scaffold {c}`).

They run against a fresh PostgreSQL database per test with the app's migrations applied
(the ``database_url`` fixture of the ``rum_orm.testing`` pytest plugin: set DATABASE_URL or
run a server at 127.0.0.1:5432).
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models import {c}  # noqa: E402

SAMPLE = {sample}


@pytest.fixture
async def client(database_url: str, monkeypatch: pytest.MonkeyPatch):
    """The app on a fresh database, its migrations applied."""
    from rum_orm import Migrator

    monkeypatch.setenv("DATABASE_URL", database_url)
    app = importlib.reload(importlib.import_module("app")).app  # a fresh app on that database
    async with app.test_client() as client:
        await Migrator.for_app(app).run()
        yield client


async def csrf_token(client, path: str) -> str:
    """GET a form (which starts the session) and return its CSRF token."""
    page = await client.get(path)
    assert page.status == 200, page.text_body()
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text_body())
    assert match, "no CSRF token in the form"
    return match[1]


async def create(client) -> str:
    """Create a {s} through the form; return its page's path."""
    token = await csrf_token(client, "/{p}/new")
    response = await client.post("/{p}", form={{**SAMPLE, "csrf_token": token}})
    assert response.status == 303, response.text_body()
    return response.headers["location"]


async def test_create_show_and_index(client) -> None:
    location = await create(client)
    assert re.fullmatch(r"/{p}/[0-9]+", location)
    page = await client.get(location)
    assert page.status == 200
    {shown}
    index = await client.get("/{p}")
    assert index.status == 200 and location in index.text_body()
    assert await {c}.all().count() == 1


async def test_edit_update_and_destroy(client) -> None:
    location = await create(client)
    token = await csrf_token(client, location + "/edit")
    response = await client.post(location, form={{**SAMPLE, "csrf_token": token}})
    assert response.status == 303 and response.headers["location"] == location
    token = await csrf_token(client, location)
    response = await client.post(location + "/delete", form={{"csrf_token": token}})
    assert response.status == 303 and response.headers["location"] == "/{p}"
    assert (await client.get(location)).status == 404
    assert await {c}.all().count() == 0


async def test_posting_without_the_csrf_token_is_refused(client) -> None:
    await csrf_token(client, "/{p}/new")
    response = await client.post("/{p}", form=SAMPLE)
    assert response.status == 403
{invalid}'''


def simple_controller_source(names: Names, actions: list[str]) -> tuple[str, list[tuple[str,
                                                                                        str,
                                                                                        str]]]:
    """``rum generate controller``: one ``GET`` controller per action."""
    p = names.plural
    base = "".join(part.capitalize() for part in p.split("_"))
    classes = []
    body = []
    for action in actions:
        cls = base + "".join(part.capitalize() for part in action.split("_")) + "Controller"
        path = f"/{p}" if action == "index" else f"/{p}/{action}"
        classes.append((cls, path, f"{p}_{action}"))
        body.append(f'''

class {cls}(Controller):
    """``GET {path}``."""

    async def get(self, request: Request) -> Response:
        return await self.render("{p}/{action}.html", title="{_title(p)}: {action}")
''')
    source = (f'"""{_title(p)} pages (written by `rum generate controller`)."""\n\n'
              "from __future__ import annotations\n\n"
              "from rum import Controller, Request, Response\n" + "".join(body))
    return source, classes


def simple_template(names: Names, action: str, *, layout: bool) -> str:
    """The template of one action of ``rum generate controller``."""
    body = (f"<h1>{_title(names.plural)}: {action}</h1>\n"
            f"<p>Edit templates/{names.plural}/{action}.html.</p>\n")
    if not layout:
        return body
    return f'<% extends "layout.html" %>\n<% block content %>\n{body}<% end %>\n'


def job_source(names: Names) -> str:
    """``rum generate job``: a job class."""
    return f'''class {names.cls}(Job):
    """Enqueue with ``await {names.cls}.enqueue({{...}})``; `rum worker` runs it."""

    queue = "default"
    max_attempts = 3

    async def execute(self, args: dict[str, Any]) -> None:
        ...  # the work; ``args`` is what was enqueued
'''
