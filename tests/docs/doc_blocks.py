"""Read a guide's fenced code blocks with the HTML comment that says what to do with each.

A block is preceded (on the line just before its fence) by an optional marker:

- ``<!-- file: PATH -->``: the block is the whole file ``PATH`` (a ``*`` in the last part
  picks the one existing file that matches, e.g. a migration's timestamped name);
- ``<!-- file: PATH (add) -->``: appended to the file;
- ``<!-- file: PATH (replace NAME) -->``: replaces the top-level class, function or
  assignment ``NAME`` of the Python file;
- ``<!-- file: PATH (after "LINE") -->``: inserted after the line ``LINE`` (exactly one);
- ``<!-- file: PATH (instead of "LINE") -->``: replaces the line ``LINE`` (exactly one);
- ``<!-- file: PATH (merge) -->``: TOML whose keys are set in the TOML file, table by table;
- ``<!-- not run: REASON -->``: shown, not executed (the caller decides what is allowed).

``console`` blocks without a marker are commands: ``$ `` lines are run, the lines under one
are output it must print (``<timestamp>`` stands for a migration version, ``...`` for
anything; runs of spaces are column padding).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import tomlkit

_FENCE = re.compile(r"^```([a-z]*)\n(.*?)^```$", re.S | re.M)
_MARKER = re.compile(r"<!-- (file|not run): (.*?) -->\s*$")
_FILE = re.compile(r'^(?P<path>\S+)(?: \((?P<mode>add|merge|replace (?P<name>\w+)|'
                   r'(?P<where>after|instead of) "(?P<line>[^"]+)")\))?$')


@dataclass
class Command:
    """One ``$`` line of a console block and the output lines shown under it."""

    line: str
    expected: list[str] = field(default_factory=list)


@dataclass
class Block:
    """A fenced block: its language, text, source line, and marker (``kind``/``arg``)."""

    language: str
    code: str
    line: int
    kind: str | None = None  # "file", "not run" or None
    arg: str = ""

    @property
    def commands(self) -> list[Command]:
        """The commands of a console block."""
        out: list[Command] = []
        for text in self.code.splitlines():
            if text.startswith("$ "):
                out.append(Command(text[2:]))
            elif text.strip():
                assert out, f"line {self.line}: output before any command: {text!r}"
                out[-1].expected.append(text)
        return out


def blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path`` in order, with its marker."""
    text = path.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = _MARKER.search(before)
        found.append(Block(match.group(1), match.group(2), line + 1,
                           marker.group(1) if marker else None,
                           marker.group(2) if marker else ""))
    return found


def output_matches(expected: str, output: str) -> bool:
    """Whether a line of ``output`` is the ``expected`` line: placeholders allowed, and any
    run of spaces matches any other (column widths)."""
    def token(text: str) -> str:
        return re.escape(text).replace(re.escape("<timestamp>"), r"\d{14}").replace(
            re.escape("..."), ".*")

    pattern = r"[ \t]+".join(token(part) for part in expected.split())
    return re.search(rf"^[ \t]*{pattern}[ \t]*$", output, re.M) is not None


def apply_file_block(block: Block, root: Path) -> Path:
    """Do what a ``file:`` block says under ``root``; return the file it changed."""
    spec = _FILE.match(block.arg)
    assert spec, f"line {block.line}: bad file marker {block.arg!r}"
    target = resolve(root, spec["path"], block.line)
    mode = spec["mode"]
    if mode is None:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.code, encoding="utf-8")
    elif mode == "add":
        target.write_text(target.read_text(encoding="utf-8") + block.code, encoding="utf-8")
    elif mode == "merge":
        merge_toml(target, block.code)
    elif spec["name"]:
        replace_definition(target, spec["name"], block.code, block.line)
    else:
        insert_at(target, spec["line"], block.code, block.line, replace=spec["where"] != "after")
    return target


def resolve(root: Path, pattern: str, line: int) -> Path:
    """``root / pattern``; a ``*`` must match exactly one existing file."""
    if "*" not in pattern:
        return root / pattern
    matches = sorted(root.glob(pattern))
    assert len(matches) == 1, f"line {line}: {pattern} matches {matches}"
    return matches[0]


def merge_toml(target: Path, code: str) -> None:
    """Set every key of ``code`` (TOML) in the TOML file ``target``, keeping the rest."""
    document = tomlkit.parse(target.read_text(encoding="utf-8"))
    for table, values in tomlkit.parse(code).items():
        if table not in document:
            document[table] = tomlkit.table()
        for key, value in values.items():
            document[table][key] = value  # type: ignore[index]
    target.write_text(tomlkit.dumps(document), encoding="utf-8")


def replace_definition(target: Path, name: str, code: str, line: int) -> None:
    """Replace the top-level definition ``name`` of a Python file with ``code``."""
    source = target.read_text(encoding="utf-8")
    lines = source.splitlines(keepends=True)
    for node in ast.parse(source).body:
        names = ([node.name] if isinstance(node, ast.ClassDef | ast.FunctionDef
                                           | ast.AsyncFunctionDef)
                 else [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)])
        if name in names:
            first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
            lines[first - 1:node.end_lineno] = [code]
            target.write_text("".join(lines), encoding="utf-8")
            return
    raise AssertionError(f"line {line}: {target.name} has no top-level {name!r}")


def insert_at(target: Path, anchor: str, code: str, line: int, *, replace: bool) -> None:
    """Insert ``code`` after (or instead of) the one line of ``target`` equal to ``anchor``."""
    lines = target.read_text(encoding="utf-8").splitlines(keepends=True)
    at = [i for i, text in enumerate(lines) if text.rstrip("\n") == anchor]
    assert len(at) == 1, f"line {line}: {target.name} has {len(at)} lines {anchor!r}"
    lines[at[0] + 1 - replace:at[0] + 1] = [code]
    target.write_text("".join(lines), encoding="utf-8")
