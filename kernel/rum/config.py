"""``Rum.toml``: loading, environment overlays, environment variables and typed access.

Sources, later ones winning:

1. ``Rum.toml`` in the project root;
2. the table named after the environment inside it (``[production.general]``) and the file
   ``Rum.<env>.toml`` beside it; the environment is ``RUM_ENV``, else ``[general] env``, else
   ``development``;
3. environment variables ``RUM_<SECTION>__<KEY>`` (``RUM_GENERAL__LOG_QUERIES=true``);
4. values passed in code (``App(config={...})``).

Plugins declare their settings through the ``rum_config_schema`` hook; :meth:`Config.validate`
then refuses unknown keys and wrong types with a message naming the key, the file and a fix.
"""

from __future__ import annotations

import builtins
import logging
import os
import tomllib
import warnings
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from rum.errors import ConfigError

ENVIRONMENTS = ("development", "test", "staging", "production")
ENV_PREFIX = "RUM_"
logger = logging.getLogger("rum.config")

_TYPE_NAMES: dict[type, str] = {
    bool: "a boolean (true or false)",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "a table",
}


@dataclass(frozen=True)
class Setting:
    """One declared setting: its default, its type and a line of documentation.

    ``type`` defaults to the default value's type; ``choices`` restricts strings.
    ``moved_to`` (``"section.key"``) marks a setting that was renamed: a value found under the
    old name still works for one release, with a deprecation warning naming the new key.
    """

    default: Any = None
    type: type | None = None
    doc: str = ""
    choices: tuple[str, ...] | None = None
    moved_to: str | None = None

    @property
    def kind(self) -> builtins.type | None:
        """The expected Python type (``None``: anything)."""
        if self.type is not None:
            return self.type
        return None if self.default is None else type(self.default)


def close_match(word: str, candidates: Collection[str], hint: str, cutoff: float = 0.6) -> str:
    """``hint`` filled with the candidate closest to ``word`` (``""`` without one); for error
    messages only, so :mod:`difflib` is imported when one is written."""
    import difflib

    close = difflib.get_close_matches(word, candidates, n=1, cutoff=cutoff)
    return hint.format(close[0]) if close else ""


def _as_setting(value: Any) -> Setting:
    return value if isinstance(value, Setting) else Setting(default=value)


def _plain(value: Any) -> Any:
    """tomlkit items to plain Python values."""
    unwrap = getattr(value, "unwrap", None)
    return unwrap() if callable(unwrap) else value


def _merge(into: dict[str, dict[str, Any]], tables: Mapping[str, Any], source: str,
           sources: dict[tuple[str, str], str]) -> None:
    for section, table in tables.items():
        if not isinstance(table, Mapping):
            raise ConfigError(f"{source}: {section} = {table!r} must be a table "
                              f"([{section}] followed by key = value lines)")
        target = into.setdefault(section, {})
        for key, value in table.items():
            target[key] = value
            sources[(section, key)] = source


class Config:
    """The effective configuration of one app.

    Read values with :meth:`get` or a typed getter (:meth:`get_bool`, :meth:`get_int`, ...);
    :meth:`section` returns a whole table with defaults filled in.
    """

    def __init__(self, data: Mapping[str, Mapping[str, Any]] | None = None, *,
                 path: Path | None = None, env: str = "development",
                 root: Path | None = None) -> None:
        self.path = path
        self.env = env
        self.root = root or (path.parent if path else Path.cwd())
        self.data: dict[str, dict[str, Any]] = {s: dict(t) for s, t in (data or {}).items()}
        self.sources: dict[tuple[str, str], str] = {
            (s, k): "code" for s, t in self.data.items() for k in t
        }
        self.schema: dict[str, dict[str, Setting]] = {}

    # -- loading --------------------------------------------------------------------------------

    @classmethod
    def load(cls, root: Path | str | None = None, *, env: str | None = None,
             environ: Mapping[str, str] | None = None,
             overrides: Mapping[str, Mapping[str, Any]] | None = None) -> Config:
        """Read ``Rum.toml`` (if any) from ``root`` and apply overlays; see the module doc.

        Without ``root`` the project directory is ``RUM_ROOT``, else the current directory;
        without ``env`` the environment is ``RUM_ENV``, else ``[general] env``, else
        ``development``. (``rum --root DIR --env NAME`` sets both variables for the command.)
        """
        environ = os.environ if environ is None else environ
        root = Path(root or environ.get("RUM_ROOT") or Path.cwd()).resolve()
        path = root / "Rum.toml"
        data: dict[str, dict[str, Any]] = {}
        sources: dict[tuple[str, str], str] = {}
        base = _read_toml(path) if path.exists() else {}
        overlays = {name: base.pop(name) for name in ENVIRONMENTS if name in base}
        _merge(data, base, path.name, sources)
        env = (env or environ.get("RUM_ENV") or data.get("general", {}).get("env")
               or "development")
        if env in overlays:
            _merge(data, overlays[env], f"{path.name} [{env}]", sources)
        env_file = root / f"Rum.{env}.toml"
        if env_file.exists():
            _merge(data, _read_toml(env_file), env_file.name, sources)
        for name, raw in environ.items():
            if not name.startswith(ENV_PREFIX) or "__" not in name:
                continue
            section, _, key = name[len(ENV_PREFIX):].partition("__")
            if section and key:
                section, key = section.lower(), key.lower()
                data.setdefault(section, {})[key] = _EnvValue(raw)
                sources[(section, key)] = f"environment variable {name}"
        if overrides:
            _merge(data, overrides, "code", sources)
        config = cls(path=path if path.exists() else None, env=env, root=root)
        config.data = data
        config.sources = sources
        return config

    # -- validation -----------------------------------------------------------------------------

    def validate(self, schema: Mapping[str, Mapping[str, Any]],
                 ignore_sections: Callable[[], Collection[str]] = frozenset) -> None:
        """Check every key against ``schema``; coerce environment variables to their types.

        Sections that ``ignore_sections()`` names (those of installed but disabled plugins) are
        skipped; it is called only when a section is unknown, since finding them may import
        every installed plugin.
        """
        self.schema = {s: {k: _as_setting(v) for k, v in keys.items()}
                       for s, keys in schema.items()}
        self._move_renamed_settings()
        for section, table in self.data.items():
            known = self.schema.get(section)
            if known is None:
                if section in ignore_sections():
                    continue
                hint = (close_match(section, self.schema, "; did you mean [{}]?") or
                        "; is the plugin that reads it enabled in [plugins]?")
                src = self._first_source(section)
                raise ConfigError(f"{src}: unknown section [{section}]{hint}")
            for key, value in list(table.items()):
                setting = known.get(key)
                if setting is None:
                    if section == "plugins" and isinstance(value, Mapping):
                        continue  # [plugins.NAME] tables, read by the plugin loader
                    hint = close_match(key, known, "; did you mean {!r}?")
                    choices = ", ".join(sorted(known)) or "none"
                    raise ConfigError(f"{self.sources.get((section, key), 'config')}: "
                                      f"unknown key {key!r} in [{section}]{hint} "
                                      f"(known keys: {choices})")
                table[key] = self._check(section, key, value, setting)

    def _move_renamed_settings(self) -> None:
        """Carry values of renamed settings (``Setting.moved_to``) to their new key, warning."""
        for section, keys in self.schema.items():
            table = self.data.get(section, {})
            for key, setting in keys.items():
                if setting.moved_to is None or key not in table:
                    continue
                new_section, _, new_key = setting.moved_to.partition(".")
                where = self.sources.get((section, key), "config")
                message = (f"{where}: [{section}] {key} is deprecated and will be removed in the "
                           f"next release: use [{new_section}] {new_key}")
                warnings.warn(message, DeprecationWarning, stacklevel=4)
                logger.warning("%s", message)
                value = table.pop(key)
                if new_section in self.schema and new_key not in self.data.get(new_section, {}):
                    self.data.setdefault(new_section, {})[new_key] = value
                    self.sources[(new_section, new_key)] = where

    def _first_source(self, section: str) -> str:
        for (s, _), src in self.sources.items():
            if s == section:
                return src
        return "config"

    def _check(self, section: str, key: str, value: Any, setting: Setting) -> Any:
        kind = setting.kind
        where = self.sources.get((section, key), "config")
        if isinstance(value, _EnvValue):
            value = value.coerce(kind, f"{where}: [{section}] {key}")
        value = _plain(value)
        if kind is not None and value is not None and not _is_type(value, kind):
            raise ConfigError(f"{where}: [{section}] {key} must be {_TYPE_NAMES.get(kind, kind)}"
                              f", got {value!r} ({type(value).__name__})")
        if kind is float and isinstance(value, int):
            value = float(value)
        if setting.choices and value not in setting.choices:
            raise ConfigError(f"{where}: [{section}] {key} must be one of "
                              f"{', '.join(map(repr, setting.choices))}, got {value!r}")
        return value

    # -- access ---------------------------------------------------------------------------------

    def get(self, section: str, key: str, default: Any = None) -> Any:
        """The value of ``[section] key``: set, else declared default, else ``default``."""
        table = self.data.get(section)
        if table is not None and key in table:
            value = table[key]
            if isinstance(value, _EnvValue):
                return str(value)
            return _plain(value)
        setting = self.schema.get(section, {}).get(key)
        if setting is not None and setting.default is not None:
            return setting.default
        return default

    def section(self, name: str) -> dict[str, Any]:
        """A copy of table ``[name]`` with declared defaults filled in."""
        out = {k: s.default for k, s in self.schema.get(name, {}).items()}
        for key in self.data.get(name, {}):
            out[key] = self.get(name, key)
        return out

    def get_typed(self, section: str, key: str, kind: type, default: Any = None) -> Any:
        """``[section] key`` as ``kind`` (bool, int, float, str, list or dict), or ``default``.

        Values from environment variables are converted here, so the result is typed even
        before :meth:`validate` has run (the plugin loader reads ``[plugins] enabled`` then).
        A value of the wrong type raises :class:`ConfigError` naming the key and its source.
        """
        raw = self.data.get(section, {}).get(key)
        if isinstance(raw, _EnvValue):
            value = raw.coerce(kind, f"{self.sources[(section, key)]}: [{section}] {key}")
        else:
            value = self.get(section, key, default)
        if value is not None and not _is_type(value, kind):
            where = self.sources.get((section, key), "config")
            raise ConfigError(f"{where}: [{section}] {key} must be {_TYPE_NAMES[kind]}, "
                              f"got {value!r} ({type(value).__name__})")
        return float(value) if kind is float and value is not None else value

    def get_str(self, section: str, key: str, default: str | None = None) -> str | None:
        """A string setting."""
        return cast("str | None", self.get_typed(section, key, str, default))

    def get_bool(self, section: str, key: str, default: bool = False) -> bool:
        """A boolean setting."""
        return bool(self.get_typed(section, key, bool, default))

    def get_int(self, section: str, key: str, default: int | None = None) -> int | None:
        """An integer setting."""
        return cast("int | None", self.get_typed(section, key, int, default))

    def get_float(self, section: str, key: str, default: float | None = None) -> float | None:
        """A number setting (integers accepted)."""
        return cast("float | None", self.get_typed(section, key, float, default))

    def get_list(self, section: str, key: str, default: list[Any] | None = None) -> list[Any]:
        """A list setting."""
        return list(self.get_typed(section, key, list, default or []))

    def get_path(self, section: str, key: str, default: str | None = None) -> Path | None:
        """A path setting, resolved against the project root."""
        value = self.get_str(section, key, default)
        return None if value is None else (self.root / value).resolve()

    @property
    def is_production(self) -> bool:
        """True when the environment is ``production``."""
        return self.env == "production"

    @property
    def is_development(self) -> bool:
        """True when the environment is ``development``."""
        return self.env == "development"

    def describe_file(self) -> str:
        """The config file's name for messages (``Rum.toml`` or "no Rum.toml")."""
        return str(self.path) if self.path else f"{self.root / 'Rum.toml'} (not present)"

    def effective(self) -> dict[str, dict[str, Any]]:
        """Every section with defaults filled in (what ``rum config`` prints)."""
        names = list(self.schema) + [s for s in self.data if s not in self.schema]
        return {name: self.section(name) for name in names}


def _is_type(value: Any, kind: type) -> bool:
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _parse_toml(text: str, where: str) -> dict[str, Any]:
    """``text`` read by the standard library's fast parser; what it refuses is read again by
    tomlkit, whose errors name the line and column (``where:line:col``)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        import tomlkit
        from tomlkit.exceptions import ParseError
    try:
        return cast("dict[str, Any]", _plain(tomlkit.parse(text)))
    except ParseError as exc:
        raise ConfigError(f"{where}:{exc.line}:{exc.col}: not valid TOML: {exc}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    return _parse_toml(text, str(path))


class _EnvValue(str):
    """A string from an environment variable, converted to the declared type on validation."""

    __slots__ = ()

    def coerce(self, kind: type | None, where: str) -> Any:
        raw = str(self)
        if kind is None or kind is str:
            return raw
        if kind is bool:
            low = raw.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off", ""):
                return False
            raise ConfigError(f"{where} must be {_TYPE_NAMES[bool]}, got {raw!r}")
        if kind in (int, float):
            try:
                return kind(raw)
            except ValueError:
                raise ConfigError(f"{where} must be {_TYPE_NAMES[kind]}, got {raw!r}") from None
        if kind is list:
            try:
                return _parse_toml(f"v = {raw}", where)["v"]
            except ConfigError:
                return [part.strip() for part in raw.split(",") if part.strip()]
        return raw
