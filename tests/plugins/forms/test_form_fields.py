"""Form fields one by one (conversion, rules, the HTML they ask for), file fields through a real
multipart upload, and GET search forms read from the query string."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import httpx
import pytest

from rum import Controller, Request, Response
from rum_forms import (
    BooleanField,
    ChoiceField,
    DateField,
    DateTimeField,
    DecimalField,
    FileField,
    FloatField,
    Form,
    IntegerField,
    StringField,
    UploadedFile,
    form_with,
)
from rum_http.testing import serve_app


async def clean(field: Any, raw: Any) -> tuple[Any, list[str]]:
    field.__set_name__(object, "x")
    result: tuple[Any, list[str]] = await field.clean(raw)
    return result


@pytest.mark.parametrize("field, raw, expected", [
    (StringField(), "  a b  ", ("a b", [])),
    (StringField(strip=False), " a ", (" a ", [])),
    (StringField(), "", ("", [])),
    (StringField(default=None), "   ", (None, [])),
    (StringField(required=True), "  ", (None, ["can't be blank"])),
    (StringField(required=True, required_message="Tell us"), None, (None, ["Tell us"])),
    (StringField(min_length=3), "ab", ("ab", ["is too short (at least 3 characters)"])),
    (StringField(pattern=r"[A-Z]{3}", pattern_message="must be 3 capitals"), "abc",
     ("abc", ["must be 3 capitals"])),
    (StringField(), 12, ("12", [])),
    (StringField(), True, (None, ["must be text"])),
    (StringField(validators=[lambda v: None if v != "x" else "is x"]), "x", ("x", ["is x"])),
    (IntegerField(), " -42 ", (-42, [])),
    (IntegerField(), 7, (7, [])),
    (IntegerField(), 7.0, (None, ["must be a whole number"])),
    (IntegerField(), False, (None, ["must be a whole number"])),
    (IntegerField(), "1_000", (None, ["must be a whole number"])),
    (IntegerField(), "٣", (None, ["must be a whole number"])),  # Arabic-Indic digit
    (IntegerField(min=1), "0", (0, ["must be at least 1"])),
    (IntegerField(), "", (None, [])),
    (DecimalField(), "-1.50", (Decimal("-1.50"), [])),
    (DecimalField(), ".5", (Decimal("0.5"), [])),
    (DecimalField(), 2.5, (Decimal("2.5"), [])),
    (DecimalField(), "Infinity", (None, ["must be a number"])),
    (DecimalField(), "1e3", (None, ["must be a number"])),
    (DecimalField(max=10), "10.01", (Decimal("10.01"), ["must be at most 10"])),
    (FloatField(), "2.25", (2.25, [])),
    (BooleanField(), None, (False, [])),
    (BooleanField(), "on", (True, [])),
    (BooleanField(), "0", (False, [])),
    (BooleanField(), "maybe", (None, ["must be checked or unchecked"])),
    (BooleanField(required=True), "0", (False, ["must be accepted"])),
    (ChoiceField([1, 2, 3]), "2", (2, [])),
    (ChoiceField([1, 2, 3]), "4", (None, ["is not one of the choices"])),
    (ChoiceField([True, False]), "false", (False, [])),
    (ChoiceField(["a"]), ["a"], (None, ["is not one of the choices"])),
    (DateField(), "2026-12-01", (dt.date(2026, 12, 1), [])),
    (DateField(), "2026-02-30", (None, ["must be a date (YYYY-MM-DD)"])),
    (DateField(), "20261201", (None, ["must be a date (YYYY-MM-DD)"])),
    (DateField(min=dt.date(2027, 1, 1)), "2026-12-01",
     (dt.date(2026, 12, 1), ["must be on or after 2027-01-01"])),
    (DateTimeField(), "2026-12-01T10:30", (dt.datetime(2026, 12, 1, 10, 30, tzinfo=dt.UTC), [])),
    (DateTimeField(), "2026-12-01T10:30+01:00",
     (dt.datetime(2026, 12, 1, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))), [])),
    (DateTimeField(), "yesterday at noon", (None, ["must be a date and time (YYYY-MM-DDTHH:MM)"])),
])
async def test_field_conversions(field: Any, raw: Any, expected: tuple[Any, list[str]]) -> None:
    assert await clean(field, raw) == expected


async def test_async_validators_and_html_attributes() -> None:
    async def not_reserved(value: str) -> str | None:
        return "is reserved" if value == "admin" else None

    assert await clean(StringField(validators=[not_reserved]), "admin") == ("admin",
                                                                              ["is reserved"])
    assert IntegerField(required=True, min=1, max=9).html_attrs() == {
        "required": True, "min": 1, "max": 9, "step": 1}
    assert DecimalField(places=2).html_attrs()["step"] == "0.01"
    assert DecimalField().html_attrs()["step"] == "any"
    assert StringField(max_length=5, attrs={"maxlength": 3}).html_attrs()["maxlength"] == 3
    assert DateField(max=dt.date(2030, 1, 1)).html_attrs()["max"] == "2030-01-01"
    assert FileField(content_types=["image/*"]).html_attrs()["accept"] == "image/*"


def test_unknown_fields_and_methods_are_clear_errors() -> None:
    class Tiny(Form):
        name = StringField()

    with pytest.raises(KeyError, match="Tiny has no field 'nmae' \\(fields: name\\)"):
        Tiny()["nmae"]
    with pytest.raises(TypeError, match="may not be named data, validate \\(Form uses"):
        class Clash(Form):
            data = StringField()
            validate = StringField()
    with pytest.raises(ValueError, match="no _method override"):
        form_with(None, Tiny(), method="delete")
    with pytest.raises(ValueError, match="not an HTML attribute name"):
        form_with(None, Tiny()).text_field("name", **{'x" onclick="y': 1})


class AvatarForm(Form):
    name = StringField(required=True)
    avatar = FileField(required=True, max_size=1000, content_types=["image/png", "image/gif"])


class Avatars(Controller):
    csrf_exempt = True

    async def get(self, request: Request) -> Response:
        f = form_with(request, AvatarForm(), action="/avatars")
        return Response.html(f.open + f.field("avatar") + f.close)

    async def post(self, request: Request) -> Response:
        form = await AvatarForm.from_request(request)
        if not await form.validate():
            return Response.json(form.errors, 422)
        upload: UploadedFile = form.data["avatar"]
        return Response.json({"name": form.data["name"], "file": upload.filename,
                              "size": upload.size, "bytes": (await upload.read())[:4].hex()})


class Search(Controller):
    async def get(self, request: Request) -> Response:
        form = await SearchForm.from_request(request)
        if not form.submitted:
            return Response.text("blank form")
        if not await form.validate():
            return Response.json(form.errors, 422)
        return Response.json({"q": form.data["q"], "page": form.data["page"]})


class SearchForm(Form):
    q = StringField(required=True)
    page = IntegerField(min=1, default=1)


@pytest.fixture
async def client(rum_app_factory):
    app = rum_app_factory([Avatars.route("/avatars"), Search.route("/search")],
                          plugins=["http", "forms"])
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as c:
        yield c


async def test_file_fields_through_a_real_upload(client) -> None:
    page = (await client.get("/avatars")).text
    assert page.startswith('<form action="/avatars" method="post" '
                           'enctype="multipart/form-data"')
    assert re.search(r'<input type="file" name="avatar" id="avatar_avatar" required '
                     r'accept="image/png,image/gif">', page)
    png = b"\x89PNG" + bytes(50)
    ok = await client.post("/avatars", data={"name": "Ada"},
                           files={"avatar": ("me.png", png, "image/png")})
    assert ok.status_code == 200
    assert ok.json() == {"name": "Ada", "file": "me.png", "size": 54, "bytes": "89504e47"}
    big = await client.post("/avatars", data={"name": "Ada"},
                            files={"avatar": ("me.png", bytes(1001), "image/png")})
    assert big.json() == {"avatar": ["is too large (at most 1000 bytes)"]}
    text = await client.post("/avatars", data={"name": "Ada"},
                             files={"avatar": ("me.txt", b"hi", "text/plain")})
    assert text.json() == {"avatar": ["must be a file of type image/png, image/gif"]}
    empty = await client.post("/avatars", data={"name": "Ada"},
                              files={"avatar": ("", b"", "application/octet-stream")})
    assert empty.json() == {"avatar": ["can't be blank"]}
    urlencoded = await client.post("/avatars", data={"name": "Ada", "avatar": "me.png"})
    assert urlencoded.json() == {"avatar": ["can't be blank"]}


async def test_get_forms_read_the_query_string(client) -> None:
    assert (await client.get("/search")).text == "blank form"
    assert (await client.get("/search", params={"q": "rum"})).json() == {"q": "rum", "page": 1}
    assert (await client.get("/search", params={"q": "rum", "page": "3"})).json() == {
        "q": "rum", "page": 3}
    bad = await client.get("/search", params={"q": "", "page": "x"})
    assert bad.status_code == 422
    assert bad.json() == {"q": ["can't be blank"], "page": ["must be a whole number"]}


def test_an_email_fields_own_autocomplete_wins_over_the_default() -> None:
    from rum_forms import EmailField, Form, form_with

    class LogIn(Form):
        login = EmailField(autocomplete="username")
        contact = EmailField()

    builder = form_with(None, LogIn())
    assert 'autocomplete="username"' in builder.email_field("login")
    assert 'autocomplete="email"' in builder.email_field("contact")
    assert 'autocomplete="off"' in builder.email_field("login", autocomplete="off")
