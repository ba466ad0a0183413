"""Strict HTTP/1.1 framing over a real socket: trailers kept apart from headers,
Transfer-Encoding, Host, absolute-form targets and protocol versions. Every refusal closes
the connection, and the server keeps serving the next client."""

from __future__ import annotations

import pytest
import trio
from framing_helpers import assert_refused, echo_app, exchange

from rum_http.testing import serve_app

CHUNKED = b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"


# -- 1. trailers never merge into the headers --------------------------------------------------

async def test_trailer_fields_stay_out_of_the_headers(tmp_path):
    async with serve_app(echo_app(tmp_path)) as url:
        result = await exchange(url, CHUNKED + b"Connection: close\r\n\r\n"
                                b"5\r\nhello\r\n0\r\nAuthorization: Bearer x\r\nX-Sum: 42\r\n\r\n")
    assert result.status == 200, result
    seen = result.json()
    assert seen["body"] == "hello"
    assert "authorization" not in [k for k, _ in seen["headers"]]
    assert "x-sum" not in [k for k, _ in seen["headers"]]
    assert seen["trailers"] == [["authorization", "Bearer x"], ["x-sum", "42"]]


async def test_trailers_are_empty_without_a_trailer_section(tmp_path):
    async with serve_app(echo_app(tmp_path)) as url:
        chunked = await exchange(url, CHUNKED + b"Connection: close\r\n\r\n2\r\nhi\r\n0\r\n\r\n")
        plain = await exchange(url, b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n"
                                    b"Connection: close\r\n\r\nhi")
    assert chunked.json()["trailers"] == [] and chunked.json()["body"] == "hi"
    assert plain.json()["trailers"] == [] and plain.json()["body"] == "hi"


async def test_trailers_do_not_leak_into_the_next_request_on_the_connection(tmp_path):
    async with serve_app(echo_app(tmp_path)) as url:
        result = await exchange(url, CHUNKED + b"\r\n1\r\na\r\n0\r\nX-T: 1\r\n\r\n"
                                b"GET /second HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    first, second = result.data.split(b"HTTP/1.1 200 OK")[1:]
    assert b'"trailers":[["x-t","1"]]' in first.replace(b" ", b"")
    assert b'"trailers":[]' in second.replace(b" ", b"") and b"/second" in second


def test_request_trailers_default_is_an_empty_headers_object():
    from rum import Headers, Request

    request = Request("GET", "/")
    assert isinstance(request.trailers, Headers) and len(request.trailers) == 0
    request.trailers = Headers([("x-a", "1")])
    assert request.trailers["X-A"] == "1"


# -- 2. Transfer-Encoding and Content-Length ---------------------------------------------------

@pytest.mark.parametrize(("te", "status"), [
    (b"gzip, chunked", 501),
    (b"x-custom, chunked", 501),
    (b"chunked, gzip", 400),
    (b"chunked, chunked", 400),
    (b"gzip", 400),
    (b"identity", 400),
    (b"xchunked", 400),
    (b"chunked;a=b", 400),
    (b"\x0bchunked", 400),
    (b"chunked\x0c", 400),
    (b"\x85\xa0chunked\x85\xa0", 400),
])
async def test_transfer_codings_other_than_a_lone_chunked_are_refused(tmp_path, te, status):
    async with serve_app(echo_app(tmp_path)) as url:
        await assert_refused(url, b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: " + te
                             + b"\r\n\r\n1\r\na\r\n0\r\n\r\n", status)


async def test_two_transfer_encoding_lines_are_one_list(tmp_path):
    async with serve_app(echo_app(tmp_path)) as url:
        await assert_refused(url, b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n", 501)


@pytest.mark.parametrize("te", [b"chunked", b"Chunked", b"CHUNKED ", b", chunked"])
async def test_chunked_is_accepted_in_any_case_and_with_empty_list_elements(tmp_path, te):
    async with serve_app(echo_app(tmp_path)) as url:
        result = await exchange(url, b"POST /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                                b"Transfer-Encoding: " + te + b"\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
    assert result.status == 200 and result.json()["body"] == "abc", result


async def test_transfer_encoding_in_http_1_0_is_refused(tmp_path):
    async with serve_app(echo_app(tmp_path)) as url:
        await assert_refused(url, b"POST /echo HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked"
                             b"\r\n\r\n1\r\na\r\n0\r\n\r\n", 400)


@pytest.mark.parametrize("raw", [
    pytest.param(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n", id="cl-te"),
    pytest.param(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                 b"Content-Length: 3\r\n\r\n1\r\na\r\n0\r\n\r\n", id="te-cl"),
    pytest.param(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n"
                 b"Content-Length: 1\r\n\r\na", id="same-cl-twice"),
    pytest.param(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n"
                 b"Content-Length: 2\r\n\r\nab", id="conflicting-cl"),
    pytest.param(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1, 1\r\n\r\na", id="cl-list"),
    pytest.param(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: +1\r\n\r\na", id="cl-plus"),
    pytest.param(CHUNKED + b"\r\n0x1\r\na\r\n0\r\n\r\n", id="chunk-size-0x"),
    pytest.param(CHUNKED + b"\r\n1 \r\na\r\n0\r\n\r\n", id="chunk-size-space"),
    pytest.param(CHUNKED + b"\r\n-1\r\na\r\n0\r\n\r\n", id="chunk-size-negative"),
    pytest.param(CHUNKED + b"\r\nfffffffffffffffff1\r\na\r\n0\r\n\r\n", id="chunk-size-overflow"),
    pytest.param(CHUNKED + b"\r\n1;a\nb\r\na\r\n0\r\n\r\n", id="chunk-ext-lf"),
    pytest.param(CHUNKED + b"\r\n1;\r\na\r\n0\r\n\r\n", id="chunk-ext-empty"),
    pytest.param(CHUNKED + b"\r\n1;a=\"b\r\na\r\n0\r\n\r\n", id="chunk-ext-open-quote"),
    pytest.param(CHUNKED + b"\r\n5\r\nAAAAAXX2\r\n45\r\n0\r\n\r\n", id="bytes-after-chunk-data"),
    pytest.param(CHUNKED + b"\r\n1\na\r\n0\r\n\r\n", id="chunk-size-bare-lf"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: t\r\nX: a\r\n b\r\n\r\n", id="obs-fold"),
    pytest.param(b"GET / HTTP/1.1\nHost: t\n\n", id="bare-lf"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: t\nX: y\r\n\r\n", id="bare-lf-in-headers"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: t\r\nX: a\x00b\r\n\r\n", id="nul-in-value"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: t\r\nX: a\rb\r\n\r\n", id="cr-in-value"),
])
async def test_bad_framing_gets_400_and_a_closed_connection(tmp_path, raw):
    async with serve_app(echo_app(tmp_path)) as url:
        await assert_refused(url, raw, 400)


async def test_trailing_whitespace_is_not_part_of_a_header_value(tmp_path):
    async with serve_app(echo_app(tmp_path)) as url:
        result = await exchange(url, b"GET / HTTP/1.1\r\nHost: t \r\nX-A: 1 \t\r\n"
                                b"Connection: close\r\n\r\n")
    assert ["x-a", "1"] in result.json()["headers"] and result.json()["host"] == "t"


# -- 3. Host and absolute-form targets ---------------------------------------------------------

@pytest.mark.parametrize("raw", [
    pytest.param(b"GET / HTTP/1.1\r\n\r\n", id="missing"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", id="two"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", id="two-equal"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", id="space"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", id="slash"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", id="userinfo"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: a:80x\r\n\r\n", id="bad-port"),
    pytest.param(b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", id="two-in-1.0"),
    pytest.param(b"GET http://u@a.example/x HTTP/1.1\r\nHost: b\r\n\r\n", id="target-userinfo"),
    pytest.param(b"GET http://@a.example/x HTTP/1.1\r\nHost: b\r\n\r\n",
                 id="target-empty-userinfo"),
    pytest.param(b"GET http://a.example:99999/ HTTP/1.1\r\nHost: b\r\n\r\n", id="target-bad-port"),
    pytest.param(b"GET ftp://a.example/x HTTP/1.1\r\nHost: b\r\n\r\n", id="target-ftp"),
    pytest.param(b"GET a.example:80 HTTP/1.1\r\nHost: b\r\n\r\n", id="authority-form-get"),
])
async def test_bad_host_gets_400(tmp_path, raw):
    async with serve_app(echo_app(tmp_path)) as url:
        await assert_refused(url, raw, 400)


@pytest.mark.parametrize(("host", "expected"), [
    (b"a.example", "a.example"), (b"a.example:8080", "a.example:8080"),
    (b"127.0.0.1:1", "127.0.0.1:1"), (b"[::1]:8000", "[::1]:8000"), (b"", ""),
])
async def test_valid_hosts_are_served(tmp_path, host, expected):
    async with serve_app(echo_app(tmp_path)) as url:
        result = await exchange(url, b"GET / HTTP/1.1\r\nHost: " + host
                                + b"\r\nConnection: close\r\n\r\n")
    assert result.status == 200 and result.json()["host"] == expected, result


async def test_http_1_0_without_host_is_served(tmp_path):
    async with serve_app(echo_app(tmp_path)) as url:
        result = await exchange(url, b"GET /old HTTP/1.0\r\n\r\n")
    assert result.status == 200 and result.json()["path"] == "/old"


@pytest.mark.parametrize(("target", "host", "path", "query"), [
    (b"http://a.example/x", "a.example", "/x", ""),
    (b"http://a.example:8080/x/y?q=1", "a.example:8080", "/x/y", "q=1"),
    (b"https://A.example", "A.example", "/", ""),
    (b"http://[::1]:81/v6", "[::1]:81", "/v6", ""),
])
async def test_absolute_form_takes_the_authority_from_the_target(tmp_path, target, host,
                                                                  path, query):
    async with serve_app(echo_app(tmp_path)) as url:
        result = await exchange(url, b"GET " + target + b" HTTP/1.1\r\nHost: b.example\r\n"
                                b"Connection: close\r\n\r\n")
    seen = result.json()
    assert (seen["host"], seen["path"], seen["query"]) == (host, path, query), seen
    assert [k for k, _ in seen["headers"]].count("host") == 1


# -- methods -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "status"), [
    (b"FOO / HTTP/1.1\r\nHost: t\r\n\r\n", 501),
    (b"get / HTTP/1.1\r\nHost: t\r\n\r\n", 501),  # methods are case-sensitive
    (b"\r\nBREW /pot HTTP/1.1\r\nHost: t\r\n\r\n", 501),
    (b"G\x00T / HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    (b"GARBAGE\r\n\r\n", 400),
])
async def test_unknown_methods_get_501_and_malformed_ones_400(tmp_path, raw, status):
    async with serve_app(echo_app(tmp_path)) as url:
        await assert_refused(url, raw, status)


# -- 4. versions -------------------------------------------------------------------------------

@pytest.mark.parametrize("version", [b"2.0", b"1.2", b"3.0", b"0.9", b"9.9"])
async def test_versions_other_than_1_0_and_1_1_get_505(tmp_path, version):
    async with serve_app(echo_app(tmp_path)) as url:
        await assert_refused(url, b"GET / HTTP/" + version + b"\r\nHost: t\r\n\r\n", 505)


@pytest.mark.parametrize(("pieces", "answered_before"), [
    pytest.param([b"GET /\r\n"], 0, id="one-packet"),
    pytest.param([b"GET /", b"\r\n"], 0, id="two-packets"),
    pytest.param([b"\r\nGET /index.html\r\n"], 0, id="leading-empty-line"),
    pytest.param([b"GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /\r\n"], 1, id="after-a-request"),
    pytest.param([b"POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nxyGET /",
                  b"\r\n"], 1, id="after-a-sized-body"),
])
async def test_http_0_9_request_line_gets_400_at_once(tmp_path, pieces, answered_before):
    async with serve_app(echo_app(tmp_path), request_timeout=30, keep_alive_timeout=30) as url:
        started = trio.current_time()
        result = await exchange(url, pieces, timeout=5)
        elapsed = trio.current_time() - started
    assert result.closed, result
    assert result.data.count(b"HTTP/1.1 200 OK") == answered_before, result
    assert b"HTTP/1.1 400 Bad Request" in result.data and b"HTTP/0.9" in result.data, result
    assert elapsed < 4, "answered at once, not after a timeout"


async def test_request_line_arriving_in_pieces_is_still_served(tmp_path):
    async with serve_app(echo_app(tmp_path)) as url:
        result = await exchange(url, [b"GET /sl", b"ow HTTP/1.1\r\n", b"Host: t\r\n",
                                      b"Referer: /\r\n", b"Connection: close\r\n\r\n"])
    assert result.status == 200 and result.json()["path"] == "/slow", result
