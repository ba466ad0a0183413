"""Rum sessions: encrypted cookie sessions, ``login``/``logout``, session auth, CSRF, flash
messages.

Every request carries ``request.session`` (a :class:`Session`); see ``docs/auth.md``.
"""

from rum_sessions.auth import SessionAuth
from rum_sessions.csrf import csrf_input, csrf_token
from rum_sessions.flash import FlashMessage, flash, flash_messages, render_flash
from rum_sessions.keys import generate_secret_key, parse_secret_key
from rum_sessions.login import login, logout
from rum_sessions.manager import SessionManager
from rum_sessions.session import Session

__all__ = ["FlashMessage", "Session", "SessionAuth", "SessionManager", "csrf_input",
           "csrf_token", "flash", "flash_messages", "generate_secret_key", "login", "logout",
           "parse_secret_key", "render_flash"]
