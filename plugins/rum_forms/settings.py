"""The ``[forms]`` settings: limits of the multipart parser, spooling, and upload storage."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rum.config import Setting
from rum.errors import ConfigError

if TYPE_CHECKING:
    from rum.config import Config

SECTION = "forms"
KiB = 1024
MiB = 1024 * KiB

SCHEMA: dict[str, Setting] = {
    "max_parts": Setting(1000, int, "most parts (fields and files) in one multipart body; "
                                    "also the most fields of an urlencoded body"),
    "max_fields_size": Setting(1 * MiB, int, "most bytes of all text fields of one body"),
    "max_file_size": Setting(10 * MiB, int, "most bytes of one uploaded file"),
    "max_files_size": Setting(50 * MiB, int, "most bytes of all files of one body"),
    "max_part_header_size": Setting(8 * KiB, int, "most bytes of one part's headers"),
    "spool_threshold": Setting(1 * MiB, int, "bytes of a body's files held in memory; past "
                               "them, files are spooled to disk"),
    "temp_dir": Setting(None, str, "directory of spooled files (default: the system's)"),
    "parse_threads": Setting(2, int, "most bodies parsed at once, each in a worker thread"),
    "upload_root": Setting("uploads", str, "directory of LocalStorage (relative: to the app)"),
    "upload_url": Setting("/uploads", str, "URL prefix LocalStorage.url() puts before keys"),
}


@dataclass(frozen=True)
class FormLimits:
    """What one multipart body may hold, and where its files go while it is parsed."""

    max_parts: int = 1000
    max_fields_size: int = 1 * MiB
    max_file_size: int = 10 * MiB
    max_files_size: int = 50 * MiB
    max_part_header_size: int = 8 * KiB
    spool_threshold: int = 1 * MiB
    temp_dir: str | None = None

    @classmethod
    def from_config(cls, config: Config) -> FormLimits:
        """Limits from ``[forms]``, each checked to be at least 1 (0 for spooling)."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            kind = str if f.name == "temp_dir" else int
            value = config.get_typed(SECTION, f.name, kind)
            if value is not None:
                values[f.name] = value
        limits = cls(**values)
        for f in fields(cls):
            value = getattr(limits, f.name)
            if isinstance(value, int) and value < (0 if f.name == "spool_threshold" else 1):
                raise ConfigError(f"[{SECTION}] {f.name} must be a positive number, got {value}")
        return limits


@dataclass(frozen=True)
class UploadSettings:
    """Where :class:`~rum_forms.LocalStorage` keeps files, and the URL prefix it serves them at."""

    root: Path
    url: str

    @classmethod
    def from_config(cls, config: Config) -> UploadSettings:
        """``[forms] upload_root`` (relative to the app's root) and ``upload_url``."""
        root = Path(config.get_typed(SECTION, "upload_root", str, "uploads"))
        if not root.is_absolute():
            root = Path(config.root) / root
        return cls(root=root, url=config.get_typed(SECTION, "upload_url", str, "/uploads"))


def parse_threads(config: Config) -> int:
    """``[forms] parse_threads``, at least 1."""
    value = config.get_typed(SECTION, "parse_threads", int, 2)
    if value < 1:
        raise ConfigError(f"[{SECTION}] parse_threads must be at least 1, got {value}")
    return int(value)
