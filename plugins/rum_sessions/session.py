"""The session object every request carries as ``request.session``."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, MutableMapping
from typing import Any


def new_session_id() -> str:
    """A random, URL-safe session id (96 bits)."""
    return secrets.token_urlsafe(12)


class Session(MutableMapping[str, Any]):
    """A browser's session: who is logged in, plus free JSON data.

    Use it like a dict for your own data (``request.session["cart"] = [1, 2]``); values must
    be JSON-serializable and the whole session must fit in a cookie (about 4 KB), so keep
    large things in the database and store their ids here. Assigning or deleting a key marks
    the session as changed, which re-issues the cookie; after changing a nested value in
    place (``session["cart"].append(3)``) set ``session.modified = True``.

    ``user_id`` is ``None`` for anonymous visitors; log users in and out with
    ``await request.login(user_id)`` / ``await request.logout()``.
    """

    __slots__ = ("_csrf", "_data", "_header", "_id", "deleted", "expires_at", "had_cookie",
                 "is_new", "modified", "reissue", "user_id")

    def __init__(self, *, id: str | None = None, user_id: Any = None,
                 data: dict[str, Any] | None = None, csrf: str | None = None,
                 expires_at: float = 0.0, is_new: bool = True, had_cookie: bool = False) -> None:
        self._id = id  # a new session's id is drawn when first read (most are never stored)
        self.user_id = user_id
        self._data: dict[str, Any] = data if data is not None else {}
        self._csrf = csrf
        self.expires_at = expires_at
        #: True when the browser did not send a valid session (a fresh anonymous one).
        self.is_new = is_new
        #: True when the browser sent a session cookie, valid or not.
        self.had_cookie = had_cookie
        #: True when the cookie must be re-issued because the session changed.
        self.modified = False
        #: True when the cookie must be re-issued for another reason (old key, renewal).
        self.reissue = False
        #: True after ``logout()``: the cookie is deleted unless the session changes again.
        self.deleted = False
        self._header: str | None = None  # the Set-Cookie value issued during this request

    @classmethod
    def _make(cls, id: str | None, user_id: Any, data: dict[str, Any], csrf: str | None,
              expires_at: float, is_new: bool, had_cookie: bool) -> Session:
        """What ``Session(...)`` builds, without the keyword-argument call (the plugin makes
        one session per request: a new visitor's, or one read from a cookie)."""
        self = object.__new__(cls)
        self._id = id
        self.user_id = user_id
        self._data = data
        self._csrf = csrf
        self.expires_at = expires_at
        self.is_new = is_new
        self.had_cookie = had_cookie
        self.modified = self.reissue = self.deleted = False
        self._header = None
        return self

    # -- identity -------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The session's random id (96 bits, URL-safe), drawn when first read.

        A new visitor's session is stored (its cookie sent) only once it is used, so the id of
        a session nobody writes to lasts one request.
        """
        if self._id is None:
            self._id = new_session_id()
        return self._id

    @property
    def is_anonymous(self) -> bool:
        """True when nobody is logged in."""
        return self.user_id is None

    @property
    def is_authenticated(self) -> bool:
        """True when a user is logged in."""
        return self.user_id is not None

    # -- the data mapping -----------------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value
        self.modified = True

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self.modified = True

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def get(self, key: str, default: Any = None) -> Any:
        """``session[key]``, or ``default`` when absent."""
        return self._data.get(key, default)

    @property
    def data(self) -> dict[str, Any]:
        """The session's own data, as a plain dict (read-only by convention)."""
        return self._data

    def __repr__(self) -> str:
        who = f"user={self.user_id!r}" if self.user_id is not None else "anonymous"
        return f"<Session {self.id} {who} keys={sorted(self._data)}>"
