"""``rum generate auth``: accounts for an app made by ``rum new app``.

Writes a ``User`` model (unique ``email``, ``password_hash``) and its migration, controllers
for sign-up, log-in (throttled), log-out, an account page and password reset by mailed link,
their ERB views, a mailer with the reset mail's text and HTML templates, and tests that pass
as written. The files come from ``rum_scaffold/templates/auth/`` (copied as they are, without
the ``.tmpl`` suffix); the routes go into ``app.py`` and the plugins and settings they need
into ``Rum.toml``.
"""

from __future__ import annotations

import re
from pathlib import Path

from rum.errors import RumError
from rum_scaffold.generators import Plan, add_migration, add_model, add_routes, enable_plugins
from rum_scaffold.names import Names

SOURCES = Path(__file__).parent / "templates" / "auth"

USER_MODEL = '''class User(Model):
    """An account: ``email`` (stored in lower case) and the Argon2id hash of its password
    (rum generate auth; the table comes from migrations/)."""

    __unique__ = ["email"]

    email: Annotated[str, presence(), length(max=254), uniqueness(case_sensitive=False)]
    password_hash: str
'''
USER_IMPORTS = ("from typing import Annotated",)
#: names the model needs from rum_orm besides Model (merged into its import line)
ORM_NAMES = ("length", "presence", "uniqueness")

CREATE_USERS = """CREATE TABLE users (
    id bigserial PRIMARY KEY,
    email text NOT NULL,
    password_hash text NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
);
"""

#: ``(controller class, path, route name)``
ROUTES = [
    ("SignUpController", "/signup", "signup"),
    ("LogInController", "/login", "login"),
    ("LogOutController", "/logout", "logout"),
    ("AccountController", "/account", "account"),
    ("PasswordResetRequestController", "/password/reset", "password_reset_request"),
    ("PasswordResetController", "/password/reset/<token>", "password_reset"),
]

PLUGINS = ("templates", "orm", "sessions", "forms", "accounts", "jobs", "mail")


def auth(root: Path) -> Plan:
    """The plan of ``rum generate auth`` for the project in ``root``."""
    plan = Plan(root)
    add_model(plan, Names("User"), [], source=USER_MODEL, imports=USER_IMPORTS)
    import_orm_names(plan, plan.root / "models.py")
    add_migration(plan, "create_users", CREATE_USERS, "DROP TABLE users;\n")
    for source in sorted(SOURCES.rglob("*.tmpl")):
        relative = source.relative_to(SOURCES).as_posix()[: -len(".tmpl")]
        plan.files[root / relative] = source.read_text(encoding="utf-8")
    layout = root / "templates" / "layout.html"
    if not layout.exists():
        raise RumError(f"{layout} is missing: the generated pages use it as their layout "
                       "(make the project with `rum new app NAME`)")
    show_flash_messages(plan, layout)
    add_routes(plan, "from auth_controller import " + ", ".join(c for c, _, _ in ROUTES),
               [f'{cls}.route("{path}", name="{name}")' for cls, path, name in ROUTES])
    enable_plugins(plan, *PLUGINS)
    configure(plan)
    plan.messages.append(
        "Next: rum migrate run, then pytest tests/test_auth.py; the pages are /signup, "
        "/login, /account and /password/reset. Reset mail is written to tmp/mail/ in "
        "development; set [mail] smtp_* and base_url for production. Link the pages from "
        "templates/layout.html as you like.")
    return plan


def import_orm_names(plan: Plan, models: Path) -> None:
    """Add :data:`ORM_NAMES` to ``models.py``'s ``from rum_orm import ...`` line."""
    text = plan.appends[models]
    match = re.search(r"^from rum_orm import ([\w, ]+)$", text, re.M)
    if match is None:  # an import written another way: a line of its own
        line = f"from rum_orm import {', '.join(ORM_NAMES)}\n"
        plan.appends[models] = re.sub(r"^class ", line + "\n\nclass ", text, count=1,
                                      flags=re.M)
        return
    names = sorted({*match[1].replace(" ", "").split(","), *ORM_NAMES} - {""},
                   key=lambda n: (not n[0].isupper(), n))
    plan.appends[models] = (text[:match.start()] + "from rum_orm import " + ", ".join(names)
                            + text[match.end():])


def show_flash_messages(plan: Plan, layout: Path) -> None:
    """Print the flash messages ("Welcome!", "You have logged out.") in the layout, right
    before the page (unless the layout shows them already)."""
    text = layout.read_text(encoding="utf-8")
    if "flash_messages" in text or "flashes" in text:
        return
    match = re.search(r"^([ \t]*)<%= *yield *%>", text, re.M)
    if match is None:
        plan.messages.append("Add <%= flash_messages %> to templates/layout.html where the "
                             "notices (\"You have logged out.\") should appear")
        return
    plan.appends[layout] = (text[:match.start()] + match[1] + "<%= flash_messages %>\n"
                            + text[match.start():])


def configure(plan: Plan) -> None:
    """``[sessions] login_url``, ``[mail] default_from``/``base_url`` unless set, and
    ``"mailers"`` in ``[jobs] modules`` (where the reset form's job is defined)."""
    import tomlkit

    path = plan.root / "Rum.toml"
    text = plan.appends.get(path) or (path.read_text(encoding="utf-8") if path.exists()
                                      else None)
    if text is None:
        return
    doc = tomlkit.parse(text)
    name = plan.root.resolve().name
    wanted = {
        "sessions": {"login_url": "/login"},
        "mail": {"default_from": f"{name} <no-reply@example.com>",
                 "base_url": "http://127.0.0.1:8000"},
    }
    added = []
    for section, values in wanted.items():
        table = doc.get(section)
        if table is None:
            table = doc[section] = tomlkit.table()
        for key, value in values.items():
            if key not in table:
                table[key] = value
                added.append(f"[{section}] {key}")
    # the reset form's job (SendPasswordReset, in mailers.py) must be known to every worker
    jobs_table = doc.get("jobs")
    if jobs_table is None:
        jobs_table = doc["jobs"] = tomlkit.table()
    modules = jobs_table.get("modules")
    if modules is None:
        jobs_table["modules"] = ["mailers"]
        added.append('[jobs] modules = ["mailers"]')
    elif "mailers" not in modules:
        modules.append("mailers")
        added.append('"mailers" to [jobs] modules')
    # reset mail goes through the job queue: in development the app runs a worker itself
    development = doc.get("development")
    if development is None:
        development = doc["development"] = tomlkit.table(is_super_table=True)
    jobs = development.get("jobs")
    if jobs is None:
        jobs = development["jobs"] = tomlkit.table()
    if "run_worker_in_app" not in jobs:
        jobs["run_worker_in_app"] = True
        added.append("[development.jobs] run_worker_in_app")
    if added:
        plan.appends[path] = tomlkit.dumps(doc)
        plan.messages.append(f"Set {', '.join(added)} in Rum.toml (change default_from and "
                             "base_url to your own; elsewhere than development, run `rum "
                             "worker` to send the mail)")
