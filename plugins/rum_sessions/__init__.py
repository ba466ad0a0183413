"""Rum sessions: encrypted cookie sessions, ``login``/``logout``, session auth, CSRF.

Every request carries ``request.session`` (a :class:`Session`); see ``docs/auth.md``.
"""

from rum_sessions.auth import SessionAuth
from rum_sessions.csrf import csrf_input, csrf_token
from rum_sessions.keys import generate_secret_key, parse_secret_key
from rum_sessions.login import login, logout
from rum_sessions.manager import SessionManager
from rum_sessions.session import Session

__all__ = ["Session", "SessionAuth", "SessionManager", "csrf_input", "csrf_token",
           "generate_secret_key", "login", "logout", "parse_secret_key"]
