"""Where the plugin tax goes: instructions per request of each per-request hook of the sample.

    python bench/plugin_tax_hooks.py [--requests 300] [--warmup 50] [--env production]
                                     [--append]

One Python process under ``valgrind --tool=callgrind --dump-before=os_getppid`` builds the
sample project's app as ``bench/plugin_tax.py`` does (``[jobs] run_worker_in_app = false``,
``[turbo] live_reload = false``, the admin dashboards' flush every hour, so that no
time-driven work lands in the figures) and the quick-start app, and answers ``GET /`` for a
returning visitor (the session cookie of the sample's ``/login`` page) through ``app.handle``
alone, ``--requests`` times per scenario:

- "quick-start": the quick-start app;
- "sample": the sample app, every hook as it is;
- one scenario per per-request hook (``rum_request``, ``rum_authenticate``,
  ``rum_response``): the sample app with that one implementation replaced by a function that
  returns ``None`` (the kernel's lists of bound implementations are patched for the run);
- "the request tally": the sample app without noting requests for the observers of
  ``rum_request_observer`` (metrics, the admin dashboards); each scenario's requests are
  handed over as one batch at its end (what a process serving ``4 × --requests`` requests a
  second does; a batch by the clock would fall at random under callgrind);
- "every hook a no-op": all of them replaced at once, which leaves the kernel's dispatch of
  the hooks and what the sample has that the quick-start app does not (the router, ...).

A hook's figure is the sample's instructions per request minus those of its scenario: what
its body costs, together with what it causes downstream (without the sessions plugin's
``rum_request`` there is no ``request.session``, so its ``rum_authenticate`` and
``rum_response`` return at once). Instruction counts do not move with the machine's load;
they are what to compare before and after a change to a hook.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from plugin_tax import app_env, bench_request, in_process_apps  # noqa: E402
from results import append_section, environment  # noqa: E402

#: the kernel's bound per-request hook lists (see ``App._bind_hooks``), in calling order
HOOK_LISTS = (("rum_request", "_request_hooks"), ("rum_authenticate", "_auth_hooks"),
              ("rum_response", "_response_hooks"))


def _noop(*args: Any, **kwargs: Any) -> None:
    return None


def _label(fn: Any) -> str:
    target = getattr(fn, "__func__", fn)
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(fn))}"


async def _child(requests: int, warmup: int) -> None:
    quick, sample = in_process_apps()
    request = bench_request
    first = await sample.handle(request("/login", None))
    cookie = first.headers["set-cookie"].split(";", 1)[0]
    original: dict[str, Any] = {attr: list(getattr(sample, attr)) for _, attr in HOOK_LISTS}
    original["_note"] = sample._note
    scenarios: list[tuple[str, Any, dict[str, Any]]] = [
        ("quick-start", quick, original), ("sample", sample, original)]
    for hook, attr in HOOK_LISTS:
        for i, fn in enumerate(original[attr]):
            lists = {a: list(fns) if a != "_note" else fns for a, fns in original.items()}
            lists[attr][i] = _noop
            scenarios.append((f"{hook}: {_label(fn)}", sample, lists))
    scenarios.append(("rum_request_observer: the request tally and its observers", sample,
                      {**original, "_note": None}))
    scenarios.append(("every hook a no-op", sample,
                      {a: [_noop] * len(fns) if a != "_note" else fns
                       for a, fns in original.items()}))
    print("\n".join(name for name, _, _ in scenarios), file=sys.stderr)
    for _name, app, lists in scenarios:
        if app is sample:
            for attr, value in lists.items():
                setattr(sample, attr, value)
        for _ in range(warmup):
            response = await app.handle(request("/", cookie))
        assert response.status == 200 and "set-cookie" not in response.headers, response
        app.tally.flush()  # the warm-up's batch (a new series costs once) is not measured
        os.getppid()  # dump: the warm-up
        for _ in range(requests):
            await app.handle(request("/", cookie))
        app.tally.flush()
        os.getppid()  # dump: this scenario


def run(requests: int, warmup: int, env: dict[str, str]) -> list[str]:
    """The table's rows: each scenario's instructions per request and the hooks' costs."""
    with tempfile.TemporaryDirectory() as out:
        cmd = ["valgrind", "--tool=callgrind", "--dump-before=os_getppid",
               f"--callgrind-out-file={out}/cg.out", sys.executable, str(Path(__file__)),
               "--child", "--requests", str(requests), "--warmup", str(warmup)]
        done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env})
        if done.returncode != 0:
            raise SystemExit(f"callgrind run failed ({done.returncode}):\n{done.stderr[-3000:]}")
        names = [line for line in done.stderr.splitlines()
                 if line and not line.startswith("==")]
        parts = sorted(Path(out).glob("cg.out.*"), key=lambda p: int(p.suffix[1:]))
        totals = [int(re.search(r"^totals: (\d+)", p.read_text(), re.M).group(1))  # type: ignore[union-attr]
                  for p in parts]
    measured = totals[1::2]  # the others: start-up and first warm-up, each warm-up, exit
    if len(measured) != len(names):
        raise SystemExit(f"expected {len(names)} scenarios, got {len(measured)} dumps")
    ir = dict(zip(names, (t / requests for t in measured), strict=True))
    quick, sample = ir.pop("quick-start"), ir.pop("sample")
    floor = ir.pop("every hook a no-op")
    rows = ["| scenario | Ir per request | cost (sample − scenario) |", "|---|---:|---:|",
            f"| quick-start app | {quick:,.0f} | |",
            f"| sample, every hook as it is | {sample:,.0f} | |"]
    for name, value in ir.items():
        rows.append(f"| without {name} | {value:,.0f} | {sample - value:+,.0f} |")
    rows.append(f"| every hook a no-op | {floor:,.0f} | {sample - floor:+,.0f} |")
    rows.append(f"\nThe sample costs {sample - quick:+,.0f} instructions per request more than "
                f"the quick-start app; {sample - floor:,.0f} of them are the hooks' bodies and "
                f"what they cause, {floor - quick:,.0f} the kernel's dispatch of "
                f"{len(ir)} hook calls and the rest of the sample (its router, ...).")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="per scenario")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--env", default="production", help="RUM_ENV of both apps")
    parser.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import trio

        from rum.tally import RequestTally

        # no batch by the clock (callgrind runs ~50x slower, which would make them ~50x
        # smaller): each scenario hands over one batch of its requests, at its end
        RequestTally.interval = 3600.0

        trio.run(_child, args.requests, args.warmup)
        return
    rows = run(args.requests, args.warmup, app_env(args.env))
    print("\n".join(rows))
    if args.append:
        description = (f"Command: `python bench/plugin_tax_hooks.py --requests {args.requests} "
                       f"--env {args.env}` (returning visitor, `app.handle` alone, under "
                       f"callgrind). {environment()}.")
        append_section("Plugin tax, hook by hook (instructions per request)", description,
                       "\n".join(rows))


if __name__ == "__main__":
    main()
