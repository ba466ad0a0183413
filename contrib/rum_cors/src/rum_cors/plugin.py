"""Hook implementations of rum-cors: answer preflights, add CORS headers to responses.

Uses only Rum's public plugin API: ``rum_config_schema`` declares ``[cors]``,
``rum_configure`` builds the app's :class:`~rum_cors.policy.CorsPolicy` in
``app.extensions["cors"]``, ``rum_request`` answers preflights before routing and
``rum_response`` decorates every other response.
"""

from __future__ import annotations

from typing import Any

from rum import App, Request, Response, Setting, hookimpl
from rum.config import Config
from rum.errors import ConfigError
from rum_cors.policy import CorsPolicy

name = "cors"
_DEFAULTS = CorsPolicy()


@hookimpl
def rum_config_schema() -> dict[str, dict[str, Any]]:
    """The ``[cors]`` table."""
    return {"cors": {
        "allow_origins": Setting([], list, 'origins allowed to read responses ("*": any)'),
        "allow_methods": Setting(list(_DEFAULTS.allow_methods), list,
                                 "methods a preflight may ask for"),
        "allow_headers": Setting(list(_DEFAULTS.allow_headers), list,
                                 'request headers a preflight may ask for ("*": any)'),
        "expose_headers": Setting([], list, "response headers scripts may read"),
        "allow_credentials": Setting(False, bool, "allow cookies and HTTP auth"),
        "max_age": Setting(600, int, "seconds a browser may cache a preflight answer"),
        "paths": Setting(["/"], list, "path prefixes CORS applies to"),
    }}


@hookimpl
def rum_configure(config: Config, app: App) -> None:
    """Build the app's policy from ``[cors]``."""
    values = {key: config.get("cors", key) for key in rum_config_schema()["cors"]}
    for key in ("allow_origins", "allow_methods", "allow_headers", "expose_headers", "paths"):
        bad = [v for v in values[key] if not isinstance(v, str)]
        if bad:
            where = config.sources.get(("cors", key), "config")
            raise ConfigError(f"{where}: [cors] {key} must be a list of strings, got {bad!r}")
    for origin in values["allow_origins"]:
        if origin != "*" and "://" not in origin:
            where = config.sources.get(("cors", "allow_origins"), "config")
            raise ConfigError(f"{where}: [cors] allow_origins entry {origin!r} is not an origin;"
                              f" write it as scheme://host[:port], e.g. 'https://{origin}'")
    try:
        app.extensions["cors"] = CorsPolicy(**values)
    except ValueError as exc:
        where = config.sources.get(("cors", "allow_credentials"), "config")
        raise ConfigError(f"{where}: [cors] {exc}") from None


def _policy(request: Request) -> CorsPolicy | None:
    app = request.app
    assert app is not None
    policy: CorsPolicy = app.extensions["cors"]
    return policy if policy.applies_to(request.path) else None


@hookimpl
async def rum_request(request: Request) -> Response | None:
    """Answer a CORS preflight (``OPTIONS`` with ``Access-Control-Request-Method``)."""
    if request.method != "OPTIONS":
        return None
    origin = request.headers.get("origin")
    wanted = request.headers.get("access-control-request-method")
    if not origin or not wanted:
        return None
    policy = _policy(request)
    if policy is None:
        return None
    if not policy.origin_allowed(origin):
        return Response.text(f"CORS preflight refused: origin {origin} is not in [cors] "
                             "allow_origins", 403)
    if wanted.upper() not in policy.allow_methods:
        return Response.text(f"CORS preflight refused: method {wanted} is not in [cors] "
                             "allow_methods", 403)
    asked = [h.strip().lower() for h in
             (request.headers.get("access-control-request-headers") or "").split(",")]
    refused = policy.refused_headers(asked)
    if refused:
        return Response.text(f"CORS preflight refused: header(s) {', '.join(refused)} not in "
                             "[cors] allow_headers", 403)
    response = Response.empty(204)
    headers = response.headers
    headers["access-control-allow-origin"] = policy.allow_origin_value(origin)
    headers["access-control-allow-methods"] = ", ".join(policy.allow_methods)
    allowed_headers = [h for h in asked if h] if policy.any_header else policy.allow_headers
    if allowed_headers:
        headers["access-control-allow-headers"] = ", ".join(allowed_headers)
    headers["access-control-max-age"] = str(policy.max_age)
    if policy.allow_credentials:
        headers["access-control-allow-credentials"] = "true"
    headers["vary"] = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
    request.state.cors_preflight = True
    return response


@hookimpl
async def rum_response(request: Request, response: Response) -> None:
    """Add ``Access-Control-Allow-Origin`` (and friends) for allowed origins."""
    origin = request.headers.get("origin")
    if not origin or getattr(request.state, "cors_preflight", False):
        return
    policy = _policy(request)
    if policy is None:
        return
    vary = response.headers.get("vary")
    if vary != "*" and "origin" not in (vary or "").lower():
        response.headers["vary"] = f"{vary}, Origin" if vary else "Origin"
    if not policy.origin_allowed(origin):
        return
    response.headers["access-control-allow-origin"] = policy.allow_origin_value(origin)
    if policy.allow_credentials:
        response.headers["access-control-allow-credentials"] = "true"
    if policy.expose_headers:
        response.headers["access-control-expose-headers"] = ", ".join(policy.expose_headers)
