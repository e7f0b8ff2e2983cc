"""Account forms (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from babel import Locale
from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length

from tontine.accounts.services import MIN_PASSWORD
from tontine.forms import Form

MAX_PASSWORD = 1024  # argon2 copes, but nobody needs to post a megabyte


def _email_field() -> EmailField:
    return EmailField(
        _l("E-mail address"),
        validators=[
            DataRequired(_l("Please enter your e-mail address.")),
            Length(max=254, message=_l("An e-mail address has at most 254 characters.")),
            Email(_l("This is not a valid e-mail address."), check_deliverability=False),
        ],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )


def _new_password_field(label: str | None = None) -> PasswordField:
    return PasswordField(
        label or _l("Password"),
        validators=[
            InputRequired(_l("Please choose a password.")),
            Length(
                min=MIN_PASSWORD,
                max=MAX_PASSWORD,
                message=_l("The password needs at least %(n)d characters.", n=MIN_PASSWORD),
            ),
        ],
    )


def _confirm_field() -> PasswordField:
    return PasswordField(
        _l("Password again"),
        validators=[
            InputRequired(_l("Please type the password a second time.")),
            EqualTo("password", _l("The two passwords do not match.")),
        ],
    )


def _display_name_field() -> StringField:
    return StringField(
        _l("Display name"),
        validators=[
            DataRequired(_l("Please enter a display name.")),
            Length(max=80, message=_l("A display name has at most 80 characters.")),
        ],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )


class SignupForm(Form):
    display_name = _display_name_field()
    email = _email_field()
    password = _new_password_field()
    confirm = _confirm_field()


class LoginForm(Form):
    email = _email_field()
    password = PasswordField(
        _l("Password"),
        validators=[
            InputRequired(_l("Please enter your password.")),
            Length(max=MAX_PASSWORD, message=_l("This password is too long.")),
        ],
    )
    remember = BooleanField(_l("Keep me logged in on this device"))


class ResetRequestForm(Form):
    email = _email_field()


class ResetPasswordForm(Form):
    password = _new_password_field(_l("New password"))
    confirm = _confirm_field()


def locale_choices() -> list[tuple[str, str]]:
    """The instance's languages, each named in itself ("English", "français")."""
    choices = [("", str(_l("Follow my browser")))]
    for code in current_app.config["LOCALES"]:
        try:
            name = Locale.parse(code).get_display_name(code) or code
        except (ValueError, TypeError):
            name = code
        choices.append((code, name))
    return choices


class ProfileForm(Form):
    display_name = _display_name_field()
    locale = SelectField(
        _l("Preferred language"),
        choices=[],
        validate_choice=True,
    )

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.locale.choices = locale_choices()


class EraseForm(Form):
    password = PasswordField(
        _l("Your password"),
        validators=[
            InputRequired(_l("Please enter your password to confirm.")),
            Length(max=MAX_PASSWORD, message=_l("This password is too long.")),
        ],
    )
    confirm = BooleanField(
        _l("I understand that my account and personal data will be erased for good."),
        validators=[DataRequired(_l("Please tick the box to confirm."))],
    )
