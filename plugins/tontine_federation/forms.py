"""Admin forms for the federation page (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length

from tontine.forms import Form


class FollowForm(Form):
    target = StringField(
        _l("Instance address or handle"),
        validators=[DataRequired(), Length(max=300)],
        description=_l("For example @tontine@other.example or https://other.example/actor"),
    )


class BlockForm(Form):
    domain = StringField(_l("Domain"), validators=[DataRequired(), Length(max=253)])
    reason = StringField(_l("Reason"), validators=[Length(max=500)])


class PeerActionForm(Form):
    """One button acting on one peer or domain (unfollow, approve, refuse, unblock)."""

    target = HiddenField(validators=[DataRequired(), Length(max=500)])
