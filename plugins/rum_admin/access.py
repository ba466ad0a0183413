"""The admin's access gate: logged-in users the app's ``rum_admin_allowed`` hook (or
``[admin] user_ids``) admits; anonymous visitors go to ``[sessions] login_url``; others 403.

Every admin page is guarded by :class:`AdminAuth` (``AdminController.auth`` returns it), so a
controller of another module gets the same gate by subclassing ``AdminController``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rum import Authentication, Forbidden, Response
from rum.errorpage import wants_problem_json

if TYPE_CHECKING:
    from rum import AppLike, Request


async def admin_allowed(request: Request) -> bool:
    """Whether ``request`` may use the admin: its user is logged in, and the first
    ``rum_admin_allowed`` hook that answers says yes, or (no hook answers) the user id is in
    ``[admin] user_ids``. Default: no."""
    user = request.user
    if user is None:
        return False
    app = request.app
    assert app is not None
    answer = await app.plugins.acall_first("rum_admin_allowed", request=request)
    if answer is not None:
        return bool(answer)
    state = app.extensions.get("admin")
    user_ids: frozenset[str] = getattr(state, "user_ids", frozenset())
    return str(user) in user_ids


def login_url(app: AppLike) -> str | None:
    """The sessions plugin's ``[sessions] login_url`` (``None`` when unset)."""
    manager = app.extensions.get("sessions")
    url = getattr(manager, "login_url", None)
    return url if isinstance(url, str) and url else None


class AdminAuth(Authentication):
    """The gate of every admin page (see :func:`admin_allowed`).

    Refused anonymous browsers are redirected (302) to ``[sessions] login_url`` when it is
    set; logged-in users who are not admins, and API clients, get ``403 Forbidden``.
    """

    async def authorize(self, request: Request) -> bool:
        """True when :func:`admin_allowed` admits the request."""
        return await admin_allowed(request)

    async def denied(self, request: Request) -> Response:
        """Redirect anonymous browsers to the log-in page; refuse everyone else (403)."""
        app = request.app
        assert app is not None
        if request.user is None:
            url = login_url(app)
            if url is not None and not wants_problem_json(request):
                return Response.redirect(url, 302)
            raise Forbidden("the admin pages need a logged-in administrator: log in first")
        raise Forbidden("the admin pages are only for administrators; this account is not "
                        "one (the app's rum_admin_allowed hook or [admin] user_ids decide)")

    def __repr__(self) -> str:
        return "<AdminAuth>"
