"""``SessionAuth``: let logged-in sessions through, redirect or refuse everyone else."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rum.auth import Authentication
from rum.errorpage import wants_problem_json
from rum.errors import Forbidden, RumError
from rum.response import Response

if TYPE_CHECKING:
    from rum.request import Request


class SessionAuth(Authentication):
    """Allows requests whose session has a logged-in user (see ``request.login``).

    ``SessionAuth()`` answers anonymous visitors with ``403 Forbidden``;
    ``SessionAuth.redirect("/login")`` sends browsers to the login page instead (API clients
    asking for JSON, and API routes, still get the 403 as problem JSON, not a redirect).
    Registered as the handler ``"session"`` (which redirects to ``[sessions] login_url`` when
    that is set).
    """

    def __init__(self, redirect_to: str | None = None) -> None:
        self.redirect_to = redirect_to

    @classmethod
    def redirect(cls, location: str) -> SessionAuth:
        """A handler that redirects visitors who are not logged in to ``location``."""
        return cls(redirect_to=location)

    async def authorize(self, request: Request) -> bool:
        """True when the session has a logged-in user; raises if sessions are off."""
        session = request.session
        if session is None:
            raise RumError("SessionAuth needs request.session: add \"sessions\" to [plugins] "
                           "enabled in Rum.toml")
        return getattr(session, "user_id", None) is not None

    async def denied(self, request: Request) -> Response:
        """Redirect browsers to the login page; API clients and API routes get a 403."""
        if self.redirect_to is not None and not wants_problem_json(request):
            return Response.redirect(self.redirect_to, 302)
        where = f" at {self.redirect_to}" if self.redirect_to else ""
        raise Forbidden(f"you need to log in{where} to see this page")

    def __repr__(self) -> str:
        target = f" redirect_to={self.redirect_to!r}" if self.redirect_to else ""
        return f"<SessionAuth{target}>"
