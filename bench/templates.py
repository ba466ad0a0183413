"""Bench: a page with a 100-row loop rendered through Rum vs hand-written Jinja2.

    python bench/templates.py [--renders 25] [--rounds 100] [--semantics ruby] [--append]

Rum side: the page is written in Rum syntax and rendered the way a controller does it,
``await Controller.render("users.html", ...)`` inside a request (one request whose handler runs
every timed round) with template caching on (production): the ``rum_render`` hook, lookup,
globals from ``rum_template_globals``, context building, Jinja2 rendering and the
``Response``. Jinja2 side: the equivalent page written by hand in Jinja2,
``Environment(loader=FileSystemLoader(...), autoescape=True).get_template(...).render(...)``
(escaping on, so both produce the same HTML; the figure with escaping off is printed too).
``--semantics`` picks ``[templates] semantics``: ``ruby`` (the default: values print like
Rails' ERB, so every ``<%= %>`` of unknown type gets an inline type check) or ``python``.

Rendering is CPU-bound and single-threaded, so time is this thread's CPU time
(``time.thread_time``): on a shared machine, time spent descheduled does not count. Each round
runs the sides in A B C C B A order so remaining drift cancels out; the headline ratio is the
median of the per-round ratios, and each side's best round is printed too. Prints
microseconds per render and the ratio Rum / Jinja2 (goal: <= 1.1). ``--append`` adds the figures to
``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import trio

from rum import App, Controller, Request, Response

RUM_PAGE = """\
<html>
<head><title><%= title %></title></head>
<body>
<h1><%= title.upcase %></h1>
<table>
  <% for user in users %>
  <tr>
    <td><%= user.id %></td>
    <td><%= user.name.capitalize %></td>
    <td><a href="mailto:<%= user.email %>"><%= user.email %></a></td>
    <td><% if user.admin %>admin<% else %>member<% end %></td>
    <td><%= user.tags.join(", ") %></td>
    <td><%= user.score * 2 + 1 %></td>
  </tr>
  <% end %>
</table>
<p><%= users.length %> users</p>
</body>
</html>
"""

JINJA_PAGE = """\
<html>
<head><title>{{ title }}</title></head>
<body>
<h1>{{ title|upper }}</h1>
<table>
  {% for user in users %}
  <tr>
    <td>{{ user.id }}</td>
    <td>{{ user.name|capitalize }}</td>
    <td><a href="mailto:{{ user.email }}">{{ user.email }}</a></td>
    <td>{% if user.admin %}admin{% else %}member{% endif %}</td>
    <td>{{ user.tags|join(", ") }}</td>
    <td>{{ user.score * 2 + 1 }}</td>
  </tr>
  {% endfor %}
</table>
<p>{{ users|length }} users</p>
</body>
</html>
"""


@dataclass
class User:
    id: int
    name: str
    email: str
    admin: bool
    score: int
    tags: list[str] = field(default_factory=list)


USERS = [User(i, f"user <{i}>", f"user{i}@example.org", i % 7 == 0, i,
              ["a&b", f"t{i % 5}"]) for i in range(100)]
CONTEXT = {"title": "Users & friends", "users": USERS}


class Page(Controller):
    async def get(self, request: Request) -> Response:
        return await self.render("users.html", **CONTEXT)


class Runner(Page):
    """Runs the timed rounds inside one request (``Controller.render`` needs the current
    request, as in a real handler); ``job`` is set by :func:`run`."""

    job: Callable[[Page], Awaitable[dict[str, float]]] | None = None
    result: dict[str, float] = {}

    async def get(self, request: Request) -> Response:
        assert Runner.job is not None
        Runner.result = await Runner.job(self)
        return Response("done")


def _normal(html: str) -> str:
    return " ".join(html.split())


async def _rum_round(page: Page, renders: int) -> float:
    start = time.thread_time()
    for _ in range(renders):
        await page.render("users.html", **CONTEXT)
    return time.thread_time() - start


def _jinja_round(template: jinja2.Template, renders: int) -> float:
    start = time.thread_time()
    for _ in range(renders):
        template.render(CONTEXT)
    return time.thread_time() - start


async def run(renders: int, rounds: int, semantics: str = "ruby") -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "templates").mkdir()
        (root / "templates" / "users.html").write_text(RUM_PAGE)
        (root / "Rum.toml").write_text(f'[templates]\nsemantics = "{semantics}"\n')
        (root / "jinja").mkdir()
        (root / "jinja" / "users.html").write_text(JINJA_PAGE)
        app = App([Runner.route("/")], plugins=["templates"], root=root, env="production")
        plain = jinja2.Environment(loader=jinja2.FileSystemLoader(root / "jinja"),
                                   autoescape=True).get_template("users.html")
        unescaped = jinja2.Environment(loader=jinja2.FileSystemLoader(root / "jinja"),
                                       ).get_template("users.html")

        async def job(page: Page) -> dict[str, float]:
            rum_html = (await page.render("users.html", **CONTEXT)).text_body()
            assert _normal(rum_html) == _normal(plain.render(CONTEXT)), "outputs differ"
            assert "&lt;" in rum_html and "a&amp;b" in rum_html
            best = {"rum": float("inf"), "jinja2": float("inf"), "jinja2_noescape": float("inf")}
            ratios = []
            for _ in range(rounds):  # A B C C B A: drift on a shared machine cancels out
                rum = await _rum_round(page, renders)
                jinja = _jinja_round(plain, renders)
                raw = _jinja_round(unescaped, renders)
                raw += _jinja_round(unescaped, renders)
                jinja += _jinja_round(plain, renders)
                rum += await _rum_round(page, renders)
                ratios.append(rum / jinja)
                best["rum"] = min(best["rum"], rum / 2)
                best["jinja2"] = min(best["jinja2"], jinja / 2)
                best["jinja2_noescape"] = min(best["jinja2_noescape"], raw / 2)
            out = {k: v / renders * 1e6 for k, v in best.items()}
            out["median_ratio"] = statistics.median(ratios)
            return out

        Runner.job = job
        async with app.running():
            response = await app.test_client().get("/")
            assert response.status == 200, response.text_body()
        return Runner.result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--semantics", choices=("ruby", "python"), default="ruby",
                        help="[templates] semantics of the Rum side (default: ruby)")
    parser.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    us = trio.run(run, args.renders, args.rounds, args.semantics)
    ratio = us["rum"] / us["jinja2"]
    lines = [
        f"| Rum template via Controller.render (production cache, {args.semantics} "
        f"semantics) | {us['rum']:.1f} µs |",
        f"| hand-written Jinja2, autoescape on (same HTML) | {us['jinja2']:.1f} µs |",
        f"| hand-written Jinja2, autoescape off (unsafe) | {us['jinja2_noescape']:.1f} µs |",
    ]
    print("| render of a 100-row page | per render |\n|---|---|")
    print("\n".join(lines))
    summary = (f"ratio Rum / Jinja2 (autoescape on): {us['median_ratio']:.3f}x (median of "
               f"paired rounds; best rounds: {ratio:.3f}x) (goal <= 1.1x)")
    print(summary)
    if args.append:
        command = "python bench/templates.py " + " ".join(sys.argv[1:])
        section = [
            "",
            f"## Templates: 100-row page, Rum vs hand-written Jinja2 "
            f"({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC)",
            "",
            f"Command: `{command.strip()}` ({args.rounds} rounds of 2 x {args.renders} "
            f"renders per side, thread CPU time; Python {platform.python_version()}, "
            f"Jinja2 {jinja2.__version__}).",
            "",
            "| render of a 100-row page | per render |",
            "|---|---|",
            *lines,
            "",
            f"{summary[0].upper()}{summary[1:]}.",
            "",
        ]
        results = Path(__file__).with_name("RESULTS.md")
        if not results.exists():
            results.write_text("# Benchmark results\n")
        with results.open("a", encoding="utf-8") as fh:
            fh.write("\n".join(section))


if __name__ == "__main__":
    main()
