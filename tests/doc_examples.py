"""Running a guide's Python examples from a test: each block compiled with top-level ``await``
allowed, run in the caller's namespace, and awaited; tracebacks point at the guide's lines.

Tests are not packages: suites import this module by bare name (``from doc_examples import
run_example``); pytest puts this directory on ``sys.path`` because it holds the root
``conftest.py``.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any


async def run_example(guide: Path, line: int, code: str, namespace: dict[str, Any], *,
                      dont_inherit: bool = False) -> None:
    """Run ``code``, the block starting at ``line`` of ``guide``, in ``namespace``.

    ``dont_inherit=True`` compiles it without this module's ``__future__`` imports (so
    annotations are evaluated as the reader's own module would, without ``annotations``).
    """
    padded = "\n" * (line - 1) + code
    compiled = compile(padded, str(guide), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
                       dont_inherit=dont_inherit)
    result = eval(compiled, namespace)
    if inspect.iscoroutine(result):
        await result
