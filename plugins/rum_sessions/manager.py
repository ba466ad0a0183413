"""Per-app session handling: settings, the cookie codec, loading and issuing cookies."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rum.errors import ConfigError, RumError
from rum.response import Response
from rum_sessions.cookie import CACHE_ENTRIES, CACHE_MAX_VALUE, MAX_COOKIE_BYTES, SessionCodec
from rum_sessions.flash import FLASH_KEY
from rum_sessions.keys import HOW_TO_GENERATE, generate_secret_key, parse_secret_key
from rum_sessions.session import Session

if TYPE_CHECKING:
    from rum.config import Config
    from rum.request import Request

logger = logging.getLogger("rum.sessions")

#: Environments where a missing ``secret_key`` is an error rather than a generated key.
STRICT_ENVIRONMENTS = ("production", "staging")
_EXPIRED = "Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"


class SessionManager:
    """Everything the sessions plugin keeps for one app (``app.extensions["sessions"]``).

    ``clock`` returns the current Unix time; tests may replace it to move time forward.
    """

    def __init__(self, *, keys: list[bytes], cookie_name: str = "rum_session",
                 max_age: int = 4 * 24 * 3600, renew_after: int = 3600, secure: bool = True,
                 anonymous: bool = False, csrf: bool = True, csrf_field: str = "csrf_token",
                 login_url: str | None = None, domain: str | None = None,
                 trusted_origins: tuple[str, ...] = (),
                 clock: Callable[[], float] = time.time) -> None:
        self.codec = SessionCodec(keys)
        self.cookie_name = cookie_name
        self.max_age = max_age
        self.renew_after = renew_after
        self.anonymous = anonymous
        self.csrf = csrf
        self.csrf_field = csrf_field
        #: Origins (``scheme://host[:port]``, lower case) trusted by the CSRF origin check.
        self.trusted_origins = frozenset(o.lower().rstrip("/") for o in trusted_origins)
        self.login_url = login_url
        self.clock = clock
        attrs = ["Path=/"]
        if domain:
            attrs.append(f"Domain={domain}")
        if secure:
            attrs.append("Secure")
        attrs += ["HttpOnly", "SameSite=Lax"]
        self._attrs = "; ".join(attrs)
        self._prefix = cookie_name + "="
        #: ``Cookie`` headers that held the session cookie alone (``rum_session=VALUE``) ->
        #: VALUE. A browser repeats its header byte for byte, so one lookup of the header
        #: replaces the strip, prefix test, scan for ``;`` and slice, and the cookie cache
        #: (``SessionCodec``) is then asked with a VALUE whose hash is already known.
        #: Bounded like that cache (cleared when full); only headers up to its value size.
        self._lone_values: dict[str, str] = {}

    @classmethod
    def from_config(cls, config: Config) -> SessionManager:
        """Build the manager from ``[general] secret_key`` and ``[sessions]``."""
        keys = [_current_key(config)]
        for i, old in enumerate(config.get_list("sessions", "old_secret_keys")):
            where = config.sources.get(("sessions", "old_secret_keys"), "config")
            keys.append(parse_secret_key(str(old), f"{where}: [sessions] old_secret_keys[{i}]"))
        max_age = config.get_int("sessions", "max_age")
        assert max_age is not None
        if max_age <= 0:
            raise ConfigError(f"{config.describe_file()}: [sessions] max_age must be a positive "
                              f"number of seconds, got {max_age}")
        renew_after = config.get_int("sessions", "renew_after")
        if renew_after is None:
            renew_after = min(3600, max_age // 4)
        if not 0 <= renew_after < max_age:
            raise ConfigError(f"{config.describe_file()}: [sessions] renew_after must be between "
                              f"0 and max_age ({max_age}) seconds, got {renew_after}")
        secure = config.get("sessions", "secure")
        if secure is None:
            secure = not config.is_development
        name = config.get_str("sessions", "cookie_name") or "rum_session"
        if not name or any(c in name for c in " ;,=\t\r\n\"") or not name.isascii():
            raise ConfigError(f"{config.describe_file()}: [sessions] cookie_name {name!r} is not "
                              "a valid cookie name; use letters, digits, '-' and '_'")
        return cls(keys=keys, cookie_name=name, max_age=max_age, renew_after=renew_after,
                   secure=bool(secure), anonymous=config.get_bool("sessions", "anonymous", False),
                   csrf=config.get_bool("sessions", "csrf", True),
                   csrf_field=config.get_str("sessions", "csrf_field") or "csrf_token",
                   login_url=config.get_str("sessions", "login_url"),
                   domain=config.get_str("sessions", "domain"),
                   trusted_origins=tuple(str(o) for o in
                                         config.get_list("sessions", "trusted_origins")))

    # -- per request ----------------------------------------------------------------------------

    def load(self, request: Request) -> Session:
        """The session in the request's cookie, or a fresh anonymous one."""
        header = request.headers.get("cookie")
        if header is None:  # a new visitor: no cookie at all (the hot path)
            return Session._make(None, None, {}, None, self.clock() + self.max_age, True, False)
        # A lone session cookie (``Cookie: rum_session=...``) is read without parsing the
        # header into ``request.cookies``; anything else (other cookies, a quoted value)
        # goes through it. Both give the same value: the first cookie of that name.
        raw = self._lone_values.get(header)
        if raw is None:
            part = header.strip()
            if part.startswith(self._prefix) and ";" not in part and part[-1:] != '"':
                raw = part[len(self._prefix):]
                if len(header) <= CACHE_MAX_VALUE:
                    lone = self._lone_values
                    if len(lone) >= CACHE_ENTRIES:
                        lone.clear()
                    lone[header] = raw
            else:
                raw = request.cookies.get(self.cookie_name)
        if raw:
            session = self.codec.decode(raw, self.clock())
            if session is not None:
                return session
        return self.new_session(had_cookie=raw is not None)

    def new_session(self, *, had_cookie: bool = False, **fields: Any) -> Session:
        """A new session that expires ``max_age`` seconds from now."""
        return Session(expires_at=self.clock() + self.max_age, had_cookie=had_cookie, **fields)

    def save(self, session: Session, response: Response, *, new_cookie: bool = True) -> None:
        """Put the session's ``Set-Cookie`` on ``response`` if it changed or is due for renewal.

        A new session is stored lazily, as in Rails and Django: it gets a cookie once it is
        used (data written, a CSRF token rendered, a login). A new, unchanged one gets a cookie
        only with ``[sessions] anonymous = true`` and ``new_cookie`` (false for API routes and
        token-authenticated requests); otherwise the response carries no ``Set-Cookie`` and
        stays cacheable, except that a cookie the browser sent but that could not be read
        (tampered, expired, another key) is deleted. Called for every response; the common
        cases (an unchanged or unused session) do no crypto.
        """
        if session.is_new and not session.modified and not self.anonymous:
            if session.had_cookie and session._header is None:  # an unreadable cookie: drop it
                session._header = f"{self.cookie_name}=; {_EXPIRED}; {self._attrs}"
            else:
                return
        now = self.clock()
        if session.is_new:
            due = self.anonymous and new_cookie
        else:  # renewal of a session the browser sent
            due = (session.expires_at - now < self.max_age - self.renew_after
                   and not session.deleted)
        if session.modified or session.reissue or due:
            session.expires_at = now + self.max_age
            session._header = self.cookie_header(session, now)
            session.modified = session.reissue = session.is_new = session.deleted = False
        elif session.deleted and session._header is None:
            session._header = f"{self.cookie_name}=; {_EXPIRED}; {self._attrs}"
        header = session._header
        if header is None:
            return
        existing = response.headers.getall("set-cookie")
        if header in existing:
            return
        if any(h.startswith(self._prefix) for h in existing):
            kept = [(k, v) for k, v in response.headers.raw()
                    if not (k == "set-cookie" and v.startswith(self._prefix))]
            response.headers.raw()[:] = kept
        response.headers.add("set-cookie", header)

    def cookie_header(self, session: Session, now: float | None = None) -> str:
        """The ``Set-Cookie`` value carrying ``session``; ``Max-Age`` counts from ``now``.

        A session issued at ``now`` gets exactly ``max_age`` (reading the clock a second
        time would round 345600 down to 345599).
        """
        value = self.codec.encode(session)
        if now is None:
            now = self.clock()
        max_age = max(0, round(session.expires_at - now))
        header = f"{self.cookie_name}={value}; Max-Age={max_age}; {self._attrs}"
        if len(header) > MAX_COOKIE_BYTES:
            raise RumError(f"the session cookie is {len(header)} bytes, over the "
                           f"{MAX_COOKIE_BYTES}-byte limit browsers accept (keys: "
                           f"{', '.join(sorted(session.data)) or 'none'}); keep large data in "
                           "the database and store only its id in request.session")
        return header

    # -- login / logout -------------------------------------------------------------------------

    def login(self, request: Request, user_id: Any, response: Response | None) -> Response:
        """Start a logged-in session for ``user_id`` and put its cookie on ``response``.

        The session gets a new id and a new CSRF secret (no session fixation); data of an
        anonymous session is kept (a cart survives logging in), data of another user's is not.
        """
        old: Session | None = request.session
        keep = old is not None and (old.user_id is None or old.user_id == user_id)
        session = self.new_session(user_id=user_id,
                                   data=dict(old.data) if keep and old is not None else {},
                                   had_cookie=old.had_cookie if old is not None else False)
        session.modified = True
        return self._switch(request, session, response)

    def logout(self, request: Request, response: Response | None) -> Response:
        """Replace the session with an empty anonymous one and delete the cookie (flash
        messages waiting for the next page are kept: "You are logged out" survives)."""
        old: Session | None = request.session
        session = self.new_session(had_cookie=old.had_cookie if old is not None else False)
        session.is_new = False
        session.deleted = True
        if old is not None and FLASH_KEY in old:
            session[FLASH_KEY] = old[FLASH_KEY]  # marks it changed: a cookie, not a deletion
        return self._switch(request, session, response)

    def _switch(self, request: Request, session: Session, response: Response | None) -> Response:
        """Make ``session`` the request's (its user the request's user) and put its cookie on
        ``response``, or on an empty 200 when there is none."""
        request.session = session
        request.user = session.user_id
        response = response if response is not None else Response.empty(200)
        self.save(session, response)
        return response


def _current_key(config: Config) -> bytes:
    value = config.get_str("general", "secret_key")
    if value:
        where = config.sources.get(("general", "secret_key"), "config")
        return parse_secret_key(value, f"{where}: [general] secret_key")
    if config.env in STRICT_ENVIRONMENTS:
        raise ConfigError(
            f"[general] secret_key is not set in {config.describe_file()}; the sessions plugin "
            f"needs it in {config.env} to encrypt cookies. {HOW_TO_GENERATE[0].upper()}"
            f"{HOW_TO_GENERATE[1:]} and add it under [general] (or set the environment "
            "variable RUM_GENERAL__SECRET_KEY); never commit production keys.")
    logger.warning("[general] secret_key is not set in %s: using a random key, so sessions "
                   "end when the process restarts (and are not shared between workers); %s",
                   config.describe_file(), HOW_TO_GENERATE)
    return bytes.fromhex(generate_secret_key())
