"""Plugin discovery (the ``rum.plugins`` entry-point group) and async hook calling."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from rum import hookspecs
from rum.config import Config
from rum.errors import PluginError

ENTRY_POINT_GROUP = "rum.plugins"


def installed_plugins() -> dict[str, EntryPoint]:
    """Every installed plugin entry point, by name."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


@dataclass(frozen=True)
class PluginInfo:
    """What ``rum plugins`` shows about one loaded plugin."""

    name: str
    module: str
    distribution: str
    version: str
    hooks: tuple[str, ...]


class Plugins:
    """The app's plugin manager: pluggy plus async hook calls and introspection.

    ``pm`` is the underlying :class:`pluggy.PluginManager`; ``hook`` its hook relay.
    """

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.hook = self.pm.hook
        self._entry_points: dict[str, EntryPoint] = {}

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
        for name in dict.fromkeys(names):
            if name not in installed:
                close = difflib.get_close_matches(name, installed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise PluginError(
                    f"{config.describe_file()}: plugin {name!r} is enabled but not installed"
                    f"{hint} (installed: {', '.join(sorted(installed)) or 'none'}). Install "
                    f"the distribution that provides it, or remove it from [plugins] enabled.")
            try:
                module = installed[name].load()
            except Exception as exc:
                raise PluginError(f"plugin {name!r} ({installed[name].value}) failed to "
                                  f"import: {exc!r}") from exc
            self.register(module, name)
            self._entry_points[name] = installed[name]
        for obj in objects:
            self.register(obj)

    def register(self, plugin: object, name: str | None = None) -> None:
        """Register one plugin object or module; pluggy validates its hook signatures."""
        name = name or getattr(plugin, "name", None) or _default_name(plugin)
        if self.pm.get_plugin(name) is not None or self.pm.is_registered(plugin):
            raise PluginError(f"plugin {name!r} is registered twice")
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

    # -- calling --------------------------------------------------------------------------------

    def impls(self, name: str) -> list[tuple[Any, tuple[str, ...]]]:
        """``(function, argnames)`` of ``name``'s implementations in call order."""
        caller = getattr(self.hook, name)
        return [(impl.function, tuple(impl.argnames)) for impl in reversed(caller.get_hookimpls())]

    async def acall_each(self, name: str, *, reverse: bool = False, **kwargs: Any) -> list[Any]:
        """Await every implementation of async hook ``name``; return their results."""
        results = []
        impls = self.impls(name)
        for fn, argnames in reversed(impls) if reverse else impls:
            result = fn(*[kwargs[a] for a in argnames])
            if inspect.isawaitable(result):
                result = await result
            results.append(result)
        return results

    async def acall_first(self, name: str, **kwargs: Any) -> Any:
        """Await implementations of ``name`` in order; return the first non-``None`` result."""
        for fn, argnames in self.impls(name):
            result = fn(*[kwargs[a] for a in argnames])
            if inspect.isawaitable(result):
                result = await result
            if result is not None:
                return result
        return None

    def call_merged(self, name: str, **kwargs: Any) -> dict[str, Any]:
        """Call sync hook ``name`` and merge the mappings it returns (later plugins win)."""
        merged: dict[str, Any] = {}
        for result in reversed(getattr(self.hook, name)(**kwargs)):
            if result:
                merged.update(result)
        return merged

    def call_list(self, name: str, **kwargs: Any) -> list[Any]:
        """Call sync hook ``name`` and concatenate the iterables it returns, in call order."""
        out: list[Any] = []
        for result in getattr(self.hook, name)(**kwargs):
            if result:
                out.extend(result)
        return out

    # -- introspection --------------------------------------------------------------------------

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


def _default_name(plugin: object) -> str:
    if inspect.ismodule(plugin):
        return plugin.__name__
    return f"{type(plugin).__module__}.{type(plugin).__qualname__}"
