"""Hook implementations of the static plugin: ``[static]`` mounts answered before routing."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping
from typing import Any

from rum import App, ConfigError, Request, Response, Setting, hookimpl
from rum_static.files import StaticFiles

logger = logging.getLogger("rum.static")
_METHODS = ("GET", "HEAD")


@hookimpl
def rum_config_schema() -> Mapping[str, Mapping[str, Setting]]:
    """``[static]``: the default mount, more mounts, caching and compression."""
    return {"static": {
        "root": Setting("static", str, "directory served, relative to the project root"),
        "prefix": Setting("/static", str, "URL prefix the directory is served under"),
        "mounts": Setting([], list, "more directories: [{prefix = \"/media\", root = "
                          "\"uploads\"}, ...]; each may override the keys below"),
        "index_files": Setting([], list, "names served for a directory, e.g. "
                               "[\"index.html\"] (none by default)"),
        "max_age": Setting(3600, int, "Cache-Control max-age (seconds) for ordinary files; "
                           "0 sends no-cache"),
        "immutable_max_age": Setting(31_536_000, int, "max-age for fingerprinted names "
                                     "(app.3f2a9c1b.css), sent with immutable"),
        "precompressed": Setting(True, bool, "serve file.br / file.gz siblings to clients "
                                 "that accept them"),
        "chunk_size": Setting(256 * 1024, int, "bytes per chunk when streaming large files"),
        "allow_hidden": Setting(False, bool, "serve names starting with a dot"),
        "cache_seconds": Setting(None, float, "remember file metadata (and bodies of small "
                                 "files) this long; default 0 in development, 2 otherwise"),
    }}


def _mount(app: App, spec: Mapping[str, Any], defaults: Mapping[str, Any],
           where: str) -> StaticFiles | None:
    prefix = str(spec.get("prefix", defaults["prefix"]))
    root_name = str(spec.get("root", defaults["root"]))
    if not prefix.startswith("/"):
        raise ConfigError(f"{where}: prefix {prefix!r} must start with '/' "
                          f"(e.g. \"/{prefix.strip('/')}\")")
    unknown = set(spec) - set(defaults)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} in a static "
                          f"mount (known: {', '.join(sorted(defaults))})")
    root = (app.root / root_name).resolve()
    if not root.is_dir():
        if "root" in spec:
            raise ConfigError(f"{where}: static root {str(root)!r} is not a directory; create "
                              "it or fix the root setting")
        logger.debug("static: %s does not exist, nothing served under %s", root, prefix)
        return None
    opts = {k: spec.get(k, defaults[k]) for k in ("index_files", "max_age", "immutable_max_age",
                                                  "precompressed", "chunk_size", "allow_hidden",
                                                  "cache_seconds")}
    if opts["cache_seconds"] is None:
        opts["cache_seconds"] = 0.0 if app.config.is_development else 2.0
    opts["cache_seconds"] = float(opts["cache_seconds"])
    return StaticFiles(root, prefix=prefix, **opts)


@hookimpl
def rum_configure(app: App) -> None:
    """Check the mounts and keep them in ``app.extensions["static"]``, longest prefix first."""
    defaults = app.config.section("static")
    where = app.config.describe_file()
    explicit = {k: v for (s, k), v in app.config.sources.items() if s == "static"}
    first = {"root": defaults["root"], "prefix": defaults["prefix"]} if "root" in explicit \
        else {"prefix": defaults["prefix"]}
    specs: list[tuple[Mapping[str, Any], str]] = [(first, f"{where} [static]")]
    for i, spec in enumerate(defaults.pop("mounts") or []):
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{where}: [static] mounts[{i}] must be a table like "
                              "{prefix = \"/media\", root = \"uploads\"}")
        specs.append((spec, f"{where} [static] mounts[{i}]"))
    mounts = [m for spec, w in specs if (m := _mount(app, spec, defaults, w)) is not None]
    # Longest prefix first, so /static/vendor wins over /static.
    mounts.sort(key=lambda m: len(m.prefix), reverse=True)
    app.extensions["static"] = mounts
    # every mount's prefix, for one str.startswith per request (most are under none)
    app.extensions["static.prefixes"] = tuple(m.prefix for m in mounts)


@hookimpl
def rum_request(request: Request) -> Awaitable[Response | None] | None:
    """Answer requests under a mount's prefix; everything else passes on untouched.

    A plain function: a request under a mount gets the coroutine that serves it, which the
    kernel awaits; any other request costs no coroutine (see ``Plugins.bind``).
    """
    path = request.path
    extensions = request.app.extensions  # type: ignore[union-attr]
    if not path.startswith(extensions.get("static.prefixes", ())):  # under no mount: hot path
        return None
    return _serve(request, path, extensions["static"])


async def _serve(request: Request, path: str, mounts: list[StaticFiles]) -> Response | None:
    for mount in mounts:
        prefix = mount.prefix
        if not path.startswith(prefix) or (len(path) > len(prefix) and
                                           path[len(prefix)] != "/" and prefix):
            continue
        if request.method not in _METHODS:
            return None
        rel = path[len(prefix):]
        response = await mount.serve(request, rel)
        if response is not None:
            return response
        if _refused(rel, mount):
            return Response.not_found()
        return None
    return None


def _refused(rel: str, mount: StaticFiles) -> bool:
    from rum_static.safepath import split_url_path

    return split_url_path(rel, allow_hidden=mount.allow_hidden) is None or "\x00" in rel
