"""The authentication handler interface controllers use through :meth:`Controller.auth`
(and :class:`LazyUser`, defined beside ``Request.user``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rum.request import LazyUser

if TYPE_CHECKING:
    from rum.request import Request
    from rum.response import Response

__all__ = ["AllowAll", "Authentication", "LazyUser"]


class Authentication:
    """Decides whether a request may reach a controller.

    Subclass it and implement :meth:`authorize`; override :meth:`denied` to answer refused
    requests with something other than ``403 Forbidden`` (a redirect, a challenge).
    """

    async def authorize(self, request: Request) -> bool:
        """Return True to let ``request`` through, False to deny it."""
        return True

    async def denied(self, request: Request) -> Response:
        """The response sent when :meth:`authorize` returns False (default: 403)."""
        from rum.errors import Forbidden

        raise Forbidden("you are not allowed to see this page")


class AllowAll(Authentication):
    """Lets every request through (the default for controllers)."""
