"""Hook specs the admin plugin owns: the app decides who may use the admin.

Registered with the app's plugin manager when the admin plugin loads (its ``hookspecs``
attribute). An app implements it in a plugin object of its own; mark the implementation
``@hookimpl(optionalhook=True)`` if the admin may be disabled::

    class AdminAccess:
        @hookimpl(optionalhook=True)
        async def rum_admin_allowed(self, request):
            user = await User.find(request.user).first()
            return bool(user and user.admin)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rum import hookspec

if TYPE_CHECKING:
    from rum import Request


@hookspec(firstresult=True)
async def rum_admin_allowed(request: Request) -> bool | None:
    """The app's ``admin_required`` check: may ``request.user`` (a logged-in user; the hook
    is not asked for anonymous visitors) use the admin pages?

    Return ``True`` to admit, ``False`` to refuse (403), ``None`` to leave the decision to the
    next implementation and then to ``[admin] user_ids``. The first non-``None`` result wins;
    when nobody answers and the user is not in ``user_ids``, the answer is *no*.
    """
