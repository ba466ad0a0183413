"""The kernel stays a kernel: at run time it imports only pluggy, trio, tomlkit and the standard
library, and it stays small enough to read in one sitting."""

import ast
import json
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

import rum

KERNEL = Path(rum.__file__).parent
ALLOWED_DISTRIBUTIONS = ("pluggy", "trio", "tomlkit")
# 2400 until 2026-12-01, raised for rum.tally (70 lines): dispatch plumbing that took two
# plugins' per-request hooks off the hot path, not a feature that could live in a plugin.
MAX_KERNEL_LINES = 2500
# Loaded only by tests (pytest's entry point) or by `app.test_client()`; never by a running app.
TEST_SUPPORT = ("testing",)

# Import every runtime module of the kernel, build an app with no plugins and answer a request.
EXERCISE_KERNEL = """
import sys
at_start = set(sys.modules)  # what the interpreter's own start-up (.pth files) loaded
import importlib, pkgutil, trio
import rum
for info in pkgutil.iter_modules(rum.__path__):
    if info.name not in {test_support!r}:
        importlib.import_module("rum." + info.name)
from rum import App, Controller, Request, Response

class Hello(Controller):
    async def handle(self, request):
        return Response.text("hi")

app = App(routes=[Hello.route("/")], root={root!r})  # Rum.toml there enables no plugin
async def main():
    async with app.running():
        response = await app.handle(Request.from_target("GET", "/"))
        assert response.status == 200
trio.run(main)
{extra}
import json
print(json.dumps(sorted({{name.partition(".")[0] for name in set(sys.modules) - at_start}})))
"""


def allowed_top_level_modules() -> set[str]:
    """Top-level modules of the allowed distributions and everything they require."""
    seen: set[str] = set()
    pending = list(ALLOWED_DISTRIBUTIONS)
    modules: set[str] = set()
    while pending:
        name = pending.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        top = dist.read_text("top_level.txt")
        modules.update(top.split() if top else [name.replace("-", "_")])
        for file in dist.files or ():
            parts = Path(str(file)).parts
            if parts and not parts[0].endswith((".dist-info", ".data")) and parts[0] != "..":
                modules.add(Path(parts[0]).stem)
        for requirement in dist.requires or ():
            if "extra ==" in requirement:
                continue
            requirement_name = requirement.split(";")[0].split("[")[0]
            for stop in "<>=!~ (":
                requirement_name = requirement_name.split(stop)[0]
            pending.append(requirement_name.strip())
    return modules


def foreign_imports(tmp_path, extra: str = "") -> list[str]:
    """Top-level modules the kernel run imports that are neither stdlib nor allowed."""
    (tmp_path / "Rum.toml").write_text("[plugins]\nenabled = []\n")
    code = EXERCISE_KERNEL.format(test_support=set(TEST_SUPPORT), root=str(tmp_path),
                                  extra=textwrap.dedent(extra))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    imported = json.loads(result.stdout.strip().splitlines()[-1])
    allowed = allowed_top_level_modules() | set(sys.stdlib_module_names) | {"rum", "__main__"}
    return [name for name in imported if name not in allowed and not name.startswith("_")]


def test_the_kernel_imports_only_pluggy_trio_tomlkit_and_the_stdlib(tmp_path):
    assert foreign_imports(tmp_path) == []


def test_the_purity_check_catches_a_feature_library(tmp_path):
    # The rule must be able to fail: a kernel that pulled in jinja2 would be reported.
    assert "jinja2" in foreign_imports(tmp_path, extra="import jinja2")


def docstring_lines(tree: ast.Module) -> set[int]:
    """Line numbers of the module's, classes' and functions' docstrings."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return lines


def kernel_lines(root: Path) -> int:
    """Lines of code of the kernel's runtime modules: not blank, not comments, not docstrings
    (documentation is wanted on every public name and must not count against the kernel)."""
    total = 0
    for path in root.rglob("*.py"):
        if path.relative_to(root).parts[0] in TEST_SUPPORT:
            continue
        source = path.read_text()
        docs = docstring_lines(ast.parse(source))
        total += sum(1 for number, line in enumerate(source.splitlines(), 1)
                     if line.strip() and not line.strip().startswith("#") and number not in docs)
    return total


def test_the_kernel_stays_small():
    lines = kernel_lines(KERNEL)
    assert lines < MAX_KERNEL_LINES, (
        f"kernel/rum holds {lines} lines (limit {MAX_KERNEL_LINES}): move features to plugins")


def test_the_size_check_counts_code(tmp_path):
    (tmp_path / "big.py").write_text('"""Doc\n\nstring."""\n' + "x = 1\n" * MAX_KERNEL_LINES
                                     + "# comment\n\ndef f():\n    'doc'\n    return 1\n")
    assert kernel_lines(tmp_path) == MAX_KERNEL_LINES + 2


@pytest.mark.parametrize("module", ["rum.testing", "rum.testing.client"])
def test_test_support_does_not_drag_in_pytest(module):
    code = f"import sys, {module}; print('pytest' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.strip() == "False", result.stderr
