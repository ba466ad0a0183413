"""Requests/s straight to one node and through nginx in front of three (docs/deploy.md).

    python bench/proxy.py [--seconds 5] [--connections 32] [--no-write]

Three ``rum run`` processes (production, one process each) on 127.0.0.2, .3 and .4 serve a
plain-text ``GET /``; nginx runs the configuration ``rum new app`` writes
(``deploy/nginx.conf``: round robin, keep-alive upstream connections, X-Forwarded-* headers)
on 127.0.0.1. ``wrk -t1`` with ``--connections`` keep-alive connections measures one node
directly, then the three through nginx. Every process, nginx and wrk share the machine's
cores, so this shows the proxy's cost per request, not what three machines would serve.
Needs ``nginx`` and ``wrk``.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import append_section, environment

HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")

APP = '''
from rum import App, Controller, Response


class Hello(Controller):
    async def get(self, request):
        return Response.text("Hello, World!")


app = App([Hello.route("/")])
'''

TOML = '''
[plugins]
enabled = ["http"]

[http]
access_log = false
trusted_proxies = ["127.0.0.1"]
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(host: str, port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args} exited with {proc.returncode}")
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"nothing listens on {host}:{port}") from None
            time.sleep(0.1)


def nginx_config(work: Path, app_port: int, port: int) -> Path:
    """The ``deploy/nginx.conf`` of ``rum new app`` with these ports, in a whole config."""
    from rum_scaffold.scaffold import generate

    generate("app", "shop", work / "shop")
    site = (work / "shop" / "deploy" / "nginx.conf").read_text()
    site = re.sub(r"(server 127\.0\.0\.[234]):8000", rf"\1:{app_port}", site)
    site = re.sub(r"^    listen 80;$", f"    listen 127.0.0.1:{port};", site, flags=re.M)
    temp = "\n".join(f"    {kind}_temp_path {work / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    config = work / "nginx.conf"
    config.write_text(f"daemon off;\nworker_processes 1;\npid {work / 'nginx.pid'};\n"
                      f"error_log {work / 'error.log'} warn;\n"
                      f"events {{ worker_connections 1024; }}\n"
                      f"http {{\n    access_log off;\n{temp}\n{site}\n}}\n")
    return config


def wrk(url: str, seconds: int, connections: int) -> float:
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url],
                         capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None:
        raise SystemExit(f"wrk printed no rate:\n{out}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise SystemExit(f"{url}: {non_2xx.group(1)} failed responses")
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-write", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args()
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx) or shutil.which("wrk") is None:
        raise SystemExit("needs nginx and wrk (apt-get install nginx wrk)")

    work = Path(tempfile.mkdtemp(prefix="rum-bench-proxy-"))
    work.chmod(0o755)
    project = work / "project"
    project.mkdir()
    (project / "app.py").write_text(APP)
    (project / "Rum.toml").write_text(TOML)
    app_port, port = free_port(), free_port()
    env = {**os.environ, "RUM_ENV": "production", "RUM_GENERAL__SECRET_KEY": secrets.token_hex(32)}
    procs = [subprocess.Popen([sys.executable, "-m", "rum.cli", "run", "--host", host,
                               "--port", str(app_port)], cwd=project, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for host in HOSTS]
    config = nginx_config(work, app_port, port)
    proxy = subprocess.Popen([nginx, "-p", str(work), "-c", str(config), "-e",
                              str(work / "error.log")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for host, proc in zip(HOSTS, procs, strict=True):
            wait_for(host, app_port, proc)
        wait_for("127.0.0.1", port, proxy)
        direct = wrk(f"http://{HOSTS[0]}:{app_port}/", args.seconds, args.connections)
        proxied = wrk(f"http://127.0.0.1:{port}/", args.seconds, args.connections)
    finally:
        proxy.send_signal(signal.SIGQUIT)
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in [proxy, *procs]:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)

    table = ("| path | nodes | requests/s |\n|---|---|---|\n"
             f"| wrk → rum run | 1 | {direct:.0f} |\n"
             f"| wrk → nginx → rum run | 3 | {proxied:.0f} |")
    print(table)
    if not args.no_write:
        version = subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr.strip()
        append_section(
            "Through nginx: one node direct vs three behind the proxy",
            f"`python bench/proxy.py --seconds {args.seconds} --connections "
            f"{args.connections}`; `GET /` (plain text), one process per node, production; "
            f"{version} with the `deploy/nginx.conf` of `rum new app`, one nginx worker; "
            f"`wrk -t1 -c{args.connections}`; {environment()}.", table)


if __name__ == "__main__":
    main()
