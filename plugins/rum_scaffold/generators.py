"""``rum generate scaffold|model|controller|job|migration NAME ...``: code for an app made by
``rum new app`` (``app.py``, ``models.py``, ``templates/``, ``migrations/``, ``tests/``).

Every generator returns the :class:`Plan` of files it writes (refusing to overwrite one unless
``force``) and the lines it prints for the user (e.g. the routes to add to ``app.py`` when
they could not be written into its ``routes=[...]`` list).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from rum.errors import RumError
from rum_scaffold import views
from rum_scaffold.fields import FieldSpec, parse_fields, sql_name
from rum_scaffold.names import Names


@dataclass
class Plan:
    """The files a generator writes, and what it tells the user afterwards."""

    root: Path
    files: dict[Path, str] = field(default_factory=dict)
    appends: dict[Path, str] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    def write(self, *, force: bool = False) -> list[str]:
        """Write the files; return ``created ...``/``updated ...`` lines."""
        for path in self.files:
            if path.exists() and not force:
                raise RumError(f"{path} exists; remove it or pass --force to overwrite it")
        out = []
        for path, text in self.files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            out.append(f"  created {path.relative_to(self.root)}")
        for path, text in self.appends.items():
            path.write_text(text, encoding="utf-8")
            out.append(f"  updated {path.relative_to(self.root)}")
        return out


def _stamp(root: Path, offset: int = 0) -> str:
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset)
    stamp = now.strftime("%Y%m%d%H%M%S")
    existing = {p.name.split("_", 1)[0] for p in (root / "migrations").glob("*.sql")}
    while stamp in existing:
        stamp = str(int(stamp) + 1)
    return stamp


# -- models and migrations ----------------------------------------------------------------------


def model_source(names: Names, fields: list[FieldSpec]) -> str:
    """The model class."""
    lines = [f"class {names.cls}(Model):",
             f'    """A row of ``{names.plural}`` (rum generate; the table comes from '
             f'migrations/)."""', ""]
    lines += [f"    {f.name}: {f.annotation}{f.default}" for f in fields] or ["    pass"]
    return "\n".join(lines) + "\n"


def add_model(plan: Plan, names: Names, fields: list[FieldSpec], *,
              source: str | None = None, imports: tuple[str, ...] = ()) -> None:
    """Append the model to ``models.py`` (created when missing), with the imports it needs
    (``source``: the class's text, instead of one made from ``fields``, needing
    ``imports``)."""
    path = plan.root / "models.py"
    text = plan.appends.get(path) or (path.read_text(encoding="utf-8") if path.exists() else
                                      '"""The app\'s models."""\n\nfrom __future__ import '
                                      'annotations\n\nfrom rum_orm import Model\n')
    if re.search(rf"^class {names.cls}\b", text, re.M):
        raise RumError(f"models.py already defines {names.cls}")
    needed = sorted({imp for f in fields for imp in f.info.imports} | set(imports) |
                    ({"from rum_orm import Model"} if "import Model" not in text else set()))
    missing = [imp for imp in needed if not re.search(rf"^{re.escape(imp)}$", text, re.M)]
    if missing:
        anchor = re.search(r"^from __future__ import annotations\n", text, re.M)
        at = anchor.end() if anchor else 0
        text = text[:at] + "\n" + "\n".join(missing) + "\n" + text[at:]
    plan.appends[path] = text.rstrip("\n") + "\n\n\n" + (source or model_source(names, fields))


def create_table_sql(table: str, fields: list[FieldSpec]) -> tuple[str, str]:
    """``CREATE TABLE`` and ``DROP TABLE``: the types ``rum migrate make`` would write."""
    columns = ",\n    ".join(["id bigserial PRIMARY KEY", *(f.column_sql for f in fields)])
    return (f"CREATE TABLE {sql_name(table)} (\n    {columns}\n);\n",
            f"DROP TABLE {sql_name(table)};\n")


def add_migration(plan: Plan, label: str, up: str, down: str, offset: int = 0) -> None:
    """``migrations/<now>_<label>.up.sql``/``.down.sql``."""
    stamp = _stamp(plan.root, offset)
    head = f"-- {stamp}_{label}: written by `rum generate`; applied by `rum migrate run`.\n"
    base = plan.root / "migrations" / f"{stamp}_{label}"
    plan.files[base.with_name(base.name + ".up.sql")] = head + up
    plan.files[base.with_name(base.name + ".down.sql")] = (
        f"-- {stamp}_{label}: undoes the .up.sql file (`rum migrate revert`).\n" + down)


def migration(root: Path, name: str, specs: list[str]) -> Plan:
    """``rum generate migration NAME [fields]``: ``create_<table>``, ``add_..._to_<table>``
    and ``remove_..._from_<table>`` with fields get their SQL; other names, empty files."""
    plan = Plan(root)
    label = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not label:
        raise RumError(f"migration name {name!r} has no letters or digits")
    fields = parse_fields(specs)
    create = re.fullmatch(r"create_(\w+)", label)
    add = re.fullmatch(r"add_\w+_to_(\w+)", label)
    remove = re.fullmatch(r"remove_\w+_from_(\w+)", label)
    if fields and create:
        up, down = create_table_sql(create[1], fields)
    elif fields and add:
        table = sql_name(add[1])
        up = "".join(f"ALTER TABLE {table} ADD COLUMN {f.column_sql};\n" for f in fields)
        down = "".join(f"ALTER TABLE {table} DROP COLUMN {sql_name(f.name)};\n"
                       for f in reversed(fields))
    elif fields and remove:
        table = sql_name(remove[1])
        up = "".join(f"ALTER TABLE {table} DROP COLUMN {sql_name(f.name)};\n" for f in fields)
        down = "".join(f"ALTER TABLE {table} ADD COLUMN {f.column_sql};\n"
                       for f in reversed(fields))
    elif fields:
        raise RumError(f"with fields, name the migration create_<table>, add_<what>_to_<table> "
                       f"or remove_<what>_from_<table> (got {label!r}); or give no fields")
    else:
        up, down = "\n", "\n"
    add_migration(plan, label, up, down)
    if fields and (add or remove):
        plan.messages.append("Change the model to match (`rum migrate check` compares them): "
                             + ", ".join(f"{f.name}: {f.annotation}" for f in fields))
    return plan


def model(root: Path, name: str, specs: list[str]) -> Plan:
    """``rum generate model Post title:str``: the model and its ``create_posts`` migration."""
    names = Names(name)
    fields = parse_fields(specs)
    plan = Plan(root)
    add_model(plan, names, fields)
    up, down = create_table_sql(names.plural, fields)
    add_migration(plan, f"create_{names.plural}", up, down)
    return plan


# -- routes -------------------------------------------------------------------------------------


def add_routes(plan: Plan, import_line: str, route_lines: list[str]) -> None:
    """Write the routes into ``app.py``'s ``routes=[...]`` list when it has one (as ``rum new
    app`` makes it), else tell the user what to add."""
    path = plan.root / "app.py"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    match = re.search(r"^(?P<indent>[ \t]*)routes=\[\n(?P<body>(?:.*\n)*?)(?P=indent)\],?$",
                      text, re.M)
    last_import = _last_import_line(text)
    if match is None or last_import is None:
        plan.messages.append("Add to app.py:\n    " + import_line + "\n  and to its routes:\n"
                             + "\n".join(f"    {line}," for line in route_lines))
        return
    indent = match["indent"] + "    "
    insert = "".join(f"{indent}{line},\n" for line in route_lines)
    text = text[:match.end("body")] + insert + text[match.end("body"):]
    lines = text.splitlines(keepends=True)
    at = sum(len(line) for line in lines[:last_import])
    if len(import_line) > 99:
        module, _, names = import_line.partition(" import ")
        import_line = (f"{module} import (\n" + "".join(f"    {n},\n" for n in
                                                          names.split(", ")) + ")")
    text = text[:at] + import_line + "\n" + text[at:]
    plan.appends[path] = text


def _last_import_line(text: str) -> int | None:
    """The line number (1-based) ending the module's last top-level import, if any."""
    import ast

    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    ends = [node.end_lineno for node in tree.body
            if isinstance(node, ast.Import | ast.ImportFrom) and node.end_lineno]
    return max(ends) if ends else None


def enable_plugins(plan: Plan, *wanted: str) -> None:
    """Add plugins to ``[plugins] enabled`` in ``Rum.toml`` when missing."""
    import tomlkit

    path = plan.root / "Rum.toml"
    if not path.exists():
        plan.messages.append(f"Enable these plugins: {', '.join(wanted)}")
        return
    doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    plugins = doc.setdefault("plugins", tomlkit.table())
    enabled = plugins.setdefault("enabled", tomlkit.array())
    added = [name for name in wanted if name not in enabled]
    if added:
        for name in added:
            enabled.append(name)
        plan.appends[path] = tomlkit.dumps(doc)
        plan.messages.append(f"Enabled {', '.join(added)} in Rum.toml "
                             f"(the forms need the sessions plugin's CSRF token)"
                             if "sessions" in added else
                             f"Enabled {', '.join(added)} in Rum.toml")


# -- the scaffold -------------------------------------------------------------------------------


def scaffold(root: Path, name: str, specs: list[str], *, api: bool = False) -> Plan:
    """Model, migration, controllers (index/show/new/create/edit/update/destroy), views,
    routes, tests; with ``api``, JSON routes from ``rum_rest.ModelController`` too."""
    names = Names(name)
    fields = parse_fields(specs)
    if not fields:
        raise RumError("give the scaffold at least one field, e.g. "
                       "rum generate scaffold Post title:str body:text")
    plan = model(root, names.cls, specs)
    module = f"{names.plural}_controller"
    plan.files[root / f"{module}.py"] = views.controller_source(names, fields, api=api)
    for template, text in views.templates(names, fields,
                                          layout=(root / "templates" / "layout.html").exists()):
        plan.files[root / "templates" / names.plural / template] = text
    plan.files[root / "tests" / f"test_{names.plural}.py"] = views.test_source(names, fields,
                                                                              api=api)
    classes = views.controller_classes(names)
    routes = [f'{cls}.route("{path}", name="{route}")' for cls, path, route in classes]
    if api:
        routes.append(f'*{names.cls}Api.crud("/api/{names.plural}")')
    add_routes(plan, f"from {module} import {', '.join(c for c, _, _ in classes)}"
                     + (f", {names.cls}Api" if api else ""), routes)
    enable_plugins(plan, "templates", "orm", "sessions", *(["rest"] if api else []))
    plan.messages.append(f"Next: rum migrate run, then pytest tests/test_{names.plural}.py; "
                         f"the pages are at /{names.plural}")
    return plan


def controller(root: Path, name: str, actions: list[str]) -> Plan:
    """``rum generate controller Pages home about``: one controller per action (``GET``),
    a template each, and their routes."""
    names = Names(name)
    names.plural = names.singular  # Pages → /pages, templates/pages/
    actions = actions or ["index"]
    for action in actions:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", action):
            raise RumError(f"action {action!r} must be a lower-case identifier, e.g. index")
    plan = Plan(root)
    module = f"{names.plural}_controller"
    source, classes = views.simple_controller_source(names, actions)
    plan.files[root / f"{module}.py"] = source
    layout = (root / "templates" / "layout.html").exists()
    for action in actions:
        plan.files[root / "templates" / names.plural / f"{action}.html"] = \
            views.simple_template(names, action, layout=layout)
    routes = [f'{cls}.route("{path}", name="{route}")' for cls, path, route in classes]
    add_routes(plan, f"from {module} import {', '.join(c for c, _, _ in classes)}", routes)
    enable_plugins(plan, "templates")
    return plan


def job(root: Path, name: str) -> Plan:
    """``rum generate job SendDigest``: a ``rum_jobs.Job`` subclass in ``jobs.py``."""
    names = Names(name)
    plan = Plan(root)
    path = root / "jobs.py"
    text = path.read_text(encoding="utf-8") if path.exists() else (
        '"""Background jobs: run by `rum worker` (see docs/jobs.md)."""\n\n'
        "from __future__ import annotations\n\nfrom typing import Any\n\n"
        "from rum_jobs import Job\n")
    if re.search(rf"^class {names.cls}\b", text, re.M):
        raise RumError(f"jobs.py already defines {names.cls}")
    plan.appends[path] = text.rstrip("\n") + "\n\n\n" + views.job_source(names)
    enable_plugins(plan, "orm", "jobs")
    plan.messages.append(f"Enqueue it with `await {names.cls}.enqueue({{...}})`; import jobs "
                         f"from app.py so that `rum worker` knows it; the jobs plugin's "
                         f"tables come with `rum migrate run`")
    return plan

