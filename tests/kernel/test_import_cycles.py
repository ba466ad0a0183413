"""No import circles: in the kernel and in every plugin, modules import each other one way.

Every import counts: at module level, inside functions (a lazy import that closes a circle only
hides it) and under ``if TYPE_CHECKING:`` (two modules that name each other's types depend on
each other just the same; a small protocol in a lower module breaks such a circle, see
``rum.services.AppLike`` and ``rum.routing.Handler``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def packages() -> dict[str, Path]:
    """The kernel and every plugin package, by import name."""
    found = {"rum": REPO / "kernel" / "rum"}
    for base in (REPO / "plugins", REPO / "contrib"):
        for init in [*base.glob("*/__init__.py"), *base.glob("*/src/*/__init__.py")]:
            found[init.parent.name] = init.parent
    return found


def imports(source: str) -> set[str]:
    """Every module ``source`` imports, wherever the import stands (TYPE_CHECKING included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def graph(name: str, root: Path) -> dict[str, set[str]]:
    modules = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        dotted = ".".join((name, *parts))
        modules[dotted.removesuffix(".__init__")] = path
    edges = {}
    for module, path in modules.items():
        targets = {imported for imported in imports(path.read_text())
                   if imported in modules and imported != module and imported != name}
        edges[module] = targets
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Each import path that leads from a module back to itself, once."""
    found = []

    def walk(path: list[str]) -> None:
        for nxt in sorted(edges.get(path[-1], ())):
            if nxt == path[0]:
                found.append([*path, nxt])
            elif nxt not in path and nxt > path[0]:
                walk([*path, nxt])

    for start in sorted(edges):
        walk([start])
    return found


@pytest.mark.parametrize("name", sorted(packages()))
def test_no_import_circle(name):
    assert circles(graph(name, packages()[name])) == []


def planted(tmp_path, files: dict[str, str]) -> list[list[str]]:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, source in files.items():
        (package / f"{name}.py").write_text(source)
    return circles(graph("pkg", package))


def test_the_check_finds_a_lazy_circle(tmp_path):
    assert planted(tmp_path, {"a": "from pkg.b import f\n",
                              "b": "def f():\n    from pkg.a import g\n",
                              "c": "from pkg.a import g\n"}) == [["pkg.a", "pkg.b", "pkg.a"]]


def test_the_check_finds_a_circle_through_type_checking_imports(tmp_path):
    assert planted(tmp_path, {
        "app": "from pkg.request import Request\n",
        "request": "from typing import TYPE_CHECKING\n"
                   "if TYPE_CHECKING:\n    from pkg.app import App\n",
        "leaf": "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from pkg.app import App\n",
    }) == [["pkg.app", "pkg.request", "pkg.app"]]
