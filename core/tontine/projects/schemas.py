"""marshmallow schemas for projects: input validation and the API's output."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

from tontine.money import known_currencies

CATEGORIES = (
    "art", "community", "education", "environment", "food", "health",
    "housing", "music", "sport", "technology", "travel", "business",
)


class ProjectInputSchema(Schema):
    """What an owner may send to create or edit a listing."""

    title = fields.String(required=True, validate=validate.Length(min=3, max=120))
    summary = fields.String(load_default="", validate=validate.Length(max=280))
    story = fields.String(load_default="", validate=validate.Length(max=20000))
    place = fields.String(load_default="", validate=validate.Length(max=120))
    country = fields.String(
        load_default="", validate=validate.Regexp(r"^([A-Z]{2})?$", error="use a two-letter code")
    )
    category = fields.String(load_default="", validate=validate.OneOf(("",) + CATEGORIES))
    goal = fields.Decimal(
        required=True, places=None, as_string=True,
        validate=validate.Range(min=1, max=100_000_000, error="must be between 1 and 100,000,000"),
    )
    currency = fields.String(load_default=None)
    duration_days = fields.Integer(load_default=30, validate=validate.Range(min=1, max=120))
    funding_model = fields.String(required=True, validate=validate.Length(min=1, max=40))
    terms = fields.Dict(load_default=dict)
    person_name = fields.String(load_default=None, validate=validate.Length(max=120))
    consent_federate = fields.Boolean(load_default=True)
    photo = fields.String(load_default=None, validate=validate.Length(max=80))

    @validates("currency")
    def _known_currency(self, value: str | None, **_kw: object) -> None:
        if value is not None and value not in known_currencies():
            raise ValidationError("unknown currency")


class MoneySchema(Schema):
    amount = fields.String(metadata={"description": "decimal string, e.g. \"12.50\""})
    currency = fields.String()


class ProjectOutputSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    summary = fields.String()
    story = fields.String()
    owner_name = fields.String()
    place = fields.String()
    country = fields.String()
    category = fields.String()
    state = fields.String()
    funding_model = fields.String()
    terms = fields.Dict()
    goal = fields.Nested(MoneySchema)
    raised = fields.Nested(MoneySchema)
    backer_count = fields.Integer()
    deadline = fields.DateTime(allow_none=True)
    url = fields.String()
    photo_url = fields.String(allow_none=True)


class ProjectQuerySchema(Schema):
    q = fields.String(load_default=None, validate=validate.Length(max=100))
    category = fields.String(load_default=None, validate=validate.Length(max=40))
    place = fields.String(load_default=None, validate=validate.Length(max=120))
    country = fields.String(load_default=None, validate=validate.Length(max=2))
    state = fields.String(load_default=None, validate=validate.Length(max=24))
    funding_model = fields.String(load_default=None, validate=validate.Length(max=40))
    cursor = fields.String(load_default=None, validate=validate.Length(max=200))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class ProjectPageSchema(Schema):
    items = fields.List(fields.Nested(ProjectOutputSchema))
    next_cursor = fields.String(allow_none=True)
