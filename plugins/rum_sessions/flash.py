"""Flash messages: a note for the next page the browser shows, kept in the session.

::

    flash(request, "Order created")                     # kind "notice"
    flash(request, "Payment failed", kind="alert")
    return see_other("/orders/1")                       # the next page shows it, once

    flash.now(request, "Showing archived orders")       # only for the page rendered now

A layout prints the messages with ``<%= flash_messages %>`` (``role="status"`` for notices,
``role="alert"`` for alerts and errors). A stored message stays in the session until a page
reads it, then it is gone: it is shown exactly once, even when requests without a page (an
asset, an API call) come in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

from rum import RumError

if TYPE_CHECKING:
    from rum import Request
    from rum_sessions.session import Session

#: The session key that holds the messages waiting for the next page.
FLASH_KEY = "_flash"
#: Kinds announced with ``role="alert"`` (interrupting); the others with ``role="status"``.
ALERT_KINDS = frozenset({"alert", "error", "warning", "danger"})


@dataclass(frozen=True)
class FlashMessage:
    """One message: ``kind`` (``notice``, ``alert``, ... free text) and ``message``."""

    kind: str
    message: str

    @property
    def role(self) -> str:
        """The ARIA role the message is shown with: ``alert`` or ``status``."""
        return "alert" if self.kind in ALERT_KINDS else "status"

    def __str__(self) -> str:
        return self.message


def _session(request: Request) -> Session:
    session = request.session
    if session is None:
        where = request.app.config.describe_file() if request.app is not None else "Rum.toml"
        raise RumError("flash messages live in the session: add \"sessions\" to [plugins] "
                       f"enabled in {where}")
    return session  # type: ignore[no-any-return]


def _check(message: str, kind: str) -> None:
    if not isinstance(message, str) or not isinstance(kind, str) or not kind:
        raise TypeError(f"flash(request, message, kind=...) takes a message and a kind as "
                        f"strings, got {message!r} and {kind!r}")


class Flash:
    """``flash(request, message, kind="notice")`` and ``flash.now(request, message)``."""

    def __call__(self, request: Request, message: str, kind: str = "notice") -> None:
        """Store ``message`` in the session for the next page that shows flash messages."""
        _check(message, kind)
        session = _session(request)
        session[FLASH_KEY] = [*session.get(FLASH_KEY, []), [kind, message]]

    def now(self, request: Request, message: str, kind: str = "notice") -> None:
        """Show ``message`` on the page rendered for this request only (not stored)."""
        _check(message, kind)
        pending = getattr(request.state, "flash_now", None)
        if pending is None:
            pending = request.state.flash_now = []
        pending.append(FlashMessage(kind, message))


#: ``flash(request, "Saved")`` / ``flash.now(request, "Saved")``.
flash = Flash()


def flash_messages(request: Request) -> list[FlashMessage]:
    """The messages for the page being rendered, taken out of the session (so the next page
    does not show them again): the stored ones first, then ``flash.now``'s."""
    out: list[FlashMessage] = []
    session = request.session
    if session is not None and FLASH_KEY in session:
        for item in session[FLASH_KEY]:
            if isinstance(item, list) and len(item) == 2:
                out.append(FlashMessage(str(item[0]), str(item[1])))
        del session[FLASH_KEY]
    out += getattr(request.state, "flash_now", None) or []
    if hasattr(request.state, "flash_now"):
        request.state.flash_now = []
    return out


def render_flash(request: Request) -> str:
    """The messages as HTML (empty when there are none)::

        <div class="flash-messages">
          <p class="flash flash-notice" role="status">Order created</p>
        </div>
    """
    messages = flash_messages(request)
    if not messages:
        return ""
    items = "".join(
        f'<p class="flash flash-{escape(m.kind)}" role="{m.role}">{escape(m.message)}</p>'
        for m in messages)
    return f'<div class="flash-messages">{items}</div>'
