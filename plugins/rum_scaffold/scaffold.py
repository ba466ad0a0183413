"""``rum new plugin NAME`` and ``rum new app NAME``: generate a plugin distribution or a project.

The files come from ``rum_scaffold/templates/<kind>/``: every ``*.tmpl`` file is copied with
``$name``-style placeholders filled in (:class:`string.Template`), and the path parts
``rum_PKG`` and ``TIMESTAMP`` are replaced by the package name and the current UTC time.
The plugin is a *tool* (entry-point group ``rum.tools``): its commands are offered in every
directory, inside a project or not, whatever the project enables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import keyword
import re
from pathlib import Path
from string import Template
from typing import Any

from rum.errors import RumError

TEMPLATES = Path(__file__).parent / "templates"
KINDS = ("plugin", "app")
_NAME = re.compile(r"[a-z][a-z0-9_]*")


def placeholders(kind: str, name: str) -> dict[str, str]:
    """The values templates may use: ``name``, ``package``, ``dist``, ``title``, ``timestamp``."""
    if not _NAME.fullmatch(name) or keyword.iskeyword(name):
        raise RumError(f"{kind} name {name!r} must be a lower-case Python identifier such as "
                       f"'hello' or 'audit_log' (letters, digits, underscores; starting with a "
                       f"letter)")
    return {
        "name": name,
        "package": f"rum_{name}" if kind == "plugin" else name,
        "dist": f"rum-{name.replace('_', '-')}" if kind == "plugin" else name,
        "title": name.replace("_", " ").title().replace(" ", ""),
        "timestamp": dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S"),
    }


def default_directory(kind: str, name: str) -> Path:
    """Where ``rum new`` writes when no ``--dir`` is given: ``rum-NAME`` or ``NAME``."""
    return Path(placeholders(kind, name)["dist"])


def generate(kind: str, name: str, target: Path, *, force: bool = False) -> list[Path]:
    """Write the ``kind`` skeleton for ``name`` into ``target``; return the files written.

    Refuses to write into a non-empty directory unless ``force`` (then existing files with the
    same names are overwritten, others are left alone).
    """
    if kind not in KINDS:
        raise RumError(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
    values = placeholders(kind, name)
    source = TEMPLATES / kind
    if target.exists() and not target.is_dir():
        raise RumError(f"{target} exists and is not a directory; choose another --dir")
    if target.exists() and any(target.iterdir()) and not force:
        raise RumError(f"{target} is not empty; choose another --dir or pass --force to "
                       "overwrite the generated files")
    written = []
    for template in sorted(source.rglob("*.tmpl")):
        rel = template.relative_to(source).as_posix()[: -len(".tmpl")]
        rel = rel.replace("rum_PKG", values["package"]).replace("TIMESTAMP", values["timestamp"])
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            text = Template(template.read_text(encoding="utf-8")).substitute(values)
        except (KeyError, ValueError) as exc:  # a bug in a shipped template
            raise RumError(f"scaffold template {template} has a bad placeholder: {exc}") from exc
        out.write_text(text, encoding="utf-8")
        written.append(out)
    return written


NEXT_STEPS = {
    "plugin": """\
Next steps:
  cd {dir}
  pip install -e .            # registers the "{name}" entry point in group rum.plugins
  pytest                      # runs tests/test_plugin.py
Then add "{name}" to [plugins] enabled in your project's Rum.toml; `rum plugins` lists it.
""",
    "app": """\
Next steps:
  cd {dir}
  rum run                     # http://127.0.0.1:8000
  pytest                      # runs tests/test_app.py
""",
}


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``rum new``."""
    parser.add_argument("kind", choices=KINDS, help="what to generate")
    parser.add_argument("name", help="lower-case identifier, e.g. hello or audit_log")
    parser.add_argument("--dir", type=Path, default=None,
                        help="target directory (default: rum-NAME for plugins, NAME for apps)")
    parser.add_argument("--force", action="store_true",
                        help="write into a non-empty directory, overwriting generated files")


def run(args: argparse.Namespace, app: Any) -> int:
    """``rum new KIND NAME``."""
    target = args.dir if args.dir is not None else default_directory(args.kind, args.name)
    written = generate(args.kind, args.name, target, force=args.force)
    for path in written:
        print(f"  created {path}")
    print(NEXT_STEPS[args.kind].format(dir=target, name=args.name))
    return 0
