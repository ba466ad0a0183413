"""A 50 MB upload over a real socket keeps the server's memory far below the body's size.

The app runs under ``rum run`` (the rum_http server) in a process of its own, so its peak
resident set size (``VmHWM`` in ``/proc/<pid>/status``) is the server's alone. The multipart
body streams from the socket into python-multipart and the file is spooled to disk past
``[forms] spool_threshold``, so the peak grows by a few chunks, not by the body. (Before
streaming, the server held the whole body, then a joined copy of it: over 100 MB.)
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import trio
from process_helpers import stop, wait_until_serving

SIZE = 50 * 1024 * 1024
BOUNDARY = "memXYZ"
#: the peak may grow by this much over a 50 MB upload (chunks, thread stacks, allocator slack)
MAX_GROWTH = 16 * 1024 * 1024

APP = """
import hashlib

import trio

from rum import App, Controller, Request, Response


def digest(upload):
    sha = hashlib.sha256()
    with upload.open() as f:
        while chunk := f.read(1 << 16):
            sha.update(chunk)
    return sha.hexdigest()


class Upload(Controller):
    async def post(self, request: Request) -> Response:
        form = await request.form()
        upload = form.files["doc"]
        sha = await trio.to_thread.run_sync(digest, upload)
        return Response.json({"size": upload.size, "sha256": sha,
                              "in_memory": upload.in_memory, "note": form["note"]})


class Ping(Controller):
    async def get(self, request: Request) -> Response:
        return Response.text("pong")


app = App([Upload.route("/upload"), Ping.route("/ping")])
"""

RUM_TOML = """
[general]
secret_key = "55555555555555555555555555555555555555555555555555555555555555555"

[plugins]
enabled = ["http", "forms"]

[http]
access_log = false  # max_body_size stays 1 MiB: streamed multipart is not held to it

[forms]
max_file_size = 62914560
max_files_size = 62914560
spool_threshold = 1048576
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss(pid: int) -> int:
    """The process's peak resident set size in bytes (``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


def body_chunks(data_block: bytes, note: str, count: int):
    """The multipart body's pieces: a field, then the file as ``count`` ``data_block``s."""
    yield (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\n{note}\r\n'
           f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="doc"; filename="big.bin"\r\n'
           "Content-Type: application/octet-stream\r\n\r\n").encode()
    for _ in range(count):
        yield data_block
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


async def upload(port: int, block: bytes, note: str, count: int) -> bytes:
    """POST the body (generated, never whole in this process either); the response."""
    length = sum(len(piece) for piece in body_chunks(block, note, count))
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(
            f"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {length}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            "Connection: close\r\n\r\n".encode())
        for piece in body_chunks(block, note, count):
            await stream.send_all(piece)
        data = b""
        with trio.fail_after(60):
            while chunk := await stream.receive_some(65536):
                data += chunk
    return data


@pytest.mark.slow
async def test_a_50_mb_upload_keeps_the_server_memory_bounded(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "Rum.toml").write_text(RUM_TOML)
    block = os.urandom(1024 * 1024)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "rum.cli", "--env", "production", "run",
                             "--port", str(port)], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        await trio.to_thread.run_sync(wait_until_serving, f"http://127.0.0.1:{port}/ping",
                                      proc)
        # warm up (imports, thread pool, allocator) with a small upload of the same shape
        warm = await upload(port, block, "warm", 2)
        assert b" 200 " in warm.split(b"\r\n", 1)[0], warm[:500]
        before = peak_rss(proc.pid)
        answer = await upload(port, block, "big", SIZE // len(block))
        after = peak_rss(proc.pid)
    finally:
        output = await trio.to_thread.run_sync(stop, proc)
    assert b" 200 " in answer.split(b"\r\n", 1)[0], (answer[:500], output)
    expected = hashlib.sha256(block * (SIZE // len(block))).hexdigest()
    assert f'"sha256":"{expected}"'.encode() in answer.replace(b" ", b"")
    assert b'"in_memory":false' in answer.replace(b" ", b"")
    assert after - before < MAX_GROWTH, (
        f"the server's peak memory grew by {(after - before) / 2**20:.1f} MiB over a "
        f"{SIZE / 2**20:.0f} MiB upload (from {before / 2**20:.1f} MiB)")
