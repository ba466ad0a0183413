"""Accounts: sign up, log in, log out, password reset by mailed link.

Written by ``rum generate auth`` and moved into the tracker package: the controllers import
``tracker.*``, sign-up also asks for a name, and logging in leads to the orders page. Passwords
are hashed with Argon2id by the accounts plugin, in worker threads. Failed log-ins are
throttled per e-mail address and per client address (``[accounts] max_failures_per_account``,
``max_failures_per_client``, ``throttle_window``; counted in this process). Reset links carry
a signed token that expires after ``tracker.jobs.RESET_LINK_SECONDS`` and stops working once
the password changes (docs/accounts.md); the ``SendPasswordReset`` job makes and mails them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rum import Controller, Request, Response
from rum_accounts import (
    LoginThrottled,
    TokenError,
    authenticate,
    hash_password,
    login_throttle,
    read_token,
)
from rum_forms import Form, render_form, see_other
from rum_orm import ValidationError
from rum_ratelimit import RateLimiter
from rum_sessions import flash, login, logout
from tracker.account_forms import LogInForm, NewPasswordForm, ResetRequestForm, SignUpForm
from tracker.jobs import SendPasswordReset
from tracker.models import User

#: Where a visitor lands after signing up or logging in.
AFTER_LOGIN = "/orders"
WRONG_LOGIN = "Wrong e-mail or password."


async def log_in(request: Request, user: User) -> Response:
    """Start ``user``'s session and go to the orders page. The session also keeps the user's
    name, which the orders page's "who is here" list shows (``tracker.plugin``)."""
    if request.session is not None:
        request.session["name"] = user.name  # kept by login(): the session was anonymous
    return await login(request, user.id, see_other(AFTER_LOGIN))


def add_model_errors(form: Form, errors: Mapping[str, list[str]]) -> None:
    """Show a model's validation errors on the form (fields it lacks: on the whole form)."""
    for field, messages in errors.items():
        for message in messages:
            form.add_error(field if field in form.form_fields else None, message)


class SignUp(Controller):
    """``GET /signup``: the form; ``POST /signup``: create the account and log in."""

    async def get(self, request: Request) -> Response:
        return await self.page(SignUpForm())

    async def page(self, form: SignUpForm) -> Response:
        return await render_form(self, "auth/signup.html", form, title="Sign up", user=None)

    async def post(self, request: Request) -> Response:
        form = await SignUpForm.from_request(request)
        if await form.validate():
            user = User(name=form.data["name"], email=form.data["email"].lower(),
                        password_hash="")
            if not await user.validate():  # e.g. the address is taken: say so before hashing
                add_model_errors(form, user.errors)
            else:
                user.password_hash = await hash_password(form.data["password"])
                try:
                    await user.save()
                except ValidationError as exc:  # another sign-up took the address meanwhile
                    add_model_errors(form, exc.errors)
                else:
                    flash(request, f"Welcome, {user.name}! Your account is ready.")
                    return await log_in(request, user)
        return await self.page(form)


class LogIn(Controller):
    """``GET /login``: the form; ``POST /login``: check the password (throttled) and log in."""

    async def get(self, request: Request) -> Response:
        return await self.page(LogInForm())

    async def page(self, form: LogInForm, status: int | None = None) -> Response:
        return await render_form(self, "auth/login.html", form, status=status,
                                 title="Sign in", user=None)

    async def post(self, request: Request) -> Response:
        form = await LogInForm.from_request(request)
        if not await form.validate():
            return await self.page(form)
        email = form.data["email"].lower()
        throttle = login_throttle()
        try:
            await throttle.check(request, email)
        except LoginThrottled as exc:
            form.add_error(None, exc.detail)
            response = await self.page(form, status=429)
            response.headers.update(exc.headers)
            return response
        user = await User.with_email(email).fetch_optional()
        result = await authenticate(user, form.data["password"])
        if user is None or not result:
            await throttle.failed(request, email)
            form.add_error(None, WRONG_LOGIN)
            return await self.page(form)
        if result.rehashed:  # stronger [accounts] parameters since the password was set
            await user.save()
        await throttle.succeeded(request, email)
        return await log_in(request, user)


class LogOut(Controller):
    """``POST /logout``: end the session (the layout's button, with the CSRF token)."""

    async def post(self, request: Request) -> Response:
        flash(request, "You have logged out.")  # kept by logout() for the next page
        return await logout(request, see_other("/login"))


class PasswordResetRequest(Controller):
    """``GET /password/reset``: ask for the address; ``POST``: mail a reset link to it.

    The answer (back to the log-in page, with a notice) is the same whether or not an account
    has that address, and so is the work before it: every address typed is handed to the
    ``SendPasswordReset`` job, which looks the account up and mails the link, so neither the
    answer nor its timing tells strangers who has an account. Each client may load or post it
    10 times per 10 minutes.
    """

    def middleware(self) -> list[Any]:
        return [RateLimiter(rate=10, window=600, name="password-reset")]

    async def get(self, request: Request) -> Response:
        return await self.page(ResetRequestForm())

    async def page(self, form: ResetRequestForm) -> Response:
        return await render_form(self, "auth/reset_request.html", form,
                                 title="Reset your password", user=None)

    async def post(self, request: Request) -> Response:
        form = await ResetRequestForm.from_request(request)
        if not await form.validate():
            return await self.page(form)
        email = form.data["email"].lower()
        # known address or not, the same one enqueue: the job looks the account up, so the
        # answer neither waits for the mail server nor, by taking longer, tells who has one
        await SendPasswordReset.enqueue({"email": email})
        # Redirect (Turbo shows only a redirect's page after a form post, never a 200's)
        flash(request, f"If an account uses {email}, a link to choose a new password is on "
                       "its way. It works for an hour, and only once.")
        return see_other("/login")


async def user_for_token(token: str) -> User:
    """The user a reset token names; :class:`TokenError` when it is expired, altered, for
    another purpose, or the password has changed since it was made."""
    found = read_token(token, "password_reset")
    user = await User.find(found.subject).fetch_optional()
    if user is None:
        raise TokenError("this link is for an account that no longer exists")
    found.check_password_hash(user.password_hash)
    return user


class PasswordReset(Controller):
    """``GET /password/reset/<token>``: the new-password form; ``POST``: set it."""

    async def get(self, request: Request) -> Response:
        return await self.answer(request, NewPasswordForm())

    async def post(self, request: Request) -> Response:
        return await self.answer(request, await NewPasswordForm.from_request(request))

    async def answer(self, request: Request, form: NewPasswordForm) -> Response:
        token = request.path_params["token"]
        try:
            user = await user_for_token(token)
        except TokenError as exc:
            response = await self.render("auth/reset_invalid.html", title="Link not valid",
                                         reason=str(exc), user=None)
            response.status = 400
        else:
            if form.submitted and await form.validate():
                # a new hash: this link (made for the old one) stops working
                await user.update(password_hash=await hash_password(form.data["password"]))
                await login_throttle().succeeded(request, user.email)
                flash(request, "Your password has been changed: sign in with it.")
                return see_other("/login")
            response = await render_form(self, "auth/reset_form.html", form,
                                         title="Choose a new password", token=token, user=None)
        # the token is in the path: never send it to other sites in a Referer header
        # ("no-referrer" would also blank the Origin of the form's own post: a CSRF refusal)
        response.headers["referrer-policy"] = "same-origin"
        return response
