"""Plugins meet only through public APIs: another plugin's package exports (``__all__``) and
the kernel's public names, never a sibling's modules or the kernel's private attributes."""

import ast
import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PLUGIN_DIRS = [REPO / "plugins", REPO / "contrib"]
# Names that stand for kernel objects in plugin code; a private attribute read on them is a
# reach into the kernel's internals.
KERNEL_OBJECTS = {"app", "request", "response", "config", "router", "plugins", "headers"}


def plugin_packages() -> dict[str, Path]:
    """Every plugin package (``rum_*``) under plugins/ and contrib/, by import name."""
    found = {}
    for base in PLUGIN_DIRS:
        for init in base.glob("*/__init__.py"):
            found[init.parent.name] = init.parent
        for init in base.glob("*/src/*/__init__.py"):  # separately packaged (contrib/rum_cors)
            found[init.parent.name] = init.parent
    return found


def exported(package: str) -> set[str]:
    module = importlib.import_module(package)
    return set(getattr(module, "__all__", ()))


def base_name(node: ast.expr) -> str | None:
    """``app`` for ``app._x``, ``self.app._x`` and ``request.app._x``: the object's last name."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def violations(owner: str, source: str, packages: set[str]) -> list[str]:
    """What in ``source`` (a module of plugin ``owner``) breaks the boundary rules."""
    found = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            top, _, rest = node.module.partition(".")
            names = [alias.name for alias in node.names]
            if top in packages and top != owner:
                if rest:
                    found.append(f"line {node.lineno}: imports {node.module} (a module of "
                                 f"plugin {top}); import from {top} instead")
                else:
                    for name in set(names) - exported(top):
                        found.append(f"line {node.lineno}: imports {top}.{name}, which {top} "
                                     "does not export (__all__)")
            if top == "rum":
                for name in names:
                    if name.startswith("_"):
                        found.append(f"line {node.lineno}: imports the kernel's private "
                                     f"{node.module}.{name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                top, _, rest = alias.name.partition(".")
                if top in packages and top != owner and rest:
                    found.append(f"line {node.lineno}: imports {alias.name} (a module of "
                                 f"plugin {top})")
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                and not node.attr.startswith("__") and base_name(node.value) in KERNEL_OBJECTS:
            found.append(f"line {node.lineno}: reads {base_name(node.value)}.{node.attr}, "
                         "a private attribute of a kernel object")
    return found


def all_violations() -> list[str]:
    packages = plugin_packages()
    report = []
    for owner, root in sorted(packages.items()):
        for path in sorted(root.rglob("*.py")):
            for problem in violations(owner, path.read_text(), set(packages)):
                report.append(f"{path.relative_to(REPO)}: {problem}")
    return report


def test_plugins_use_only_each_others_public_api():
    assert all_violations() == []


@pytest.mark.parametrize("source, expected", [
    ("from rum_static.files import StaticFiles", "a module of plugin rum_static"),
    ("import rum_static.files", "a module of plugin rum_static"),
    ("from rum_static import not_exported_name", "does not export"),
    ("from rum.app import _NOT_SET", "private"),
    ("def f(app):\n    return app._storage", "private attribute"),
    ("def f(self):\n    return self.app._jobs", "private attribute"),
])
def test_the_rules_catch_each_kind_of_reach(source, expected):
    problems = violations("rum_turbo", source, set(plugin_packages()))
    assert problems and expected in problems[0]


def test_own_modules_and_public_names_are_fine():
    source = ("from rum_turbo.streams import TurboStream\nfrom rum_static import StaticFiles\n"
              "from rum import App\n")
    assert violations("rum_turbo", source, set(plugin_packages())) == []
