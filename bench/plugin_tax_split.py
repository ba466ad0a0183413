"""Where the plugin tax's wall-clock time goes: the two servers of ``bench/plugin_tax.py``
measured as the processes wrk talks to.

    python bench/plugin_tax_split.py [--ir] [--perf] [--visitor new|returning]
                                     [--seconds 20] [--rounds 4] [--env production]

``bench/plugin_tax.py``'s callgrind figures run both apps *and their client* in one process, so
its "HTTP server + client" ratio includes the client's instructions on both sides (about as
many as the quick-start server's own) and reads closer to 1 than the servers alone do. This
bench measures the server processes themselves, started exactly as ``plugin_tax.py`` starts
them (``--env``, a random secret key, the sample on its own database):

- ``--ir``: each server runs under ``valgrind --tool=callgrind --instr-atstart=no``; after 300
  warm-up requests, instrumentation is switched on (``callgrind_control``) for ``wrk -t1 -c50
  -d{seconds}s``, then for as long again with no requests (the background work: job worker,
  cron clock, flushes, the ORM's bridge thread), and Ir per request is reported with and
  without that idle share (both servers run at once; callgrind does not mind the load).
- ``--perf``: both servers pinned to CPU 0 (``taskset``), wrk pinned to CPU 1, one after the
  other for ``--rounds`` rounds (order alternating); ``perf record -e cpu-clock -g`` samples the
  server for 4 s in the middle of a 6 s wrk run. Each sample is put in a category by its
  stack (user space; the kernel's sendto, split into waking the client's reader
  (``sock_def_readable``) and the rest; recvfrom; epoll; interrupts; other) and turned into
  µs per request (samples ÷ rate ÷ requests in the window). ``cpu-clock`` works in a VM
  without hardware counters; time with interrupts disabled is charged where they are
  re-enabled, inside the category's stack.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from plugin_tax import SERVERS, app_env, command, free_port  # noqa: E402

NAMES = {"quick-start": "quick-start", "sample (all plugins)": "sample"}
PERF_HZ = 4000
PERF_SECONDS = 4


def start(name: str, env: dict[str, str], prefix: list[str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    cmd, cwd, extra = command(name, port, env)
    proc = subprocess.Popen([*prefix, *cmd], cwd=cwd, env={**os.environ, **extra},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as r:
                if b"Hey Rum!" in r.read():
                    return proc, port
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{name} did not answer")


def cookie_of(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=60) as r:
        return "; ".join(c.split(";", 1)[0] for c in r.headers.get_all("Set-Cookie") or [])


def wrk(port: int, seconds: int, cookie: str | None, pin: bool) -> int:
    """Requests completed by ``wrk -t1 -c50``."""
    header = ["-H", f"Cookie: {cookie}"] if cookie else []
    cmd = ["wrk", "-t1", "-c50", f"-d{seconds}s", *header, f"http://127.0.0.1:{port}/"]
    out = subprocess.run(["taskset", "-c", "1", *cmd] if pin else cmd, capture_output=True,
                         text=True, check=True).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"error responses:\n{out}")
    return int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]


def warm(port: int, cookie: str | None, count: int = 300) -> None:
    headers = {"Cookie": cookie} if cookie else {}
    for _ in range(count):
        req = urllib.request.Request(f"http://127.0.0.1:{port}/", headers=headers)
        with urllib.request.urlopen(req, timeout=60) as r:
            r.read()


def totals(path: Path) -> int:
    return int(re.search(r"^(?:summary|totals): (\d+)", path.read_text(), re.M).group(1))  # type: ignore[union-attr]


def run_ir(env: dict[str, str], visitor: str, seconds: int) -> list[str]:
    rows = ["| server process | requests | Ir/request | idle Ir (same time) ÷ requests | "
            "Ir/request without idle |", "|---|---:|---:|---:|---:|"]
    with tempfile.TemporaryDirectory() as out:
        procs = {}
        for name in SERVERS:
            tag = NAMES[name]
            procs[tag] = start(name, env, ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                                           f"--callgrind-out-file={out}/{tag}.%p"])
        cookie = cookie_of(procs["sample"][1]) if visitor == "returning" else None
        results: dict[str, tuple[int, float, float]] = {}
        for tag, (proc, port) in procs.items():
            warm(port, cookie)

            def ctl(*args: str, pid: int = proc.pid) -> None:
                subprocess.run(["callgrind_control", *args, str(pid)], capture_output=True,
                               check=True)

            ctl("-z")
            ctl("-i", "on")
            t0 = time.monotonic()
            n = wrk(port, seconds, cookie, pin=False)
            ctl("-d", "requests")
            ctl("-z")
            time.sleep(time.monotonic() - t0)
            ctl("-d", "idle")
            ctl("-i", "off")
            parts = sorted((p for p in Path(out).glob(f"{tag}.{proc.pid}.*")),
                           key=lambda p: int(p.suffix[1:]))
            busy, idle = totals(parts[-2]), totals(parts[-1])
            results[tag] = (n, busy / n, idle / n)
        for proc, _ in procs.values():
            proc.terminate()
            proc.wait()
    for tag, (n, busy, idle) in results.items():
        rows.append(f"| {tag} | {n:,} | {busy:,.0f} | {idle:,.0f} | {busy - idle:,.0f} |")
    q, s = (results[t][1] - results[t][2] for t in ("quick-start", "sample"))
    rows.append(f"\nquick-start ÷ sample, server processes without idle: **{q / s:.2f}**")
    return rows


def category(stack: list[str]) -> str:
    if not stack or "kernel" not in stack[0]:
        return "user space"
    text = " ".join(stack)
    if "sendto" in text:
        return ("kernel: sendto, waking the client (sock_def_readable)"
                if "sock_def_readable" in text else "kernel: sendto, the rest")
    for key, label in (("recvfrom", "kernel: recvfrom"), ("epoll", "kernel: epoll"),
                       ("futex", "kernel: futex"), ("irq", "kernel: interrupts"),
                       ("sysvec", "kernel: interrupts")):
        if key in text:
            return label
    return "kernel: other"


def run_perf(env: dict[str, str], visitor: str, rounds: int) -> list[str]:
    procs = {NAMES[name]: start(name, env, ["taskset", "-c", "0"]) for name in SERVERS}
    cookie = cookie_of(procs["sample"][1]) if visitor == "returning" else None
    samples: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    requests: collections.Counter[str] = collections.Counter()
    loads = []
    try:
        with tempfile.TemporaryDirectory() as out:
            data = f"{out}/perf.data"
            for rnd in range(rounds):
                order = list(procs) if rnd % 2 == 0 else list(procs)[::-1]
                for tag in order:
                    proc, port = procs[tag]
                    header = ["-H", f"Cookie: {cookie}"] if cookie else []
                    load = subprocess.Popen(["taskset", "-c", "1", "wrk", "-t1", "-c50", "-d6s",
                                             *header, f"http://127.0.0.1:{port}/"],
                                            stdout=subprocess.PIPE, text=True)
                    time.sleep(1)
                    subprocess.run(["perf", "record", "-q", "-e", "cpu-clock",
                                    "-F", str(PERF_HZ), "-g", "-p", str(proc.pid), "-o", data,
                                    "--", "sleep", str(PERF_SECONDS)],
                                   capture_output=True, check=True)
                    report = load.communicate()[0]
                    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", report).group(1))  # type: ignore[union-attr]
                    requests[tag] += int(rate * PERF_SECONDS)
                    script = subprocess.run(["perf", "script", "-i", data, "-F", "ip,sym,dso"],
                                            capture_output=True, text=True, check=True).stdout
                    for block in script.split("\n\n"):
                        stack = [line.strip() for line in block.strip().splitlines()
                                 if line.strip()]
                        if stack:
                            samples[tag][category(stack)] += 1
                    loads.append(os.getloadavg()[0])
    finally:
        for proc, _ in procs.values():
            proc.terminate()
            proc.wait()
    labels = sorted({c for counts in samples.values() for c in counts})
    rows = ["| CPU time per request (µs) | quick-start | sample | sample − quick-start |",
            "|---|---:|---:|---:|"]
    for label in [*labels, "total"]:
        per = {}
        for tag in ("quick-start", "sample"):
            count = (sum(samples[tag].values()) if label == "total"
                     else samples[tag][label])
            per[tag] = count / PERF_HZ / requests[tag] * 1e6
        rows.append(f"| {label} | {per['quick-start']:.2f} | {per['sample']:.2f} | "
                    f"{per['sample'] - per['quick-start']:+.2f} |")
    rows.append(f"\nload average (1 min) during the rounds: {min(loads):.2f}-{max(loads):.2f}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ir", action="store_true", help="server processes under callgrind")
    parser.add_argument("--perf", action="store_true", help="perf cpu-clock split")
    parser.add_argument("--visitor", choices=("new", "returning"), default="new")
    parser.add_argument("--seconds", type=int, default=20, help="wrk run under callgrind")
    parser.add_argument("--rounds", type=int, default=4, help="perf rounds")
    parser.add_argument("--env", default="production")
    args = parser.parse_args()
    env = app_env(args.env)
    print(f"{args.visitor} visitor, {args.env} environment")
    if args.ir:
        print("\n".join(run_ir(env, args.visitor, args.seconds)), flush=True)
    if args.perf:
        print("\n".join(run_perf(env, args.visitor, args.rounds)), flush=True)


if __name__ == "__main__":
    main()
