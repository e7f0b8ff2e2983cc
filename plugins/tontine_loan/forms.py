"""Forms of the partner's and admin's pages (Flask-WTF: each carries a CSRF token).

They check shape only; the services check the rules and the views show their refusals on
the same form.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, Email, Length, NumberRange, Optional

from tontine.forms import Form


class DisburseForm(Form):
    disbursed_on = DateField(_l("Disbursed on"), validators=[DataRequired(_l("Give the date."))])
    rate = StringField(
        _l("Exchange rate (local currency per unit lent)"), validators=[Optional(), Length(max=30)]
    )
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])


class RepaymentForm(Form):
    paid_on = DateField(_l("Paid on"), validators=[DataRequired(_l("Give the date."))])
    amount = StringField(_l("Amount"), validators=[Optional(), Length(max=30)])
    local_amount = StringField(
        _l("Amount in local currency"), validators=[Optional(), Length(max=30)]
    )
    rate = StringField(_l("Exchange rate that day"), validators=[Optional(), Length(max=30)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
    idempotency_key = HiddenField(validators=[DataRequired(), Length(max=80)])


class PartnerForm(Form):
    name = StringField(
        _l("Name"), validators=[DataRequired(_l("Give the partner's name.")), Length(max=120)]
    )
    country = StringField(
        _l("Country (two letters)"), validators=[DataRequired(), Length(min=2, max=2)]
    )
    borrower_rate = StringField(
        _l("Interest rate charged to borrowers (% a year)"),
        validators=[DataRequired(), Length(max=10)],
    )
    risk_rating = IntegerField(
        _l("Risk rating (1 to 5)"), validators=[Optional(), NumberRange(min=1, max=5)]
    )
    website = StringField(_l("Website"), validators=[Optional(), Length(max=200)])
    description = TextAreaField(_l("About the partner"), validators=[Optional(), Length(max=5000)])


class StaffForm(Form):
    email = EmailField(
        _l("E-mail of the staff member's account"),
        validators=[DataRequired(), Email(_l("Enter an e-mail address."))],
    )


class RatingForm(Form):
    risk_rating = IntegerField(
        _l("Risk rating (1 to 5)"), validators=[DataRequired(), NumberRange(min=1, max=5)]
    )
    reason = StringField(_l("Why"), validators=[DataRequired(), Length(max=500)])


class TeamForm(Form):
    name = StringField(
        _l("Team name"), validators=[DataRequired(_l("Give the team a name.")), Length(max=120)]
    )
    description = TextAreaField(
        _l("What brings you together"), validators=[Optional(), Length(max=5000)]
    )


class ActionForm(Form):
    """A button that changes something (join, leave): only the CSRF token."""


class SettlementForm(Form):
    direction = StringField(_l("Direction"), validators=[AnyOf(("to_partner", "from_partner"))])
    amount = StringField(_l("Amount"), validators=[DataRequired(), Length(max=30)])
    reason = StringField(
        _l("How the transfer was checked"), validators=[DataRequired(), Length(max=500)]
    )
