"""Hook specs the templates plugin owns: other plugins implement them to extend templates.

Registered with the app's plugin manager when the templates plugin loads (its ``hookspecs``
attribute). A plugin that implements one but also works without templates marks it
``@hookimpl(optionalhook=True)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rum import hookspec

if TYPE_CHECKING:
    from rum import App, Request


@hookspec
def rum_template_globals(app: App, request: Request | None) -> Mapping[str, Any]:
    """Return names to expose to every rendered template (merged, later plugins win).

    Called for each render; ``request`` is the request being served, or ``None`` outside a
    request. Keep it cheap and synchronous: it is on the render path.
    """
