"""Multipart parsing cost and its effect on other clients (issue 11's denial of service).

Part 1 times the parsers alone on ~1 MB hostile bodies: the standard library's ``email``
parser (what the kernel used before the forms plugin), python-multipart through
``rum_forms.MultipartReader`` without a part cap, and with the default cap of 1000 parts.

Part 2 serves an app with sessions + CSRF on a real socket and sends each hostile body with a
session cookie while another client measures its own ``GET /ping`` latency, once with the old
parser registered on the event loop and once with the forms plugin.

    python bench/forms_multipart.py [--append]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import trio
from results import append_section, environment

from rum import App, Controller, Request, Response, hookimpl
from rum.formdata import FormData, _parse_urlencoded_sync
from rum_forms import FormLimits, parse_multipart
from rum_http.testing import serve_app

sys.setrecursionlimit(1000)  # the default: the old parser's RecursionError is part of the story


def nested_body(levels: int = 20_000) -> bytes:
    out = [b'--top\r\nContent-Disposition: form-data; name="x"\r\n'
           b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n"]
    out += [f"--b{i:x}\r\nContent-Type: multipart/mixed; boundary=b{i + 1:x}\r\n\r\n".encode()
            for i in range(levels)]
    out.append(b"x\r\n")
    out += [f"--b{i:x}--\r\n".encode() for i in reversed(range(levels))]
    return b"".join(out) + b"--top--\r\n"


def flat_body(parts: int = 17_000) -> bytes:
    return b'--top\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n' * parts + \
        b"--top--\r\n"


CTYPE = "multipart/form-data; boundary=top"
URLENCODED = "application/x-www-form-urlencoded"


def email_parse(body: bytes) -> FormData:
    head = f"Content-Type: {CTYPE}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    fields = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            payload = part.get_payload(decode=True) or b""
            fields.append((str(name), payload.decode("utf-8", "replace")))
    return FormData(fields)


def timed(fn, body: bytes, rounds: int = 3) -> tuple[float, str]:
    samples, outcome = [], ""
    for _ in range(rounds):
        started = time.perf_counter()
        try:
            fn(body)
            outcome = "parsed"
        except Exception as exc:  # the refusals are the point
            outcome = type(exc).__name__
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), outcome


class OldParserOnTheLoop:
    """The pre-forms kernel: the email parser and parse_qsl, synchronously, on the loop."""

    @hookimpl
    def rum_body_parsers(self, app):
        async def parse(request: Request) -> FormData:
            return email_parse(request.body)

        async def parse_qs(request: Request) -> FormData:
            return FormData(parse_qsl(request.body.decode(), keep_blank_values=True))
        return {"multipart/form-data": parse, URLENCODED: parse_qs}


class Home(Controller):
    async def get(self, request: Request) -> Response:
        return Response.text("welcome")


class Echo(Controller):
    async def post(self, request: Request) -> Response:
        return Response.text(str(len(await request.form())))


def measure_latency(base: str, latencies: list[float], measuring: threading.Event,
                    stop: threading.Event) -> None:
    """``GET /ping`` in a loop from a thread (off the server's event loop) until ``stop``."""
    with httpx.Client(base_url=base, timeout=300) as client:
        client.get("/ping")
        while True:
            started = time.perf_counter()
            try:
                client.get("/ping")
            except httpx.TransportError:  # the old server reaps requests stalled > 10 s
                pass
            latencies.append(time.perf_counter() - started)
            measuring.set()
            if stop.is_set():
                return
            time.sleep(0.002)


async def attack(port: int, cookie: str, body: bytes) -> int:
    ctype = URLENCODED if body[:2] != b"--" else CTYPE
    head = (f"POST /form HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\nContent-Type: "
            f"{ctype}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
        await stream.send_all(head + body)
        data = b""
        while chunk := await stream.receive_some(65536):
            data += chunk
    return int(data.split(b" ", 2)[1])


async def latency_run(extra_plugin: object, bodies: dict[str, bytes], root: str) -> list[str]:
    app = App([Home.route("/"), Home.route("/ping"), Echo.route("/form")],
              plugins=["http", "sessions", extra_plugin], root=root, env="production",
              config={"general": {"secret_key": "55" * 32}, "http": {"access_log": False}})
    rows = []
    async with serve_app(app, max_body_size=4 * 1024 * 1024) as base:
        port = int(base.rsplit(":", 1)[1])
        async with httpx.AsyncClient(base_url=base) as visitor:
            await visitor.get("/")
            cookie = "; ".join(f"{k}={v}" for k, v in visitor.cookies.items())
        for name, body in bodies.items():
            latencies: list[float] = []
            measuring, stop = threading.Event(), threading.Event()
            result: list[int] = []

            async def attacker(stop: threading.Event = stop, measuring: threading.Event = measuring,
                               body: bytes = body, result: list[int] = result) -> None:
                while not measuring.is_set():
                    await trio.sleep(0.01)
                started = time.perf_counter()
                result.append(await attack(port, cookie, body))
                result.append(int((time.perf_counter() - started) * 1000))
                stop.set()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(trio.to_thread.run_sync, measure_latency, base, latencies,
                                   measuring, stop)
                nursery.start_soon(attacker)
            rows.append(f"| {name} | {result[0]} | {result[1]} | {max(latencies) * 1000:.1f} | "
                        f"{statistics.median(latencies) * 1000:.1f} | {len(latencies)} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    bodies = {"nested (20,000 multipart/mixed)": nested_body(),
              "flat (17,000 fields)": flat_body(),
              "urlencoded, one value of 330,000 escapes": b"t=" + b"%41" * 330_000,
              "urlencoded, one value of 330,000 stray %": b"t=" + b"%zz" * 330_000}
    capped, uncapped = FormLimits(), FormLimits(max_parts=10**9, max_fields_size=10**9)
    parse_rows = []
    for name, body in bodies.items():
        if body[:2] != b"--":
            for label, fn in [("parse_qsl (old kernel)",
                               lambda b: parse_qsl(b.decode(), keep_blank_values=True)),
                              ("rum.formdata (stepped C passes)",
                               lambda b: _parse_urlencoded_sync(b, 1000, None))]:
                seconds, outcome = timed(fn, body)
                parse_rows.append(f"| {name}, {len(body):,} B | {label} | "
                                  f"{seconds * 1000:.1f} | {outcome} |")
            continue
        for label, fn in [("email (old kernel)", email_parse),
                          ("python-multipart, no part cap",
                           lambda b: parse_multipart(CTYPE, b, uncapped)),
                          ("python-multipart, [forms] defaults",
                           lambda b: parse_multipart(CTYPE, b, capped))]:
            seconds, outcome = timed(fn, body)
            parse_rows.append(f"| {name}, {len(body):,} B | {label} | {seconds * 1000:.1f} | "
                              f"{outcome} |")
    with tempfile.TemporaryDirectory() as root:
        old = trio.run(latency_run, OldParserOnTheLoop(), bodies, root)
        new = trio.run(latency_run, "forms", bodies, root)
    table = ("| body | parser | median ms | outcome |\n|---|---|---:|---|\n"
             + "\n".join(parse_rows)
             + "\n\n| body, sent with a session cookie | status | attack request ms | "
               "other client max ms | median ms | samples |\n|---|---:|---:|---:|---:|---:|\n"
             + "\n".join(f"| old: {r[2:]}" for r in old) + "\n"
             + "\n".join(f"| forms plugin: {r[2:]}" for r in new))
    print(table)
    if args.append:
        append_section(
            "Multipart parsing: email parser on the loop vs the forms plugin",
            f"Command: `python bench/forms_multipart.py --append` ({environment()}). Parse "
            "times are medians of 3 runs of the parser alone. The latency runs serve an app "
            "with sessions + CSRF over a real socket (`[http] max_body_size` raised to 4 MiB "
            "so the bodies reach the app) and send each body once with a session cookie and "
            "no CSRF header while another client loops on `GET /ping` from a thread; \"old\" "
            "registers the pre-plugin parsers (`email`, `parse_qsl`) on the event loop, "
            "\"forms plugin\" is the new default. Server and clients share one process "
            "here (the test runs the server in its own), so the latencies include GIL "
            "contention with the measuring thread.", table)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
