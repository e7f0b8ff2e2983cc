"""Account pages: sign-up, log-in, log-out, profile, password reset, export and erasure.

Views are thin: they validate forms and call ``tontine.accounts.services``. Pages about an
account always act on ``current_user``: there is no URL naming another account, so nobody
can see, export or erase someone else's.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user

from tontine.accounts import services
from tontine.accounts.forms import (
    EraseForm,
    LoginForm,
    ProfileForm,
    ResetPasswordForm,
    ResetRequestForm,
    SignupForm,
)
from tontine.accounts.models import User
from tontine.extensions import limiter, login_manager
from tontine.forms import Form

bp = Blueprint("accounts", __name__, url_prefix="/account")


@bp.record_once
def _configure_login_manager(state: Any) -> None:
    """Flask-Login's "please log in" message, translated like every other string."""
    login_manager.login_message = lazy_gettext("Please log in to see this page.")
    login_manager.localize_callback = str  # evaluates the lazy string in the request's locale
    login_manager.login_message_category = "info"


# --- Helpers ----------------------------------------------------------------------------


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if not target or not isinstance(target, str):
        return None
    target = target.strip()
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _next_target() -> str | None:
    return safe_next(request.args.get("next") or request.form.get("next"))


def _render_form(template: str, form: Form, **context: Any) -> tuple[str, int]:
    """A page with its form; a submitted form with errors answers 400."""
    status = 400 if request.method == "POST" and form.errors else 200
    return render_template(template, form=form, **context), status


def _apply_user_locale(user: Any) -> None:
    if user.locale and user.locale in current_app.config["LOCALES"]:
        session["locale"] = user.locale


def _login_limit() -> str:
    return str(current_app.config.get("LOGIN_RATE_LIMIT") or "10 per minute")


def _login_limit_key() -> str:
    """Attempts are counted per client address and submitted e-mail."""
    email = services.normalize_email(str(request.form.get("email", "")))[:254]
    return f"login:{get_remote_address()}:{email}"


def _reset_limit_key() -> str:
    email = services.normalize_email(str(request.form.get("email", "")))[:254]
    return f"reset:{get_remote_address()}:{email}"


def _me() -> User:
    """The logged-in account itself (services get model objects, not Flask-Login's proxy)."""
    return current_user._get_current_object()  # type: ignore[attr-defined,no-any-return]


def _too_many_attempts() -> str:
    return _("Too many attempts. Please wait a minute before trying again.")


# --- Sign-up, log-in, log-out ----------------------------------------------------------


@bp.route("/signup", methods=["GET", "POST"])
def signup():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("accounts.profile"))
    form = SignupForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(
                email=form.email.data,
                password=form.password.data,
                display_name=form.display_name.data,
            )
        except services.AccountError as exc:
            field = getattr(form, exc.field or "", None) or form.email
            field.errors = [*field.errors, exc.message]
        else:
            login_user(user)
            flash(_("Welcome, %(name)s! Your account is ready.", name=user.display_name), "success")
            return redirect(_next_target() or url_for("site.home"))
    return _render_form("accounts/signup.html", form, next=_next_target())


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    _login_limit,
    key_func=_login_limit_key,
    methods=["POST"],
    error_message=_too_many_attempts,
)
def login():  # type: ignore[no-untyped-def]
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            error = _("The e-mail address or the password is not right.")
        else:
            login_user(user, remember=bool(form.remember.data))
            _apply_user_locale(user)
            flash(_("You are logged in."), "success")
            return redirect(_next_target() or url_for("site.home"))
    template = render_template("accounts/login.html", form=form, error=error, next=_next_target())
    status = 400 if request.method == "POST" and (error or form.errors) else 200
    return template, status


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("site.home"))


# --- Profile --------------------------------------------------------------------------


@bp.route("/", methods=["GET", "POST"])
@login_required
def profile():  # type: ignore[no-untyped-def]
    form = ProfileForm(
        data={"display_name": current_user.display_name, "locale": current_user.locale or ""}
        if request.method == "GET"
        else None
    )
    if form.validate_on_submit():
        try:
            services.update_profile(
                _me(), display_name=form.display_name.data, locale=form.locale.data or None
            )
        except services.AccountError as exc:
            field = getattr(form, exc.field or "", None) or form.display_name
            field.errors = [*field.errors, exc.message]
        else:
            if current_user.locale:
                _apply_user_locale(current_user)
            else:
                session.pop("locale", None)
            flash(_("Your profile is saved."), "success")
            return redirect(url_for("accounts.profile"))
    roles = sorted(str(a.role) for a in current_user.roles)
    return _render_form("accounts/profile.html", form, roles=roles)


# --- Password reset -------------------------------------------------------------------


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(
    _login_limit, key_func=_reset_limit_key, methods=["POST"], error_message=_too_many_attempts
)
def reset_request():  # type: ignore[no-untyped-def]
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        flash(
            _(
                "If an account uses this address, we have sent it a link to choose a new "
                "password. The link works for %(minutes)d minutes.",
                minutes=services.reset_max_age() // 60,
            ),
            "info",
        )
        return redirect(url_for("accounts.login"))
    return _render_form("accounts/reset_request.html", form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):  # type: ignore[no-untyped-def]
    if services.user_for_reset_token(token) is None:
        message = _(
            "This reset link is invalid, expired or already used. Please ask for a new one."
        )
        return render_template("accounts/reset_invalid.html", message=message), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except services.AccountError as exc:
            form.password.errors = [*form.password.errors, exc.message]
        else:
            logout_user()
            flash(_("Your password is changed. Please log in with it."), "success")
            return redirect(url_for("accounts.login"))
    return _render_form("accounts/reset_password.html", form, token=token)


# --- Personal data --------------------------------------------------------------------


@bp.get("/export")
@login_required
def export():  # type: ignore[no-untyped-def]
    data = services.export_personal_data(_me())
    body = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="personal-data-{current_user.id}.json"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/erase", methods=["GET", "POST"])
@login_required
def erase():  # type: ignore[no-untyped-def]
    form = EraseForm()
    if form.validate_on_submit():
        if not services.check_password(_me(), form.password.data):
            form.password.errors = [*form.password.errors, _("This password is not right.")]
        else:
            services.erase_account(_me(), _me())
            logout_user()
            flash(_("Your account is erased. Goodbye, and thank you."), "info")
            return redirect(url_for("site.home"))
    return _render_form("accounts/erase.html", form)
