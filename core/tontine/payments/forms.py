"""Payment forms (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, Field, HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, Regexp, ValidationError

from tontine.extensions import registry
from tontine.forms import Form

#: Where refunds go if the goal is missed (value → label shown on the form).
REFUND_LABELS = {
    "payment_method": _l("my payment method"),
    "balance": _l("my Tontine balance"),
}


def parse_amount(text: str | None) -> Decimal | None:
    """A decimal amount typed by a person ("12.50", "12,50"); None when it is not one."""
    cleaned = (text or "").strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    if not cleaned or len(cleaned) > 24:
        return None
    try:
        value = Decimal(cleaned)
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


class AmountOf:
    """Validator: a finite decimal, positive (or zero when ``allow_zero``)."""

    def __init__(self, allow_zero: bool = False):
        self.allow_zero = allow_zero

    def __call__(self, form: Form, field: Field) -> None:
        value = parse_amount(field.data)
        if value is None:
            raise ValidationError(_l("Enter an amount such as 25 or 12.50."))
        if value < 0 or (value == 0 and not self.allow_zero):
            raise ValidationError(
                _l("The tip cannot be negative.")
                if self.allow_zero
                else _l("The amount must be positive.")
            )


def new_idempotency_key() -> str:
    """A key minted when the form is shown: submitting that form twice creates one gift."""
    return secrets.token_urlsafe(24)


def provider_labels() -> dict[str, str]:
    """The site's payment methods, in its configured order, with their labels."""
    found = registry().payment_providers
    return {
        key: str(found[key].label or key)
        for key in current_app.config["PAYMENT_PROVIDERS"]
        if key in found
    }


class GiveForm(Form):
    """The give form; the funding model's own fields (``details.<name>``) come on top."""

    amount = StringField(
        _l("Amount"),
        validators=[InputRequired(_l("Say how much you give.")), AmountOf()],
    )
    tip = StringField(
        _l("Tip to the platform (optional)"),
        validators=[Optional(), AmountOf(allow_zero=True)],
    )
    provider = RadioField(
        _l("Payment method"), validators=[InputRequired(_l("Choose a payment method."))]
    )
    anonymous = BooleanField(_l("Give anonymously (your name is not shown to the public)"))
    refund_to = RadioField(
        _l("If the goal is missed, refund to"),
        choices=list(REFUND_LABELS),
        default="payment_method",
        validators=[InputRequired()],
    )
    idempotency_key = HiddenField(
        validators=[
            InputRequired(_l("This form has expired; please reload the page.")),
            Length(max=80),
            Regexp(r"^[A-Za-z0-9_\-]+$"),
        ]
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.provider.choices = list(provider_labels())
        if not self.provider.data and self.provider.choices:
            self.provider.data = self.provider.choices[0]
        if not self.idempotency_key.data:
            self.idempotency_key.data = new_idempotency_key()


class MarkReceivedForm(Form):
    """Staff confirm a bank transfer arrived; the reason is recorded with their name."""

    reason = TextAreaField(
        _l("How did you check it? (bank statement line, date…)"),
        validators=[InputRequired(_l("Say how the transfer was checked.")), Length(max=500)],
    )


class PayoutForm(Form):
    """Owner asks for the money raised (a button: the CSRF token is the whole form)."""
