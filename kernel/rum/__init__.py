"""Rum: a batteries-included web framework on trio, built as a plugin microkernel.

The kernel offers the pieces every plugin and app shares; features (HTTP server, ORM,
templates, sessions, jobs, ...) are plugins enabled in ``Rum.toml``.
"""

from rum.app import App
from rum.auth import AllowAll, Authentication, LazyUser
from rum.config import Config, Setting
from rum.context import current_app, current_request
from rum.controller import Controller
from rum.errors import (
    BadRequest,
    ConfigError,
    Forbidden,
    HTTPError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PluginError,
    RumError,
    TooManyRequests,
    Unauthorized,
    UnprocessableEntity,
    UnsupportedMediaType,
)
from rum.headers import Headers
from rum.hookspecs import HOOKS_VERSION, hookimpl, hookspec
from rum.middleware import Middleware, Outcome
from rum.request import Request
from rum.response import Response
from rum.routing import Route, Router
from rum.services import AppLike, JobBackend, Storage

__version__ = "0.1.0"

__all__ = [
    "HOOKS_VERSION",
    "AllowAll",
    "App",
    "AppLike",
    "Authentication",
    "BadRequest",
    "Config",
    "ConfigError",
    "Controller",
    "Forbidden",
    "HTTPError",
    "Headers",
    "JobBackend",
    "LazyUser",
    "MethodNotAllowed",
    "Middleware",
    "NotFound",
    "Outcome",
    "PayloadTooLarge",
    "PluginError",
    "Request",
    "Response",
    "Route",
    "Router",
    "RumError",
    "Setting",
    "Storage",
    "TooManyRequests",
    "Unauthorized",
    "UnprocessableEntity",
    "UnsupportedMediaType",
    "current_app",
    "current_request",
    "hookimpl",
    "hookspec",
]
