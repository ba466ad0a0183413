"""rum_http's modules import each other in one direction only (no import circle)."""

from __future__ import annotations

import ast
from pathlib import Path

import rum_http

PACKAGE = Path(rum_http.__file__).parent


def imported_modules(source: str) -> set[str]:
    """Every ``rum_http`` module ``source`` imports, at module level, lazily or for typing."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("rum_http.")}


def graph() -> dict[str, set[str]]:
    return {f"rum_http.{path.stem}": imported_modules(path.read_text())
            for path in PACKAGE.glob("*.py") if path.stem != "__init__"}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import paths that lead from a module back to itself."""
    found = []

    def walk(path: list[str]) -> None:
        for nxt in sorted(edges.get(path[-1], ())):
            if nxt == path[0]:
                found.append([*path, nxt])
            elif nxt not in path and nxt > path[0]:  # each circle once, from its least module
                walk([*path, nxt])

    for start in sorted(edges):
        walk([start])
    return found


def test_no_import_circle_among_rum_http_modules() -> None:
    assert circles(graph()) == []


def test_connection_and_heads_do_not_import_the_server() -> None:
    edges = graph()
    assert "rum_http.server" not in edges["rum_http.connection"]
    assert edges["rum_http.heads"] == set()


def test_circle_check_finds_a_circle() -> None:
    edges = graph()
    edges["rum_http.heads"] = {"rum_http.connection"}  # connection imports heads
    assert circles(edges) == [["rum_http.connection", "rum_http.heads", "rum_http.connection"]]
