"""``rum run`` starts fast: what it must not import before answering, over a real socket."""

from __future__ import annotations

import email.utils
import json
import os
import random
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from process_helpers import stop, wait_until_serving

from rum_http.heads import http_date

MODULES_APP = '''
import sys
from rum import App, Controller, Response

class Modules(Controller):
    async def handle(self, request):
        return Response.json(sorted(sys.modules))

app = App(routes=[Modules.route("/")])
'''

#: Modules a running http-only app does not need, and that cost start-up time: entry points
#: are read without importlib.metadata (and the email package it pulls in), Rum.toml with
#: tomllib (tomlkit only reports errors), the tools' commands (rum new, rum routes) are not
#: loaded for `rum run`, and error hints, cookie quoting and logging dictConfig load lazily.
NOT_AT_START = ("importlib.metadata", "email", "tomlkit", "rum_scaffold", "rum_debug",
                "logging.config", "difflib", "http.cookies", "html")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_rum_run_answers_without_importing_what_it_does_not_need(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(MODULES_APP)
    (tmp_path / "Rum.toml").write_text('[plugins]\nenabled = ["http"]\n\n[http]\n'
                                       'access_log = false\n')
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "rum.cli", "run", "--no-reload", "--port",
                             str(port)], cwd=tmp_path, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_serving(url, proc)
        modules = set(json.loads(httpx.get(url).text))
    finally:
        out = stop(proc)
    assert proc.returncode == 0, out
    assert "rum_http.server" in modules and "trio" in modules  # the check sees the server's
    assert sorted(m for m in modules if any(m == name or m.startswith(f"{name}.")
                                            for name in NOT_AT_START)) == []


def test_the_date_header_is_what_email_utils_writes() -> None:
    moments = [0, 951782400, 1_700_000_000, 2**31, 4_102_444_799,
               *(random.randrange(0, 2**34) for _ in range(2000))]
    for seconds in moments:
        assert http_date(seconds) == email.utils.formatdate(seconds, usegmt=True), seconds
