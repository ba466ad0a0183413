"""The request/response constructors' fast paths keep the documented behaviour."""

from __future__ import annotations

from rum import Request, Response
from rum.headers import Headers


class MyHeaders(Headers):
    pass


def test_response_without_headers_gets_its_own_header_list():
    a = Response.html("<p>a</p>")
    b = Response.html("<p>b</p>")
    a.headers["x-one"] = "1"
    assert a.headers.items() and list(a.headers.items()) == [
        ("content-type", "text/html; charset=utf-8"), ("x-one", "1")]
    assert list(b.headers.items()) == [("content-type", "text/html; charset=utf-8")]
    assert list(Response(b"x").headers.items()) == []


def test_response_content_type_replaces_one_given_in_headers():
    resp = Response(b"x", headers={"Content-Type": "text/plain", "X-A": "1"},
                    content_type="application/json")
    assert resp.headers.getall("content-type") == ["application/json"]
    assert resp.headers["x-a"] == "1"


def test_request_keeps_headers_objects_and_subclasses_and_wraps_the_rest():
    h = Headers({"A": "1"})
    assert Request("GET", "/", headers=h).headers is h
    sub = MyHeaders({"B": "2"})
    assert Request("GET", "/", headers=sub).headers is sub
    wrapped = Request("GET", "/", headers={"C": "3"}).headers
    assert isinstance(wrapped, Headers) and wrapped["c"] == "3"
    assert list(Request("GET", "/").headers.items()) == []


def test_a_request_knows_when_it_was_made() -> None:
    """``request.started`` (``time.perf_counter()`` at construction) is what plugins time a
    request from, so none of them needs a ``rum_request`` hook just to note the time."""
    import time

    from rum import Request

    before = time.perf_counter()
    request = Request("GET", "/")
    assert before <= request.started <= time.perf_counter()
    assert Request.from_target("GET", "/x?y=1").started >= request.started
