"""Hook implementations of the turbo plugin: the script and stream routes, template globals."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from rum import App, ConfigError, NotFound, Request, Response, Route, Setting, hookimpl
from rum_static import StaticFiles
from rum_turbo.broadcasts import TurboStreamsSocket, streams_path, turbo_stream_from
from rum_turbo.detect import accepts_turbo_stream, turbo_frame_id
from rum_turbo.live_reload import (
    live_reload_enabled,
    live_reload_tag,
    template_dirs,
    watch_templates,
)
from rum_turbo.model_broadcasts import broadcast_model_change, dom_id
from rum_turbo.presence import presence_element_id
from rum_turbo.signing import signing_key
from rum_turbo.streams import turbo_frame, turbo_stream

STATIC_DIR = Path(__file__).parent / "static"

#: Turbo Streams reach pages over the websockets plugin's endpoint and broadcasts.
requires = ("websockets",)
#: Its helpers are template globals when the templates plugin is enabled; with the orm
#: plugin, models that declare ``broadcasts`` send their changes (``rum_orm.on_change``).
works_with = ("templates", "orm")


def turbo_version() -> str:
    """The vendored Turbo version (from ``static/VERSION-turbo.txt``)."""
    for line in (STATIC_DIR / "VERSION-turbo.txt").read_text().splitlines():
        if line.startswith("version:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


class TurboScript(StaticFiles):
    """Serves the vendored ``turbo.js`` (ETag, 304, precompressed siblings if any)."""

    def __init__(self) -> None:
        super().__init__(STATIC_DIR, max_age=86_400)

    async def handle(self, request: Request) -> Response:
        """``turbo.js`` with caching headers; 404 naming the fix if it is missing."""
        response = await self.serve(request, "turbo.js")
        if response is None:
            raise NotFound(f"turbo.js is missing from {STATIC_DIR}: run "
                           "`python scripts/vendor_turbo.py`")
        return response


@hookimpl
def rum_config_schema() -> Mapping[str, Mapping[str, Setting]]:
    """``[turbo]``: where the script and the streams WebSocket are served."""
    return {"turbo": {
        "script_path": Setting("/_rum/turbo.js", str, "where Turbo's JavaScript is served"),
        "streams_path": Setting("/_rum/turbo-streams", str,
                                "the WebSocket endpoint <turbo-stream-source> connects to"),
        "live_reload": Setting(None, bool, "open pages refresh when a template changes "
                               "(unset: on in development only)"),
        "refresh_debounce": Setting(0.3, float, "seconds each node gathers a stream's refresh "
                                    "broadcasts into one refresh"),
        "presence_heartbeat": Setting(5.0, float, "seconds between a node's presence "
                                      "heartbeats"),
        "presence_ttl": Setting(15.0, float, "a presence entry not refreshed for this many "
                                "seconds (its node died) is dropped"),
    }}


@hookimpl
def rum_configure(app: App) -> None:
    """Check the ``[turbo]`` paths and that a signing key is available."""
    for key in ("script_path", "streams_path"):
        value = app.config.get_str("turbo", key) or ""
        if not value.startswith("/"):
            raise ConfigError(f"{app.config.describe_file()}: [turbo] {key} must be a path "
                              f"starting with '/', got {value!r}")
    signing_key(app)  # fail early in production without a secret key
    debounce = app.config.get_float("turbo", "refresh_debounce")
    heartbeat = app.config.get_float("turbo", "presence_heartbeat")
    ttl = app.config.get_float("turbo", "presence_ttl")
    if debounce is not None and debounce < 0:
        raise ConfigError(f"{app.config.describe_file()}: [turbo] refresh_debounce must be 0 "
                          f"or more seconds, got {debounce}")
    if heartbeat is not None and ttl is not None and not 0 < heartbeat < ttl:
        raise ConfigError(f"{app.config.describe_file()}: [turbo] presence_ttl ({ttl}) must be "
                          f"longer than presence_heartbeat ({heartbeat}), and both positive "
                          "(e.g. heartbeat 5, ttl 15: a dead node's entries drop out in 15 s)")
    if "orm" in app.extensions:  # the orm plugin configures first (tryfirst)
        from rum_orm import on_change

        on_change(broadcast_model_change)  # once per process; it finds the app per write


@hookimpl
def rum_routes(app: App) -> Iterable[Route]:
    """The ``turbo.js`` route and the Turbo Streams WebSocket route."""
    script = app.config.get_str("turbo", "script_path") or "/_rum/turbo.js"
    return [TurboScript().route(script, name="turbo_script"),
            TurboStreamsSocket.route(streams_path(app), name="turbo_streams")]


def turbo_script_tag(app: App, request: Request | None = None) -> Markup:
    """``<script src="/_rum/turbo.js?v=VERSION">`` for the page ``<head>``; in a request with
    live reload on (development), also the script that refreshes the page when a template
    changes."""
    path = app.config.get_str("turbo", "script_path") or "/_rum/turbo.js"
    tag = Markup(f'<script src="{path}?v={turbo_version()}"></script>')
    if request is not None and live_reload_enabled(app):
        tag += live_reload_tag(request)
    return tag


def turbo_refresh_tags(method: str = "morph", scroll: str = "preserve") -> Markup:
    """The ``<meta>`` tags making Turbo 8 page refreshes morph the page and keep the scroll
    position: ``<meta name="turbo-refresh-method" content="morph">`` and
    ``<meta name="turbo-refresh-scroll" content="preserve">`` (for the layout's ``<head>``)."""
    if method not in ("morph", "replace") or scroll not in ("preserve", "reset"):
        raise ValueError("turbo_refresh_tags(method='morph'|'replace', "
                         f"scroll='preserve'|'reset'), got {method!r}, {scroll!r}")
    return Markup(f'<meta name="turbo-refresh-method" content="{method}">\n'
                  f'<meta name="turbo-refresh-scroll" content="{scroll}">')


def presence_list(stream: str, tag: str = "ul", **attrs: Any) -> Markup:
    """The (empty) element a stream's presence list is rendered into by Turbo Streams:
    ``<ul id="presence_orders" data-turbo-permanent></ul>``; pair it with
    ``turbo_stream_from(stream, presence=True)``. It is ``data-turbo-permanent`` so a page
    refresh (morph) keeps the list the stream filled in."""
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    return Markup(f'<{tag} id="{presence_element_id(stream)}" data-turbo-permanent{extra}>'
                  f"</{tag}>")


@hookimpl
def rum_schedule(app: App) -> list[Any]:
    """With live reload on, the task that refreshes open pages on template changes."""
    dirs = template_dirs(app) if live_reload_enabled(app) else []
    return [functools.partial(watch_templates, app, dirs)] if dirs else []


@hookimpl(optionalhook=True)  # the templates plugin's hook: templates may be disabled
def rum_template_globals(app: App, request: Request | None) -> Mapping[str, Any]:
    """``turbo_frame``, ``turbo_stream``, ``turbo_script_tag``; in a request, its helpers too."""
    names: dict[str, Any] = {
        "turbo_frame": turbo_frame,
        "turbo_stream": turbo_stream,
        "turbo_script_tag": functools.partial(turbo_script_tag, app, request),
        "turbo_refresh_tags": turbo_refresh_tags,
        "dom_id": dom_id,
        "presence_list": presence_list,
    }
    if request is not None:
        names["turbo_stream_from"] = functools.partial(turbo_stream_from, request)
        names["turbo_frame_id"] = turbo_frame_id(request)
        names["turbo_stream_request"] = accepts_turbo_stream(request)
    return names
