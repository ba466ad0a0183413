"""Request parsing helpers and Response constructors."""

import datetime as dt
import decimal
import uuid

import pytest

from rum import BadRequest, Headers, Request, Response


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


def test_urlencoded_and_multipart_forms():
    r = Request("POST", "/", headers={"content-type": "application/x-www-form-urlencoded"},
                body=b"name=Ann&tag=x&tag=y")
    assert r.form()["name"] == "Ann" and r.form().getall("tag") == ["x", "y"]
    body = (b"--B\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nHello\r\n"
            b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n"
            b"Content-Type: text/plain\r\n\r\nfile body\r\n--B--\r\n")
    m = Request("POST", "/", headers={"content-type": "multipart/form-data; boundary=B"},
                body=body)
    assert m.form()["title"] == "Hello"
    assert m.files["file"].filename == "a.txt" and m.files["file"].content == b"file body"


def test_form_with_wrong_content_type_is_400():
    r = Request("POST", "/", headers={"content-type": "application/json"}, body=b"{}")
    with pytest.raises(BadRequest, match="expected a form body"):
        r.form()


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
