"""Rum auth: stateless authentication handlers, ``BasicAuth`` and ``TokenAuth``.

They need no session, cookie or secret key, so API-only apps can use them without the
sessions plugin. Session authentication (``SessionAuth``) lives with the sessions plugin.
"""

from rum.auth import AllowAll, Authentication
from rum_auth.basic import BasicAuth, parse_basic
from rum_auth.bearer import TokenAuth

__all__ = ["AllowAll", "Authentication", "BasicAuth", "TokenAuth", "parse_basic"]
