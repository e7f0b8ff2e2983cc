"""Project forms (Flask-WTF: every one carries a CSRF token).

The forms check shape (required, lengths, a number); the domain rules live in the services
and ``ProjectInputSchema``, whose messages the views show on the same form.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DecimalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from tontine.forms import Form
from tontine.money import Money, MoneyError, exponent
from tontine.projects.schemas import CATEGORIES

CATEGORY_LABELS: dict[str, Any] = {
    "art": _l("Art"),
    "community": _l("Community"),
    "education": _l("Education"),
    "environment": _l("Environment"),
    "food": _l("Food"),
    "health": _l("Health"),
    "housing": _l("Housing"),
    "music": _l("Music"),
    "sport": _l("Sport"),
    "technology": _l("Technology"),
    "travel": _l("Travel"),
    "business": _l("Business"),
}

STATE_LABELS: dict[str, Any] = {
    "draft": _l("Draft"),
    "in_review": _l("In review"),
    "rejected": _l("Rejected"),
    "open": _l("Open"),
    "funded": _l("Funded"),
    "failed": _l("Not funded"),
    "running": _l("Running"),
    "completed": _l("Completed"),
    "withdrawn": _l("Withdrawn"),
}


def category_choices(blank: Any = None) -> list[tuple[str, Any]]:
    return [("", blank or _l("No category"))] + [(c, CATEGORY_LABELS.get(c, c)) for c in CATEGORIES]


class ProjectForm(Form):
    """Create or edit a listing; the funding model's terms come as ``terms.<name>`` inputs."""

    title = StringField(_l("Title"), validators=[DataRequired(), Length(min=3, max=120)])
    summary = StringField(_l("Summary in one sentence"), validators=[Length(max=280)])
    story = TextAreaField(
        _l("Your story"),
        validators=[Length(max=20000)],
        description=_l(
            "Who you are, what the money is for, what will change. Blank lines start a new paragraph."
        ),
    )
    place = StringField(_l("Town or place"), validators=[Length(max=120)])
    country = StringField(
        _l("Country (two-letter code)"),
        validators=[
            Optional(),
            Regexp(r"^[A-Za-z]{2}$", message=_l("Use a two-letter code, e.g. FR.")),
        ],
    )
    category = SelectField(_l("Category"), choices=[], default="", validate_choice=True)
    goal = DecimalField(
        _l("Goal"),
        places=None,
        validators=[InputRequired(), NumberRange(min=1, max=100_000_000)],
    )
    duration_days = IntegerField(
        _l("Duration (days)"), default=30, validators=[InputRequired(), NumberRange(min=1, max=120)]
    )
    funding_model = SelectField(_l("Funding model"), choices=[], validate_choice=True)
    photo = FileField(_l("Photo (JPEG, PNG or WebP)"))
    #: The person shown when it is not the account listing the project (a field partner
    #: lists a loan for a borrower who has no account); their consent is recorded.
    person_name = StringField(
        _l("The person shown, if not you"),
        validators=[Optional(), Length(max=120)],
        description=_l("For example the borrower a field partner lists a loan for."),
    )
    person_consent = BooleanField(_l("This person agreed to be shown here, with their name and photo"))

    def __init__(
        self,
        *args: Any,
        models: list[tuple[str, str]] | None = None,
        currency: str = "EUR",
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.category.choices = category_choices()
        self.funding_model.choices = models or []
        self.currency = currency

    def validate_goal(self, field: DecimalField) -> None:
        """The goal has no more decimals than its currency (EUR 2, XOF none)."""
        if field.data is None:
            return
        try:
            Money.from_decimal(field.data, self.currency)
        except MoneyError:
            places = exponent(self.currency)
            raise ValidationError(
                _l("Use at most %(places)s decimal places.", places=places)
                if places
                else _l("Use a whole amount, without decimals.")
            ) from None

    def validate_person_consent(self, field: BooleanField) -> None:
        if (self.person_name.data or "").strip() and not field.data:
            raise ValidationError(_l("Confirm that the person agreed to be shown."))

    #: Fields that can still change once a project is published (see services.update_project).
    LIVE_FIELDS = ("summary", "story", "photo")


#: Largest file a ``terms.<field>`` upload may be (a repayment schedule is a few kB).
TERMS_FILE_MAX_BYTES = 64 * 1024


def terms_from(
    form: MultiDict[str, str], files: MultiDict[str, Any] | None = None
) -> dict[str, Any]:
    """Collect the ``terms.<name>`` inputs into the terms dict (repeated names → list).

    A file uploaded as ``terms.<name>`` (an irregular schedule as CSV, say) is read as UTF-8
    text and replaces the text input of the same name, so a funding model's terms schema
    parses both the same way. A file too large or not text is refused with a
    ``DomainError`` naming it: the form shows it, nothing is saved.
    """
    from flask_babel import gettext as _

    from tontine.errors import DomainError

    terms: dict[str, Any] = {}
    for key in form:
        if key.startswith("terms.") and len(key) > 6:
            values = form.getlist(key)
            terms[key[6:]] = values[0] if len(values) == 1 else values
    for key in files or ():
        if not key.startswith("terms.") or len(key) <= 6:
            continue
        upload = files[key]  # type: ignore[index]
        name = getattr(upload, "filename", "") or ""
        if not name:
            continue  # the file input left empty
        data = upload.stream.read(TERMS_FILE_MAX_BYTES + 1)
        if len(data) > TERMS_FILE_MAX_BYTES:
            raise DomainError(
                _(
                    "The file %(name)s is too large: at most %(size)d kB.",
                    name=name,
                    size=TERMS_FILE_MAX_BYTES // 1024,
                ),
                field=key,
            )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = None
        if text is None or any(ch < " " and ch not in "\t\r\n" for ch in text):
            raise DomainError(
                _("The file %(name)s is not a text file (UTF-8).", name=name), field=key
            )
        terms[key[6:]] = text
    return terms


class UpdateForm(Form):
    """A journal entry."""

    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=120)])
    body = TextAreaField(_l("What happened"), validators=[DataRequired(), Length(max=20000)])


class CommentForm(Form):
    body = TextAreaField(_l("Your comment"), validators=[DataRequired(), Length(max=2000)])


class RejectForm(Form):
    reason = TextAreaField(
        _l("Why is it rejected? (the owner sees this)"),
        validators=[DataRequired(message=_l("Say why the project is rejected.")), Length(max=500)],
    )


class ActionForm(Form):
    """A button that changes state (submit, approve, withdraw): only the CSRF token."""


class WithdrawForm(Form):
    reason = StringField(_l("Reason (optional)"), validators=[Length(max=500)])
