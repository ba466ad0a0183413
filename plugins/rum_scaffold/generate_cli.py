"""``rum generate scaffold|model|controller|job|migration NAME [field:type ...]``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rum.errors import RumError

#: What ``rum generate`` makes. The generators (and the ORM they name tables with) are
#: imported only when one runs: every ``rum`` command, ``rum run`` too, builds this parser.
GENERATORS = ("scaffold", "model", "controller", "job", "migration", "auth")

HELP = """\
field types: str, text, int, float, decimal, bool, date, datetime, uuid, json; add ? for
nullable (subtitle:str?). Examples:
  rum generate scaffold Post title:str body:text published:bool [--api]
  rum generate model Comment post_id:int body:text
  rum generate controller Pages home about
  rum generate job SendDigest
  rum generate migration add_views_to_posts views:int
  rum generate auth           (User, sign-up/log-in/log-out/password-reset pages, tests)"""


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``rum generate``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = HELP
    parser.add_argument("generator", choices=GENERATORS, help="what to generate")
    parser.add_argument("name", nargs="?", default=None,
                        help="a class name (Post) or, for migrations, what it does (auth "
                             "takes none)")
    parser.add_argument("args", nargs="*", metavar="FIELD|ACTION",
                        help="fields as name:type (scaffold, model, migration) or actions "
                             "(controller)")
    parser.add_argument("--api", action="store_true",
                        help="scaffold: JSON routes too (rum_rest ModelController)")
    parser.add_argument("--dir", dest="generate_root", type=Path, default=None, metavar="DIR",
                        help="the project directory (default: the project rum runs in)")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")


def run(args: argparse.Namespace, app: Any) -> int:
    """``rum generate GENERATOR NAME ...``."""
    from rum_scaffold import auth_generator, generators

    root = (args.generate_root or (Path(app.root) if app is not None else Path.cwd())).resolve()
    if not (root / "Rum.toml").exists() and args.generator != "migration":
        raise RumError(f"{root} has no Rum.toml: run `rum generate` in a project made by "
                       f"`rum new app NAME` (or pass --dir)")
    kind = args.generator
    if kind == "auth":
        if args.name is not None or args.args:
            raise RumError("rum generate auth takes no name or fields: it writes the User "
                           "model and the account pages")
        plan = auth_generator.auth(root)
    elif args.name is None:
        raise RumError(f"rum generate {kind} needs a name, e.g. rum generate {kind} "
                       f"{'add_views_to_posts' if kind == 'migration' else 'Post'}")
    elif kind == "scaffold":
        plan = generators.scaffold(root, args.name, args.args, api=args.api)
    elif kind == "model":
        plan = generators.model(root, args.name, args.args)
    elif kind == "controller":
        plan = generators.controller(root, args.name, args.args)
    elif kind == "job":
        if args.args:
            raise RumError("rum generate job takes only a name, e.g. rum generate job "
                           "SendDigest")
        plan = generators.job(root, args.name)
    else:
        plan = generators.migration(root, args.name, args.args)
    for line in plan.write(force=args.force):
        print(line)
    for message in plan.messages:
        print(message)
    return 0
