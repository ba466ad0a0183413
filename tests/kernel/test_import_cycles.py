"""No import circles: in the kernel and in every plugin, modules import each other one way.

Imports made at run time count, at module level or inside functions (a lazy import that closes a
circle only hides it). Imports under ``if TYPE_CHECKING:`` are annotations for the type
checker, never executed, and are left out.
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


def run_time_imports(source: str) -> set[str]:
    """Modules ``source`` imports when it runs (``TYPE_CHECKING`` blocks skipped)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                found.add(child.module)
                found.update(f"{child.module}.{alias.name}" for alias in child.names)
            elif isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            visit(child)

    visit(ast.parse(source))
    return found


def graph(name: str, root: Path) -> dict[str, set[str]]:
    modules = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        dotted = ".".join((name, *parts))
        modules[dotted.removesuffix(".__init__")] = path
    edges = {}
    for module, path in modules.items():
        targets = {imported for imported in run_time_imports(path.read_text())
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


def test_the_check_finds_a_lazy_circle(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import f\n")
    (package / "b.py").write_text("def f():\n    from pkg.a import g\n")
    (package / "c.py").write_text("from typing import TYPE_CHECKING\n"
                                  "if TYPE_CHECKING:\n    from pkg.a import g\n")
    assert circles(graph("pkg", package)) == [["pkg.a", "pkg.b", "pkg.a"]]
