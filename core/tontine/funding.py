"""The interface a funding model plugin implements (gift, loan, equity, …).

A funding model is an object returned by ``register_funding_models()``. A project has
exactly one, named by ``key``; the core dispatches to it when the project is created
(``terms_schema``), when someone contributes (``validate_contribution``, ``reserve``), at
the deadline (``close``) and after funding (``after_funding``). Methods run inside the
core's unit of work: they may read and add rows, and never commit.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from marshmallow import Schema

from tontine.errors import DomainError

if TYPE_CHECKING:
    from tontine.money import Money
    from tontine.payments.models import Contribution
    from tontine.projects.models import Project


def drop_blanks(data: Any) -> Any:
    """Form fields left empty mean "not given", so a schema's defaults apply (``pre_load``)."""
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}
    return data


class ContributionRefused(DomainError):
    """The funding model refuses this contribution; the message tells the supporter why."""

    status = 422


class CloseOutcome(enum.StrEnum):
    FUNDED = "funded"  # keep the money (full goal, or keep-it-all / flexible)
    FAILED = "failed"  # all-or-nothing goal missed: every contribution is refunded


class FundingModel:
    """Base class: the defaults are those of a simple all-or-nothing campaign."""

    key: str = ""
    label: str = ""
    #: marshmallow schema of the project's ``terms`` (validated on create and edit).
    terms_schema: type[Schema] = Schema
    #: marshmallow schema of a contribution's ``details`` (e.g. the chosen reward).
    contribution_schema: type[Schema] = Schema
    #: Templates included on the project page, in the contribution form (fields named
    #: ``details.<name>``) and in the owner's project form (fields named ``terms.<name>``).
    page_template: str | None = None
    form_template: str | None = None
    terms_template: str | None = None
    #: Extra project states and edges, merged into the core state table, and their labels.
    extra_transitions: Mapping[str, frozenset[str]] = {}
    state_labels: Mapping[str, Any] = {}

    def cap(self, project: Project) -> int | None:
        """Most the project may raise in minor units, or None for no cap."""
        return project.goal_amount

    def validate_contribution(self, project: Project, amount: Money, details: dict[str, Any]) -> None:
        """Raise ``ContributionRefused`` when this contribution is not allowed."""

    def reserve(self, project: Project, contribution: Contribution) -> None:
        """Claim what the contribution takes (a limited reward…); runs with the project locked."""

    def close(self, project: Project, raised: Money) -> CloseOutcome:
        """Decide the outcome at the deadline."""
        return CloseOutcome.FUNDED if raised.amount >= project.goal_amount else CloseOutcome.FAILED

    def after_funding(self, project: Project) -> None:
        """Set up what follows funding (schedules, shares, rewards to fulfil)."""

    def contribution_note(self, contribution: Contribution) -> str | None:
        """A line shown with this gift in the supporter's "my gifts" (e.g. "reward sent")."""
        return None

    def listing_terms(self, project: Project) -> dict[str, Any]:
        """The model's terms as shown to other instances (federation)."""
        return {}
