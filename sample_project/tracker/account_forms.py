"""The account forms: sign-up, log-in, password reset (from ``rum generate auth``, with a name
on sign-up, which the tracker shows as who took an order)."""

from __future__ import annotations

from rum_forms import EmailField, Form, PasswordField, StringField

MIN_PASSWORD_LENGTH = 8
#: Longer passwords are refused before any hashing (the accounts plugin's own cap is
#: ``[accounts] max_password_bytes``).
MAX_PASSWORD_LENGTH = 256


def new_password() -> PasswordField:
    """A password being chosen."""
    return PasswordField(required=True, new=True, min_length=MIN_PASSWORD_LENGTH,
                         max_length=MAX_PASSWORD_LENGTH)


def confirmation() -> PasswordField:
    """The same password, typed again."""
    return PasswordField(required=True, new=True, label="Password again")


def check_confirmation(form: Form) -> None:
    """Add an error when the two passwords differ."""
    if form.data["password"] != form.data["password_confirmation"]:
        form.add_error("password_confirmation", "doesn't match the password")


class SignUpForm(Form):
    """``/signup``: a name, an e-mail address and a new password."""

    prefix = "signup"
    name = StringField(required=True, max_length=100, label="Your name", autocomplete="name")
    email = EmailField(required=True, label="E-mail address")
    password = new_password()
    password_confirmation = confirmation()

    async def check(self) -> None:
        check_confirmation(self)


class NewPasswordForm(Form):
    """``/password/reset/<token>``: the new password, typed twice."""

    prefix = "reset"
    password = new_password()
    password_confirmation = confirmation()

    async def check(self) -> None:
        check_confirmation(self)


class LogInForm(Form):
    """``/login``."""

    prefix = ""  # inputs #email and #password
    email = EmailField(required=True, label="E-mail address", autocomplete="username")
    password = PasswordField(required=True, max_length=MAX_PASSWORD_LENGTH)


class ResetRequestForm(Form):
    """``/password/reset``: the address to mail a reset link to."""

    prefix = "reset_request"
    email = EmailField(required=True, label="E-mail address", autocomplete="username")
