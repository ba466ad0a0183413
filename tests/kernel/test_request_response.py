"""Request parsing helpers and Response constructors."""

import datetime as dt
import decimal
import uuid
from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rum import BadRequest, Headers, Request, Response, RumError, UnsupportedMediaType
from rum.formdata import _parse_urlencoded_sync


def test_headers_are_case_insensitive_and_multi_valued():
    h = Headers([("Content-Type", "text/html"), ("Set-Cookie", "a=1"), ("set-cookie", "b=2")])
    assert h["content-type"] == "text/html"
    assert h.getall("SET-COOKIE") == ["a=1", "b=2"]
    h["set-cookie"] = "c=3"
    assert h.getall("set-cookie") == ["c=3"]
    assert "CONTENT-TYPE" in h and len(h) == 2


def test_query_cookies_and_target():
    r = Request.from_target("GET", "/a%20b?x=1&tag=a&tag=b",
                            headers={"cookie": 'sid=abc; theme="dark"; broken'})
    assert r.path == "/a b" and r.raw_path == "/a%20b"
    assert r.query["x"] == "1" and r.query.getall("tag") == ["a", "b"]
    assert r.cookies == {"sid": "abc", "theme": "dark"}


def test_json_body_errors_are_400_with_position():
    r = Request("POST", "/", body=b'{"a": ')
    with pytest.raises(BadRequest, match=r"invalid JSON body: .* line 1 column 7"):
        r.json()
    assert Request("POST", "/", body=b'{"a": 1}').json() == {"a": 1}


async def test_urlencoded_forms_and_the_multipart_seam():
    r = Request("POST", "/", headers={"content-type": "application/x-www-form-urlencoded"},
                body=b"name=Ann&tag=x&tag=y")
    form = await r.form()
    assert form["name"] == "Ann" and form.getall("tag") == ["x", "y"]
    assert await r.form() is form and r.parsed_form is form and r.files == {}
    # without a parser registered for it (the forms plugin), multipart is a 415 naming it
    m = Request("POST", "/", headers={"content-type": "multipart/form-data; boundary=B"},
                body=b"--B--\r\n")
    with pytest.raises(UnsupportedMediaType, match=r"'forms' plugin.*\[plugins\] enabled"):
        await m.form()
    with pytest.raises(RumError, match=r"await request\.form"):
        m.files  # noqa: B018


async def test_form_must_be_awaited_and_is_bounded():
    r = Request("POST", "/", body=b"a=1")
    with pytest.raises(TypeError, match=r"await request\.form"):
        r.form().get("a")
    with pytest.raises(TypeError, match=r"await request\.form"):
        r.form()["a"]
    many = Request("POST", "/", body=b"&".join([b"a=1"] * 1001))
    with pytest.raises(BadRequest, match="more than 1000 fields"):
        await many.form()
    big = Request("POST", "/", body=b"a=" + b"%41" * 100_000)  # parsed in a worker thread
    assert (await big.form())["a"] == "A" * 100_000
    with pytest.raises(BadRequest, match="not valid UTF-8"):
        await Request("POST", "/", body=b"a=\xff").form()


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="%4Ab+=&é2F;", max_size=80))
def test_urlencoded_parsing_matches_parse_qsl(text):
    # the kernel unquotes long values in slices (the GIL is never held long); same result
    expected = parse_qsl(text, keep_blank_values=True)
    assert _parse_urlencoded_sync(text.encode(), 10**6, None)._pairs == expected
    long = "v=" + "x" * (16 * 1024 - 1) + text.replace("&", "")
    assert _parse_urlencoded_sync(long.encode(), 10, None)._pairs == parse_qsl(
        long, keep_blank_values=True)


async def test_form_with_wrong_content_type_is_415():
    r = Request("POST", "/", headers={"content-type": "application/json"}, body=b"{}")
    with pytest.raises(UnsupportedMediaType, match="expected a form body"):
        await r.form()


def test_response_constructors():
    assert Response.html("<p>").content_type == "text/html; charset=utf-8"
    j = Response.json({"when": dt.datetime(2024, 1, 2, tzinfo=dt.UTC),
                       "price": decimal.Decimal("1.10"), "id": uuid.UUID(int=1)})
    assert j.json_body() == {"when": "2024-01-02T00:00:00+00:00", "price": "1.10",
                             "id": "00000000-0000-0000-0000-000000000001"}
    r = Response.redirect("/login")
    assert r.status == 302 and r.headers["location"] == "/login"


def test_cookies_default_to_httponly_lax_and_delete_expires():
    r = Response.text("ok").set_cookie("sid", "v", max_age=60, secure=True)
    assert r.headers["set-cookie"] == "sid=v; Path=/; Max-Age=60; Secure; HttpOnly; SameSite=Lax"
    d = Response.text("bye").delete_cookie("sid")
    assert "Max-Age=0" in d.headers["set-cookie"] and "1970" in d.headers["set-cookie"]


def test_client_network_counts_an_ipv6_client_by_its_64() -> None:
    def network(client: tuple[str, int] | None) -> str:
        return Request("GET", "/", client=client).client_network

    assert network(("203.0.113.7", 5000)) == "203.0.113.7"
    assert network(("2001:db8:1:2:aaaa::1", 1)) == network(("2001:db8:1:2:ffff::9", 2)) \
        == "2001:db8:1:2::/64"
    assert network(("2001:db8:1:3::1", 1)) != network(("2001:db8:1:2::1", 1))
    assert network(("::ffff:203.0.113.7", 1)) == "203.0.113.7"
    assert network(("fe80::1%eth0", 1)) == "fe80::/64"
    assert network(None) == "unknown"
    assert network(("not:an:address", 1)) == "not:an:address"
