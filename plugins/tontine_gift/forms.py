"""Flask-WTF forms of the gift plugin: they carry the CSRF token and the raw input.

Validation of the values themselves is the services' (marshmallow) job, so the API and the
pages give the same messages.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, StringField, TextAreaField

from tontine.forms import Form


class RewardTierForm(Form):
    title = StringField(_l("Reward"))
    description = TextAreaField(_l("What the supporter receives"))
    min_amount = StringField(_l("Smallest gift"))
    quantity = StringField(_l("How many (empty: no limit)"))
    position = StringField(_l("Order on the page"))

    def values(self) -> dict[str, str]:
        return {
            name: (getattr(self, name).data or "")
            for name in ("title", "description", "min_amount", "quantity", "position")
        }


class ActionForm(Form):
    """A button that changes something (delete a tier, mark a reward sent): CSRF only."""

    sent = HiddenField(default="1")
