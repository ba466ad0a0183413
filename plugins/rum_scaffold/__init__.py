"""Rum's scaffolding tool: ``rum new plugin NAME`` and ``rum new app NAME``.

Registered in the ``rum.tools`` entry-point group, so ``rum new`` works before any project
exists and in every project. See ``docs/plugins.md`` and ``docs/ARCHITECTURE.md``.
"""

from rum_scaffold.scaffold import KINDS, default_directory, generate, placeholders

__all__ = ["KINDS", "default_directory", "generate", "placeholders"]
