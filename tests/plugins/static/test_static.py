"""Static files over a real socket: 200, 304, 206, 416, 404, precompression and traversal."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest
import trio

from rum_http.testing import serve_app

BIG = bytes(range(256)) * 2048  # 512 KiB: larger than one chunk, streamed


@pytest.fixture
def site(tmp_path: Path) -> Path:
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    (static / "docs").mkdir()
    (static / "hello.txt").write_text("hello, static\n")
    (static / "css" / "app.3f2a9c1b.css").write_text("body { color: red }\n")
    (static / "big.bin").write_bytes(BIG)
    (static / "app.js").write_text("console.log('plain');\n" * 20)
    (static / "app.js.gz").write_bytes(gzip.compress(b"console.log('plain');\n" * 20))
    (static / ".env").write_text("SECRET=1\n")
    (static / "docs" / "index.html").write_text("<h1>docs</h1>")
    (tmp_path / "secret.txt").write_text("top secret\n")
    os.symlink(tmp_path / "secret.txt", static / "escape.txt")
    os.symlink(static / "hello.txt", static / "alias.txt")
    return tmp_path


@pytest.fixture
def app(site: Path, rum_app_factory):
    return rum_app_factory(plugins=["http", "static"], root=site)


async def test_get_file_with_validators_and_type(app, raw_request):
    async with serve_app(app) as url:
        r = await raw_request(url, "/static/hello.txt")
    assert r.status == 200
    assert r.body == b"hello, static\n"
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.headers["content-length"] == "14"
    assert r.headers["etag"].startswith('"')
    assert r.headers["last-modified"].endswith("GMT")
    assert r.headers["cache-control"] == "public, max-age=3600"
    assert r.headers["accept-ranges"] == "bytes"


async def test_fingerprinted_names_are_immutable(app, raw_request):
    async with serve_app(app) as url:
        r = await raw_request(url, "/static/css/app.3f2a9c1b.css")
    assert r.status == 200
    assert r.headers["content-type"] == "text/css; charset=utf-8"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"


async def test_conditional_requests_answer_304(app, raw_request):
    async with serve_app(app) as url:
        first = await raw_request(url, "/static/hello.txt")
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        by_tag = await raw_request(url, "/static/hello.txt", headers={"if-none-match": etag})
        by_date = await raw_request(url, "/static/hello.txt",
                                    headers={"if-modified-since": modified})
        other_tag = await raw_request(url, "/static/hello.txt",
                                      headers={"if-none-match": '"nope"'})
        old_date = await raw_request(url, "/static/hello.txt",
                                     headers={"if-modified-since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert by_tag.status == 304 and by_tag.body == b""
    assert by_tag.headers["etag"] == etag
    assert by_date.status == 304
    assert other_tag.status == 200 and other_tag.body == b"hello, static\n"
    assert old_date.status == 200


async def test_range_requests(app, raw_request):
    async with serve_app(app) as url:
        part = await raw_request(url, "/static/big.bin", headers={"range": "bytes=1000-1999"})
        suffix = await raw_request(url, "/static/hello.txt", headers={"range": "bytes=-7"})
        beyond = await raw_request(url, "/static/hello.txt", headers={"range": "bytes=500-"})
        stale = await raw_request(url, "/static/hello.txt",
                                  headers={"range": "bytes=0-1", "if-range": '"old"'})
    assert part.status == 206
    assert part.body == BIG[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(BIG)}"
    assert suffix.status == 206 and suffix.body == b"static\n"
    assert beyond.status == 416
    assert beyond.headers["content-range"] == "bytes */14"
    assert stale.status == 200 and stale.body == b"hello, static\n"


async def test_hostile_ranges_are_ignored_or_416_never_500(app, raw_request):
    """int() of a range bound over Python's 4,300-digit limit, or of a digit str.isdigit()
    accepts but int() does not ('\u00b2'), raised ValueError: a 500 with a traceback."""
    cases = {"bytes=" + "9" * 5000 + "-": 416, "bytes=0-" + "9" * 5000: 206,
             "bytes=-" + "9" * 5000: 206, "bytes=99999999999999999999-": 416,
             "bytes=\u00b2-": 200, "bytes=0-\u00b2": 200, "bytes=-\u00b2": 200,
             "bytes=\u0661-\u0662": 200, "bytes=1_0-2_0": 200}
    async with serve_app(app) as url:
        for spec, status in cases.items():
            r = await raw_request(url, "/static/hello.txt", headers={"range": spec.encode()})
            assert r.status == status, (spec[:20], r.status, r.body[:200])
            if status == 206:
                assert r.body == b"hello, static\n"


async def test_large_file_streams_whole(app, raw_request):
    async with serve_app(app) as url:
        r = await raw_request(url, "/static/big.bin")
    assert r.status == 200
    assert r.body == BIG
    assert r.headers["content-type"] == "application/octet-stream"


async def test_head_sends_no_body(app, raw_request):
    async with serve_app(app) as url:
        r = await raw_request(url, "/static/hello.txt", method="HEAD")
    assert r.status == 200
    assert r.body == b""
    assert r.headers["content-length"] == "14"


async def test_precompressed_sibling_when_accepted(app, raw_request):
    async with serve_app(app) as url:
        gz = await raw_request(url, "/static/app.js", headers={"accept-encoding": "br, gzip"})
        plain = await raw_request(url, "/static/app.js", headers={"accept-encoding": "identity"})
        refused = await raw_request(url, "/static/app.js",
                                    headers={"accept-encoding": "gzip;q=0"})
    assert gz.status == 200
    assert gz.headers["content-encoding"] == "gzip"
    assert gzip.decompress(gz.body) == b"console.log('plain');\n" * 20
    assert gz.headers["vary"] == "Accept-Encoding"
    assert gz.headers["content-type"].startswith("text/javascript")
    assert "content-encoding" not in plain.headers
    assert plain.body == b"console.log('plain');\n" * 20
    assert plain.headers["vary"] == "Accept-Encoding"
    assert gz.headers["etag"] != plain.headers["etag"]
    assert "content-encoding" not in refused.headers


async def test_missing_file_and_directory_are_404(app, raw_request):
    async with serve_app(app) as url:
        missing = await raw_request(url, "/static/nope.txt")
        directory = await raw_request(url, "/static/docs")
        directory_slash = await raw_request(url, "/static/docs/")
    assert missing.status == 404
    assert directory.status == 404  # index files are off by default
    assert directory_slash.status == 404


async def test_index_files_when_enabled(site, rum_app_factory, raw_request):
    app = rum_app_factory(plugins=["http", "static"], root=site,
                          toml='[static]\nindex_files = ["index.html"]\n')
    async with serve_app(app) as url:
        r = await raw_request(url, "/static/docs/")
    assert r.status == 200
    assert r.body == b"<h1>docs</h1>"


@pytest.mark.parametrize("target", [
    "/static/../secret.txt",
    "/static/css/../../secret.txt",
    "/static/%2e%2e/secret.txt",
    "/static/%2E%2E%2Fsecret.txt",
    "/static/css/%2e%2e/%2e%2e/secret.txt",
    "/static/..%2fsecret.txt",
    "/static/..%5csecret.txt",
    "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
    "/static/hello.txt%00.png",
    "/static/escape.txt",
    "/static/.env",
    "/static/./hello.txt",
])
async def test_traversal_is_refused(app, target, raw_request):
    async with serve_app(app) as url:
        r = await raw_request(url, target)
    assert r.status in (400, 404), (target, r.status)
    assert b"top secret" not in r.body
    assert b"root:" not in r.body
    assert b"SECRET" not in r.body


async def test_symlink_inside_root_is_served(app, raw_request):
    async with serve_app(app) as url:
        r = await raw_request(url, "/static/alias.txt")
    assert r.status == 200 and r.body == b"hello, static\n"


async def test_other_paths_reach_routes(site, rum_app_factory, raw_request):
    from rum import Controller, Response

    class Home(Controller):
        async def get(self, request):
            return Response.text("home")

    app = rum_app_factory([Home.route("/staticky")], plugins=["http", "static"], root=site)
    async with serve_app(app) as url:
        r = await raw_request(url, "/staticky")
        post = await raw_request(url, "/static/hello.txt", method="POST")
    assert r.status == 200 and r.body == b"home"
    assert post.status in (404, 405)


async def test_extra_mounts(site, rum_app_factory, raw_request):
    (site / "uploads").mkdir()
    (site / "uploads" / "cat.png").write_bytes(b"\x89PNG fake")
    app = rum_app_factory(plugins=["http", "static"], root=site,
                          toml='[static]\nmounts = [{prefix = "/media", root = "uploads", '
                               'max_age = 0}]\n')
    async with serve_app(app) as url:
        cat = await raw_request(url, "/media/cat.png")
        still = await raw_request(url, "/static/hello.txt")
    assert cat.status == 200
    assert cat.headers["content-type"] == "image/png"
    assert cat.headers["cache-control"] == "no-cache"
    assert still.status == 200


def test_missing_explicit_root_is_a_config_error(tmp_path, rum_app_factory):
    from rum import ConfigError

    with pytest.raises(ConfigError, match="not a directory"):
        rum_app_factory(plugins=["static"], root=tmp_path, toml='[static]\nroot = "assets"\n')


async def test_static_files_as_a_routed_controller(site, rum_app_factory, raw_request):
    from rum_static import StaticFiles

    app = rum_app_factory([StaticFiles(site / "static" / "css").route("/assets/<path:path>")],
                          plugins=["http"], root=site)
    async with serve_app(app) as url:
        ok = await raw_request(url, "/assets/app.3f2a9c1b.css")
        missing = await raw_request(url, "/assets/nope.css")
        escape = await raw_request(url, "/assets/../hello.txt")
    assert ok.status == 200 and ok.body == b"body { color: red }\n"
    assert missing.status == 404
    assert escape.status == 404


async def test_metadata_cache_serves_until_it_expires(site, rum_app_factory, raw_request):
    app = rum_app_factory(plugins=["http", "static"], root=site,
                          toml="[static]\ncache_seconds = 0.5\n")
    hello = site / "static" / "hello.txt"
    async with serve_app(app) as url:
        first = await raw_request(url, "/static/hello.txt")
        hello.write_text("changed!\n")
        os.utime(hello, (1_700_000_000, 1_700_000_000))
        cached = await raw_request(url, "/static/hello.txt")
        await trio.sleep(0.6)
        fresh = await raw_request(url, "/static/hello.txt")
    assert cached.body == first.body == b"hello, static\n"
    assert cached.headers["etag"] == first.headers["etag"]
    assert fresh.body == b"changed!\n"
    assert fresh.headers["etag"] != first.headers["etag"]


async def test_without_cache_changes_show_at_once(app, site, raw_request):
    hello = site / "static" / "hello.txt"
    async with serve_app(app) as url:
        first = await raw_request(url, "/static/hello.txt")
        hello.write_text("changed!\n")
        os.utime(hello, (1_700_000_000, 1_700_000_000))
        second = await raw_request(url, "/static/hello.txt")
    assert first.body == b"hello, static\n"
    assert second.body == b"changed!\n"


async def test_root_mount_leaves_routes_alone(site, rum_app_factory, raw_request):
    from rum import Controller, Response

    class Api(Controller):
        async def get(self, request):
            return Response.json({"ok": True})

    (site / "public").mkdir()
    (site / "public" / "favicon.ico").write_bytes(b"\x00\x00\x01\x00icon")
    app = rum_app_factory([Api.route("/api")], plugins=["http", "static"], root=site,
                          toml='[static]\nroot = "public"\nprefix = "/"\n')
    async with serve_app(app) as url:
        icon = await raw_request(url, "/favicon.ico")
        api = await raw_request(url, "/api")
        up = await raw_request(url, "/../secret.txt")
    assert icon.status == 200 and icon.body == b"\x00\x00\x01\x00icon"
    assert api.status == 200 and api.body == b'{"ok":true}'
    assert up.status in (400, 404) and b"top secret" not in up.body
