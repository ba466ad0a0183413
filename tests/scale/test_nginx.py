"""The nginx configuration ``rum new app`` writes (``deploy/nginx.conf``), run by the real nginx
from Debian's packages in front of three ``rum run`` processes on 127.0.0.2, .3 and .4 with
``[http] trusted_proxies = ["127.0.0.1"]``:

- requests are spread over the three nodes;
- ``X-Forwarded-For``/``-Proto`` set by nginx reach ``request.client``/``request.scheme``
  (the client connects from 127.0.0.5; a forged ``X-Forwarded-For`` entry is ignored; HTTPS
  terminated by nginx is ``https`` to the app), while the same headers sent straight to a
  node from an untrusted address are ignored;
- a WebSocket upgrades through nginx;
- the probes answer only from the proxy's own machine (127.0.0.1);
- after ``kill -9`` of one node every request still answers 200, from the other two.

Skipped when nginx is not installed (``.ci/run`` installs it).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trio
from process_helpers import stop, wait_until_serving

from rum_websockets.testing import ws_connect

pytestmark = pytest.mark.slow

NODES = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
CLIENT = "127.0.0.5"  # an address that is not a trusted proxy

APP = '''
import os
from rum import App, Controller, Response
from rum_websockets import WebSocketController


class Who(Controller):
    async def get(self, request):
        return Response.json({"node": os.environ["NODE"], "client": request.client[0],
                              "scheme": request.scheme})


class Echo(WebSocketController):
    ping_interval = 0

    async def connect(self, ws):
        await ws.send_text("node " + os.environ["NODE"])

    async def receive(self, ws, message):
        await ws.send_text("echo " + message)


app = App([Who.route("/who"), Echo.route("/echo")])
'''

TOML = '''
[plugins]
enabled = ["http", "websockets"]

[http]
access_log = false
shutdown_timeout = 2.0
trusted_proxies = ["127.0.0.1"]
'''


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx")
                                      else None)
    if found is None:
        pytest.skip("nginx is not installed (apt-get install nginx; .ci/run does)")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def self_signed(work: Path) -> tuple[Path, Path]:
    """A throwaway certificate for nginx's HTTPS listener."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shop.example.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(hours=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = work / "cert.pem", work / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def nginx_config(work: Path, app_port: int, http_port: int, https_port: int) -> Path:
    """The generated ``deploy/nginx.conf`` with this test's ports, inside a whole config."""
    from rum_scaffold.scaffold import generate

    generate("app", "shop", work / "shop")
    site = (work / "shop" / "deploy" / "nginx.conf").read_text()
    site, nodes = re.subn(r"(server 127\.0\.0\.[234]):8000", rf"\1:{app_port}", site)
    assert nodes == 3
    cert, key = self_signed(work)
    site, listens = re.subn(r"^    listen 80;$",
                            f"    listen 127.0.0.1:{http_port};\n"
                            f"    listen 127.0.0.1:{https_port} ssl;\n"
                            f"    ssl_certificate {cert};\n    ssl_certificate_key {key};",
                            site, flags=re.M)
    assert listens == 1
    temp = "\n".join(f"    {kind}_temp_path {work / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    config = work / "nginx.conf"
    config.write_text(f"daemon off;\nworker_processes 1;\npid {work / 'nginx.pid'};\n"
                      f"error_log {work / 'error.log'} info;\n"
                      f"events {{ worker_connections 256; }}\n"
                      f"http {{\n    access_log off;\n{temp}\n{site}\n}}\n")
    return config


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, str, int, dict[str, subprocess.Popen]]]:
    """Three nodes and nginx in front: (http URL, https URL, the nodes' port, node address ->
    process)."""
    binary = nginx_binary()
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "Rum.toml").write_text(TOML)
    work = Path(tempfile.mkdtemp(prefix="rum-nginx-"))
    work.chmod(0o755)  # nginx's workers run as nobody when started by root
    app_port = free_port()
    http_port, https_port = free_port(), free_port()
    config = nginx_config(work, app_port, http_port, https_port)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    nodes = {host: subprocess.Popen(
        [sys.executable, "-m", "rum.cli", "run", "--no-reload", "--host", host,
         "--port", str(app_port)], cwd=tmp_path, env={**env, "NODE": host},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for host in NODES}
    proxy = subprocess.Popen([binary, "-p", str(work), "-c", str(config), "-e",
                              str(work / "error.log")],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for host, proc in nodes.items():
            wait_until_serving(f"http://{host}:{app_port}/who", proc, timeout=30)
        wait_until_serving(f"http://127.0.0.1:{http_port}/who", proxy, timeout=10)
        yield f"http://127.0.0.1:{http_port}", f"https://127.0.0.1:{https_port}", app_port, nodes
    finally:
        stop(proxy, signal.SIGQUIT)  # nginx's graceful stop
        for proc in nodes.values():
            if proc.poll() is None:
                stop(proc)
        shutil.rmtree(work, ignore_errors=True)


def from_client(**kwargs: object) -> httpx.Client:
    """A client whose connections come from 127.0.0.5, a new connection per request."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=CLIENT, verify=False),
                        headers={"connection": "close"}, **kwargs)  # type: ignore[arg-type]


def test_nginx_balances_forwards_upgrades_and_skips_a_dead_node(
        cluster: tuple[str, str, int, dict[str, subprocess.Popen]]) -> None:
    http_url, https_url, app_port, nodes = cluster
    with from_client() as client:
        seen = [client.get(f"{http_url}/who", headers={"x-forwarded-for": "6.6.6.6",
                                                       "x-forwarded-proto": "https"}).json()
                for _ in range(12)]
        # round robin over the three nodes
        assert {answer["node"] for answer in seen} == set(NODES)
        # nginx's X-Forwarded-For/-Proto replace what the client forged
        assert {(answer["client"], answer["scheme"]) for answer in seen} == {(CLIENT, "http")}
        secure = client.get(f"{https_url}/who").json()
        assert (secure["client"], secure["scheme"]) == (CLIENT, "https")
        # the same headers straight to a node from an untrusted address are ignored
        direct = client.get(f"http://{NODES[0]}:{app_port}/who",
                            headers={"x-forwarded-for": "6.6.6.6",
                                     "x-forwarded-proto": "https"}).json()
        assert (direct["client"], direct["scheme"]) == (CLIENT, "http")
        # the probes are for the proxy's machine only
        assert client.get(f"{http_url}/_rum/health").status_code == 403
    assert httpx.get(f"{http_url}/_rum/health").status_code == 200

    async def websocket() -> list[str | bytes]:
        async with ws_connect(http_url, "/echo") as ws:
            hello = await ws.receive()
            await ws.send("through nginx")
            return [hello, await ws.receive()]

    hello, echo = trio.run(websocket)
    assert isinstance(hello, str) and hello.removeprefix("node ") in NODES
    assert echo == "echo through nginx"

    dead = NODES[2]
    nodes[dead].kill()
    nodes[dead].wait(timeout=10)
    with from_client() as client:
        answers = [client.get(f"{http_url}/who") for _ in range(12)]
    assert [r.status_code for r in answers] == [200] * 12
    assert {r.json()["node"] for r in answers} == set(NODES[:2])

