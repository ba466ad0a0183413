"""Plugin discovery (the ``rum.plugins`` entry-point group) and async hook calling."""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import CoroutineType, ModuleType
from typing import TYPE_CHECKING, Any, cast

import pluggy

from rum.config import Config, close_match
from rum.errors import PluginError

if TYPE_CHECKING:
    from importlib.metadata import Distribution

ENTRY_POINT_GROUP = "rum.plugins"
#: pluggy's project name: hook specs and implementations are marked with these
PROJECT = "rum"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
trace_log = logging.getLogger("rum.hooks")


def installed_plugins() -> dict[str, EntryPoint]:
    """Every installed plugin entry point, by name."""
    return {ep.name: ep for ep in entry_points(ENTRY_POINT_GROUP)}


class EntryPoint:
    """One ``name = module:attr`` line of ``group`` in a distribution's ``entry_points.txt``
    (``path``: its ``.dist-info`` directory); what :mod:`importlib.metadata` would give."""

    __slots__ = ("group", "name", "path", "value")

    def __init__(self, name: str, value: str, group: str, path: str) -> None:
        self.name, self.value, self.group, self.path = name, value, group, path

    def load(self) -> Any:
        """Import the module and return the named attribute (or the module)."""
        module, _, attrs = self.value.partition("[")[0].partition(":")
        target: Any = importlib.import_module(module.strip())
        for attr in filter(None, attrs.strip().split(".")):
            target = getattr(target, attr)
        return target

    @property
    def dist(self) -> Distribution:
        """The distribution that declares it (imports :mod:`importlib.metadata`)."""
        from importlib.metadata import PathDistribution

        return PathDistribution(Path(self.path))


def entry_points(group: str) -> list[EntryPoint]:
    """The entry points of ``group``, as :func:`importlib.metadata.entry_points` finds them (the
    first distribution of a name on ``sys.path`` wins) but read without importing it or parsing
    every distribution's entry points; zip files, eggs and other finders are left to it."""
    found = _scan(group) if not any(p.lower().endswith(".egg") for p in sys.path) and not any(
        hasattr(f, "find_distributions") and f.__module__ != "_frozen_importlib_external"
        for f in sys.meta_path) else None
    if found is None:
        from importlib import metadata

        found = cast("list[EntryPoint]", list(metadata.entry_points(group=group)))
    return found


def _scan(group: str) -> list[EntryPoint] | None:
    found: list[EntryPoint] = []
    seen: set[str] = set()
    for directory in sys.path:
        try:
            names = os.listdir(directory or ".")
        except NotADirectoryError:
            return None
        except OSError:
            continue
        for name in (n for n in names if n.lower().endswith((".dist-info", ".egg-info"))):
            key = re.sub(r"[-_.]+", "_", name.rpartition(".")[0].partition("-")[0]).lower()
            if key in seen:
                continue
            seen.add(key)
            path = os.path.join(directory or ".", name)
            try:
                with open(os.path.join(path, "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                continue
            section = None
            for line in text.splitlines() if f"[{group}]" in text else ():
                line = line.strip()
                if line.startswith("[") and line.endswith("]"):
                    section = line.strip("[]")
                elif section == group and line and not line.startswith("#"):
                    ep_name, _, value = line.partition("=")
                    found.append(EntryPoint(ep_name.strip(), value.strip(), group, path))
    return found


@dataclass(frozen=True)
class PluginInfo:
    """What ``rum plugins`` shows about one loaded plugin."""

    name: str
    module: str
    distribution: str
    version: str
    hooks: tuple[str, ...]


def awaitable(result: Any) -> bool:
    """Whether a hook implementation's result is to be awaited: an ``async def``
    implementation's coroutine, or any awaitable a plain function returned."""
    return type(result) is CoroutineType or inspect.isawaitable(result)


class _Manager(pluggy.PluginManager):
    """pluggy's manager, telling :class:`Plugins` whenever the implementations may have changed
    (a plugin registered, unregistered or blocked, specs added), so pre-bound lists follow."""

    def __init__(self, project: str, changed: Callable[[], None]) -> None:
        super().__init__(project)
        self._changed = changed

    def register(self, plugin: Any, name: str | None = None) -> str | None:
        try:
            return super().register(plugin, name)
        finally:
            self._changed()

    def unregister(self, plugin: Any = None, name: str | None = None) -> Any:
        try:
            return super().unregister(plugin, name)
        finally:
            self._changed()

    def add_hookspecs(self, module_or_class: Any) -> None:
        try:
            super().add_hookspecs(module_or_class)
        finally:
            self._changed()


class Plugins:
    """The app's plugin manager: pluggy plus async hook calls and introspection.

    ``pm`` is the underlying :class:`pluggy.PluginManager`; ``hook`` its hook relay.
    ``specs`` are the hook-spec modules to start with (the app passes :mod:`rum.hookspecs`);
    plugins add their own when registered.
    """

    def __init__(self, *specs: ModuleType | type) -> None:
        self._listeners: list[Callable[[], None]] = []
        self.pm: pluggy.PluginManager = _Manager(PROJECT, self._changed)
        for module in specs:
            self.pm.add_hookspecs(module)
        self.hook = self.pm.hook
        self._entry_points: dict[str, EntryPoint] = {}
        #: log every hook call with its implementers and duration (``RUM_TRACE_HOOKS=1`` or
        #: ``[general] trace_hooks``)
        self.tracing = os.environ.get("RUM_TRACE_HOOKS", "") not in ("", "0")

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after every change to the registered implementations (a plugin
        registered, unregistered or blocked, or hook specs added, also directly on ``pm``);
        the app re-binds its hot-path hooks (:meth:`bind`) this way."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    # -- loading --------------------------------------------------------------------------------

    def load(self, config: Config, requested: Iterable[str | object] | None = None) -> None:
        """Register the plugins ``config`` and ``requested`` ask for.

        Names come from ``[plugins] enabled`` plus the strings in ``requested``; objects in
        ``requested`` are registered as they are. With neither, every installed plugin loads.
        ``[plugins.NAME] enabled = false`` switches one off.
        """
        installed = installed_plugins()
        requested = list(requested or [])
        names: list[str] = [r for r in requested if isinstance(r, str)]
        objects = [r for r in requested if not isinstance(r, str)]
        configured = config.get_typed("plugins", "enabled", list)
        if configured is not None:
            names = [str(n) for n in configured] + [n for n in names if n not in configured]
        elif not requested:
            names = sorted(installed)
        for name, table in config.data.get("plugins", {}).items():
            if isinstance(table, Mapping) and "enabled" in table:
                if table["enabled"] and name not in names:
                    names.append(name)
                elif not table["enabled"] and name in names:
                    names.remove(name)
        modules: dict[str, object] = {}
        for name in dict.fromkeys(names):
            if name not in installed:
                hint = close_match(name, installed, "; did you mean {!r}?")
                raise PluginError(
                    f"{config.describe_file()}: plugin {name!r} is enabled but not installed"
                    f"{hint} (installed: {', '.join(sorted(installed)) or 'none'}). Install "
                    f"the distribution that provides it, or remove it from [plugins] enabled.")
            try:
                modules[name] = installed[name].load()
            except Exception as exc:
                raise PluginError(f"plugin {name!r} ({installed[name].value}) failed to "
                                  f"import: {exc!r}") from exc
        for name in _requirements_first(modules):
            self.register(modules[name], name)
            self._entry_points[name] = installed[name]
        for obj in objects:
            self.register(obj)
        self.check_requirements(config)
        self.check_hook_names()

    def check_hook_names(self) -> None:
        """Refuse an implementation of a hook no loaded spec declares (a typo, most likely).

        An implementation of another plugin's hook that may be disabled is marked
        ``@hookimpl(optionalhook=True)`` and is then left alone.
        """
        known = [name for name, caller in vars(self.hook).items() if caller.spec is not None]
        for name, caller in vars(self.hook).items():
            if caller.spec is not None:
                continue
            for impl in caller.get_hookimpls():
                if impl.optionalhook:
                    continue
                hint = close_match(name, known, "; did you mean {!r}?")
                raise PluginError(
                    f"plugin {impl.plugin_name!r} implements hook {name!r}, which no enabled "
                    f"plugin declares{hint} (if it is another plugin's hook, enable that plugin "
                    f"or mark the implementation @hookimpl(optionalhook=True))")

    def check_requirements(self, config: Config) -> None:
        """Refuse a plugin whose ``requires`` names a plugin that is not loaded."""
        loaded = {name for name, _ in self.pm.list_name_plugin()}
        for name, plugin in self.pm.list_name_plugin():
            for needed in getattr(plugin, "requires", ()):
                if needed not in loaded:
                    raise PluginError(
                        f"{config.describe_file()}: plugin {name!r} requires plugin "
                        f"{needed!r}, which is not enabled: add \"{needed}\" to [plugins] "
                        f"enabled (or disable {name!r})")

    def register(self, plugin: object, name: str | None = None) -> None:
        """Register one plugin object or module; pluggy validates its hook signatures."""
        name = name or getattr(plugin, "name", None) or _default_name(plugin)
        if self.pm.get_plugin(name) is not None or self.pm.is_registered(plugin):
            raise PluginError(f"plugin {name!r} is registered twice")
        specs = getattr(plugin, "hookspecs", None)
        if specs is not None:
            try:
                self.pm.add_hookspecs(specs)
            except ValueError as exc:
                raise PluginError(f"plugin {name!r} declares hook specs that clash with "
                                  f"ones already declared: {exc}") from exc
        try:
            self.pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin {name!r} does not match Rum's hook specs: {exc}") from exc

    def disabled_sections(self, schema_hook: str = "rum_config_schema") -> frozenset[str]:
        """Config sections owned by installed plugins that are not loaded (tolerated in TOML)."""
        out: set[str] = set()
        loaded = {n for n, _ in self.pm.list_name_plugin()}
        for name, ep in installed_plugins().items():
            if name in loaded:
                continue
            out.add(name)
            try:
                fn = getattr(ep.load(), schema_hook, None)
                if fn is not None:
                    out.update(fn())
            except Exception:  # an uninstallable optional plugin must not break validation
                continue
        return frozenset(out)

    # -- calling: every hook call in Rum goes through these -----------------------------------
    #
    # All of them go through pluggy's hook caller, so call order (last registered first,
    # ``tryfirst``/``trylast``), wrappers and pluggy's own tracing apply to sync and async hooks
    # alike. An async implementation returns an awaitable from pluggy's call; Rum awaits them in
    # call order. A wrapper of an async hook therefore sees (and may replace) the awaitables.

    def call(self, name: str, **kwargs: Any) -> list[Any]:
        """Call hook ``name``: the non-``None`` results of its implementations, in call order.

        For async hooks use :meth:`acall`. A ``firstresult`` spec gives a one-item list (or an
        empty one).
        """
        if not self.tracing:
            return self._results(name, kwargs)
        started = time.perf_counter()
        try:
            return self._results(name, kwargs)
        finally:
            self._trace(name, started)

    def _results(self, name: str, kwargs: dict[str, Any]) -> list[Any]:
        caller = getattr(self.hook, name)
        result = caller(**kwargs)
        if caller.spec is not None and caller.spec.opts.get("firstresult"):
            return [] if result is None else [result]
        return list(result)

    def call_first(self, name: str, **kwargs: Any) -> Any:
        """Call sync hook ``name``; the first non-``None`` result, or ``None``."""
        results = self.call(name, **kwargs)
        return results[0] if results else None

    def call_merged(self, name: str, **kwargs: Any) -> dict[str, Any]:
        """Call sync hook ``name`` and merge the mappings it returns (later plugins win)."""
        merged: dict[str, Any] = {}
        for result in reversed(self.call(name, **kwargs)):
            merged.update(result)
        return merged

    def call_list(self, name: str, **kwargs: Any) -> list[Any]:
        """Call sync hook ``name`` and concatenate the iterables it returns, in call order."""
        return [item for result in self.call(name, **kwargs) for item in result]

    async def acall(self, name: str, *, reverse: bool = False, **kwargs: Any) -> list[Any]:
        """Await every implementation of async hook ``name``; their non-``None`` results.

        ``reverse=True`` awaits them in reverse call order (response and shutdown hooks).
        """
        return cast("list[Any]", await self._await_all(name, kwargs, reverse=reverse,
                                                       first=False))

    async def acall_first(self, name: str, **kwargs: Any) -> Any:
        """Await implementations of async hook ``name`` in call order; the first non-``None``
        result (the rest are not run), or ``None``."""
        return await self._await_all(name, kwargs, reverse=False, first=True)

    def bind(self, name: str, *, reverse: bool = False,
             positional: bool = False) -> list[Callable[..., Any]]:
        """Pre-bound implementations of async hook ``name`` for the request hot path.

        Each item is called with the hook's keyword arguments (with ``positional=True``: its
        arguments by position, in the spec's order, which saves the keyword matching of
        every call) and returns the implementation's
        result: a coroutine from an ``async def`` one, a plain value from a plain function (an
        implementation that never awaits may be one: no coroutine is made for it). The caller
        awaits a result when :func:`awaitable` says so, in order (reverse call order with
        ``reverse=True``), and may stop at the first non-``None`` result or fold results, as
        :meth:`acall` does. The order is pluggy's (``tryfirst``/``trylast`` honoured) and
        tracing times each call. When the hook has a wrapper, the list holds one callable that
        goes through :meth:`acall_first`, so the wrapper runs; wrappers are refused on a folded
        (``reverse``) hook, whose implementations each see the previous one's result. The list
        is a snapshot: bind again after :meth:`on_change` reports a change.
        """
        caller = getattr(self.hook, name)
        impls = caller.get_hookimpls()
        every = tuple(caller.spec.argnames) if caller.spec is not None else None
        if any(impl.wrapper or impl.hookwrapper for impl in impls):
            if reverse:
                raise PluginError(f"hook {name} is folded (each implementation sees the result "
                                  "of the one before), so it takes no wrappers: use tryfirst/"
                                  "trylast instead")

            async def through_pluggy(*args: Any, **kwargs: Any) -> Any:
                named = dict(zip((every or ())[:len(args)], args, strict=True))
                return await self.acall_first(name, **named, **kwargs)

            return [through_pluggy]
        if positional and every is None:
            raise PluginError(f"hook {name} has no spec: its arguments have no order")
        ordered = impls if reverse else list(reversed(impls))
        adapt = _by_position if positional else _by_name
        bound = [adapt(impl.function, tuple(impl.argnames), every) for impl in ordered]
        if self.tracing:
            bound = [self._traced(name, impl, fn)
                     for impl, fn in zip(ordered, bound, strict=True)]
        return bound

    def _traced(self, name: str, impl: Any, fn: Callable[..., Any]) -> Callable[..., Any]:
        def log(started: float) -> None:
            trace_log.info("hook %s [%s] %.3f ms", name, impl.plugin_name,
                           (time.perf_counter() - started) * 1000)

        if not inspect.iscoroutinefunction(impl.function):
            def traced_sync(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return fn(*args, **kwargs)
                finally:
                    log(started)
            return traced_sync

        async def traced(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                log(started)
        return traced

    async def _await_all(self, name: str, kwargs: dict[str, Any], *, reverse: bool,
                         first: bool) -> Any:
        started = time.perf_counter() if self.tracing else 0.0
        pending = self._results(name, kwargs)
        if reverse:
            pending.reverse()
        results: list[Any] = []
        try:
            for index, result in enumerate(pending):
                if awaitable(result):
                    pending[index] = None
                    result = await result
                if result is None:
                    continue
                if first:
                    return result
                results.append(result)
            return None if first else results
        finally:
            for left in pending:  # not awaited (an earlier one answered or raised): close them
                if inspect.iscoroutine(left):
                    left.close()
            if self.tracing:
                self._trace(name, started)

    def _trace(self, name: str, started: float) -> None:
        impls = getattr(self.hook, name).get_hookimpls()
        order = ", ".join(impl.plugin_name for impl in reversed(impls)) or "no implementation"
        trace_log.info("hook %s [%s] %.3f ms", name, order,
                       (time.perf_counter() - started) * 1000)

    # -- introspection --------------------------------------------------------------------------

    def calling_order(self) -> dict[str, list[str]]:
        """Every declared hook and its implementing plugins in the order they are called
        (``[wrapper]``, ``[tryfirst]``, ``[trylast]`` marked)."""
        order = {}
        for name in sorted(vars(self.hook)):
            caller = getattr(self.hook, name)
            if caller.spec is None:
                continue
            order[name] = [impl.plugin_name + "".join(
                f" [{mark}]" for mark in ("wrapper", "hookwrapper", "tryfirst", "trylast")
                if getattr(impl, mark)) for impl in reversed(caller.get_hookimpls())]
        return order

    def describe(self) -> list[PluginInfo]:
        """Each registered plugin: name, module, distribution, version and implemented hooks."""
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(plugin) or []))
            ep = self._entry_points.get(name)
            dist = ep.dist if ep is not None else None
            module = getattr(plugin, "__name__", type(plugin).__module__)
            infos.append(PluginInfo(
                name=name,
                module=module,
                distribution=dist.name if dist is not None else "(passed in code)",
                version=dist.version if dist is not None else "-",
                hooks=hooks,
            ))
        return infos


def _requirements_first(modules: Mapping[str, object]) -> list[str]:
    """``modules``' names in their given order, except that a plugin's ``requires`` and
    ``works_with`` plugins (when present) come before it."""
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in ordered or name in visiting:
            return
        visiting.add(name)
        plugin = modules[name]
        for other in (*getattr(plugin, "requires", ()), *getattr(plugin, "works_with", ())):
            if other in modules:
                visit(other)
        visiting.discard(name)
        ordered.append(name)

    for name in modules:
        visit(name)
    return ordered


def _by_name(fn: Callable[..., Any], argnames: tuple[str, ...],
             every: tuple[str, ...] | None) -> Callable[..., Any]:
    """Adapt an implementation so it can be called with keyword arguments it may not take;
    one that takes all of the spec's arguments (``every``) is returned as it is."""
    if argnames == every:
        return fn

    def call(**kwargs: Any) -> Any:
        return fn(*[kwargs[a] for a in argnames])

    return call


def _by_position(fn: Callable[..., Any], argnames: tuple[str, ...],
                 every: tuple[str, ...] | None) -> Callable[..., Any]:
    """Adapt an implementation so it can be called with the spec's arguments by position;
    one that takes all of them, in the spec's order, is returned as it is."""
    if argnames == every:
        return fn
    where = [(every or ()).index(a) for a in argnames]

    def call(*args: Any) -> Any:
        return fn(*[args[i] for i in where])

    return call


def _default_name(plugin: object) -> str:
    if inspect.ismodule(plugin):
        return plugin.__name__
    return f"{type(plugin).__module__}.{type(plugin).__qualname__}"
