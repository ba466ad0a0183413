"""Parse cost per request of the two candidate parsers, httptools and h11 (decides rum_http's).

    python bench/http_parsers.py [--n 50000]

Each parser turns the same bytes into method, target, header pairs and body, the way a
server would (h11 needs a response cycle per request, so that is included). Prints
microseconds per request and appends them to ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

import h11
import httptools

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"

WRK = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n"
BROWSER = (b"GET /users/42/posts?page=2&sort=new HTTP/1.1\r\nHost: example.com\r\n"
           b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
           b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
           b"Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n"
           b"Connection: keep-alive\r\nCookie: session=abcdef0123456789; theme=dark\r\n"
           b"Upgrade-Insecure-Requests: 1\r\nSec-Fetch-Dest: document\r\n"
           b"Sec-Fetch-Mode: navigate\r\n\r\n")
POST = (b"POST /api/items HTTP/1.1\r\nHost: example.com\r\nContent-Type: application/json\r\n"
        b"Content-Length: 27\r\n\r\n{\"name\": \"rum\", \"qty\": 12}\n")


def bench_httptools(data: bytes, n: int) -> float:
    out: list[tuple] = []

    class Proto:
        def on_message_begin(self) -> None:
            self.url = b""
            self.headers: list[tuple[str, str]] = []
            self.body: list[bytes] = []

        def on_url(self, url: bytes) -> None:
            self.url += url

        def on_header(self, name: bytes, value: bytes) -> None:
            self.headers.append((name.lower().decode("latin-1"), value.decode("latin-1")))

        def on_body(self, body: bytes) -> None:
            self.body.append(body)

        def on_message_complete(self) -> None:
            out.append((parser.get_method(), self.url, self.headers, b"".join(self.body)))

    parser = httptools.HttpRequestParser(Proto())
    start = time.perf_counter()
    for _ in range(n):
        parser.feed_data(data)
    elapsed = time.perf_counter() - start
    assert len(out) == n
    return elapsed / n * 1e6


def bench_h11(data: bytes, n: int) -> float:
    conn = h11.Connection(h11.SERVER)
    response = h11.Response(status_code=200, headers=[("content-length", "0")])
    count = 0
    start = time.perf_counter()
    for _ in range(n):
        conn.receive_data(data)
        body = []
        while True:
            event = conn.next_event()
            if isinstance(event, h11.Request):
                req = event
            elif isinstance(event, h11.Data):
                body.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                break
        _ = (req.method, req.target, list(req.headers), b"".join(body))
        conn.send(response)
        conn.send(h11.EndOfMessage())
        conn.start_next_cycle()
        count += 1
    elapsed = time.perf_counter() - start
    assert count == n
    return elapsed / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50000)
    args = parser.parse_args()
    rows = []
    for name, data in (("wrk GET (1 header)", WRK), ("browser GET (10 headers)", BROWSER),
                       ("JSON POST", POST)):
        ht = min(bench_httptools(data, args.n) for _ in range(3))
        h = min(bench_h11(data, args.n) for _ in range(3))
        rows.append(f"| {name} | {ht:.2f} | {h:.2f} | {h / ht:.1f}x |")
        print(rows[-1], flush=True)
    text = (f"\n## HTTP parsers, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n\n"
            f"Command: `python bench/http_parsers.py --n {args.n}` (best of 3; microseconds "
            "per request, parse to method/target/headers/body)\n\n"
            "| request | httptools µs | h11 µs | h11 / httptools |\n|---|---:|---:|---:|\n"
            + "\n".join(rows) + "\n")
    with RESULTS.open("a", encoding="utf-8") as f:
        if RESULTS.stat().st_size == 0:
            f.write("# Benchmark results\n")
        f.write(text)
    print(f"appended to {RESULTS}")


if __name__ == "__main__":
    main()
