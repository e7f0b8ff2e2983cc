"""marshmallow schemas of the gift model: project terms, a gift's details, a reward tier.

They accept what HTML forms send (strings, empty fields, a textarea of stretch goals) as
well as JSON from the API, and store only JSON-friendly values (decimal strings, not
``Decimal``) because terms live in a JSON column.
"""

from __future__ import annotations

import itertools
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

from tontine.funding import drop_blanks

ALL_OR_NOTHING = "all_or_nothing"
KEEP_IT_ALL = "keep_it_all"
MODES = (ALL_OR_NOTHING, KEEP_IT_ALL)
MAX_STRETCH_GOALS = 10
MAX_AMOUNT = Decimal(100000000)


def parse_amount(value: Any) -> Decimal:
    """A positive decimal amount from a form or JSON value; the error says what is wrong."""
    if isinstance(value, bool) or value is None:
        raise ValidationError(_("Enter an amount, e.g. 25 or 12.50."))
    text = str(value).strip().replace(",", ".").replace("€", "").replace(" ", "")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValidationError(_("“%(value)s” is not an amount.", value=value)) from exc
    if not amount.is_finite() or amount <= 0:
        raise ValidationError(_("The amount must be more than zero."))
    if amount > MAX_AMOUNT:
        raise ValidationError(_("The amount is too large."))
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationError(_("Use at most two decimal places."))
    return amount


class AmountField(fields.Field):
    """A positive decimal amount kept as a plain string ("12.50"), lenient with form input."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        amount = parse_amount(value)
        return format(amount.normalize(), "f") if amount == amount.to_integral() else str(amount)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(value)


class StretchGoalSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    amount = AmountField(required=True)
    title = fields.String(
        required=True,
        validate=validate.Length(min=1, max=120, error=_l("A title has 1 to 120 characters.")),
    )

    @pre_load
    def _strip(self, data: Any, **_kw: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("title"), str):
            data = {**data, "title": data["title"].strip()}
        return data


def parse_stretch_goals(text: str) -> list[dict[str, str]]:
    """``"1500 | A second oven"`` per line → ``[{"amount": "1500", "title": "…"}]``."""
    goals = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        amount, sep, title = line.partition("|")
        if not sep or not title.strip() or not amount.strip():
            raise ValidationError(
                _("Line %(n)d: write “amount | title”, e.g. “1500 | A second oven”.", n=number)
            )
        goals.append({"amount": amount.strip(), "title": title.strip()})
    return goals


class GiftTermsSchema(Schema):
    """A gift campaign's terms: mode, minimum gift, cap and stretch goals.

    ``duration_days`` belongs to the core and is kept as is; other unknown keys are dropped.
    Whether stretch goals are above the project's goal is checked when the project is saved
    (the goal is not part of the terms).
    """

    class Meta:
        unknown = EXCLUDE

    mode = fields.String(
        load_default=ALL_OR_NOTHING,
        validate=validate.OneOf(MODES, error=_l("Choose “all or nothing” or “keep it all”.")),
    )
    min_gift = AmountField(load_default="1")
    cap_at_goal = fields.Boolean(
        load_default=None,
        allow_none=True,
        error_messages={"invalid": _l("Answer yes or no.")},
    )
    stretch_goals = fields.List(fields.Nested(StretchGoalSchema), load_default=list)
    duration_days = fields.Integer(load_default=None, allow_none=True)

    @pre_load
    def _from_form(self, data: Any, **_kw: Any) -> Any:
        data = drop_blanks(data)
        if isinstance(data, dict) and isinstance(data.get("stretch_goals"), str):
            try:
                data = {**data, "stretch_goals": parse_stretch_goals(data["stretch_goals"])}
            except ValidationError as exc:
                raise ValidationError(exc.messages, field_name="stretch_goals") from exc
        return data

    @validates_schema
    def _goals_in_order(self, data: dict[str, Any], **_kw: Any) -> None:
        goals = data.get("stretch_goals") or []
        if len(goals) > MAX_STRETCH_GOALS:
            raise ValidationError(
                _("At most %(n)d stretch goals.", n=MAX_STRETCH_GOALS), "stretch_goals"
            )
        amounts = [Decimal(goal["amount"]) for goal in goals]
        if any(b <= a for a, b in itertools.pairwise(amounts)):
            raise ValidationError(
                _("List stretch goals from the smallest amount to the largest."),
                "stretch_goals",
            )
        if goals and data.get("cap_at_goal") is True:
            raise ValidationError(
                _("Stretch goals need gifts beyond the goal: do not stop at the goal."),
                "cap_at_goal",
            )

    @post_load
    def _defaults(self, data: dict[str, Any], **_kw: Any) -> dict[str, Any]:
        if data.get("cap_at_goal") is None:
            data["cap_at_goal"] = data["mode"] == ALL_OR_NOTHING and not data["stretch_goals"]
        if data.get("duration_days") is None:
            data.pop("duration_days", None)
        return data


class GiftDetailsSchema(Schema):
    """What a supporter chooses with a gift: a reward tier, or none."""

    class Meta:
        unknown = EXCLUDE

    reward_tier_id = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=False,
        error_messages={"invalid": _l("Choose a reward from the list.")},
    )

    @pre_load
    def _from_form(self, data: Any, **_kw: Any) -> Any:
        data = drop_blanks(data)
        if isinstance(data, dict) and data.get("reward_tier_id") in ("none", "0", 0):
            data = {**data, "reward_tier_id": None}
        return data


class RewardTierSchema(Schema):
    """An owner's reward tier, from the rewards form or the API."""

    class Meta:
        unknown = EXCLUDE

    title = fields.String(
        required=True,
        validate=validate.Length(min=1, max=120, error=_l("A title has 1 to 120 characters.")),
        error_messages={"required": _l("Give the reward a title.")},
    )
    description = fields.String(
        load_default="",
        validate=validate.Length(max=2000, error=_l("At most 2000 characters.")),
    )
    min_amount = AmountField(
        required=True, error_messages={"required": _l("Say the smallest gift for this reward.")}
    )
    quantity = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=False,
        validate=validate.Range(
            min=1, max=1_000_000, error=_l("Between 1 and 1,000,000, or empty for no limit.")
        ),
        error_messages={"invalid": _l("A whole number, or empty for no limit.")},
    )
    position = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=False,
        validate=validate.Range(min=0, max=1000, error=_l("A number from 0 to 1000.")),
        error_messages={"invalid": _l("A number from 0 to 1000.")},
    )

    @pre_load
    def _from_form(self, data: Any, **_kw: Any) -> Any:
        data = drop_blanks(data)
        if isinstance(data, dict):
            data = {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items()}
        return data
