"""The project lifecycle as data: states and allowed transitions, checked when defined.

Funding models extend the table (the loan model adds ``delinquent`` and ``defaulted``)
through ``FundingModel.extra_transitions``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

DRAFT = "draft"
IN_REVIEW = "in_review"
REJECTED = "rejected"
OPEN = "open"
FUNDED = "funded"
FAILED = "failed"
RUNNING = "running"
COMPLETED = "completed"
WITHDRAWN = "withdrawn"

#: States visible to the public (listed, federated). The states funding models add after
#: running (the loan model's ``delinquent`` and ``defaulted``) stay public: lenders follow
#: a late loan, and a default is part of its partner's record.
PUBLIC_STATES = frozenset({OPEN, FUNDED, FAILED, RUNNING, COMPLETED, "delinquent", "defaulted"})

CORE_TRANSITIONS: dict[str, frozenset[str]] = {
    DRAFT: frozenset({IN_REVIEW, WITHDRAWN}),
    IN_REVIEW: frozenset({OPEN, REJECTED, DRAFT, WITHDRAWN}),
    REJECTED: frozenset({DRAFT}),
    OPEN: frozenset({FUNDED, FAILED, WITHDRAWN}),
    FUNDED: frozenset({RUNNING, COMPLETED}),
    FAILED: frozenset(),
    RUNNING: frozenset({COMPLETED}),
    COMPLETED: frozenset(),
    WITHDRAWN: frozenset(),
}


class IllegalTransition(ValueError):
    """A project was asked to move along an edge the state table does not have."""


class StateTable:
    """A validated state graph: one initial state, every target a known state."""

    def __init__(self, transitions: Mapping[str, Iterable[str]], initial: str = DRAFT):
        self.transitions = {state: frozenset(targets) for state, targets in transitions.items()}
        self.initial = initial
        unknown = {t for ts in self.transitions.values() for t in ts} - set(self.transitions)
        if unknown:
            raise ValueError(f"transitions to undeclared states: {sorted(unknown)}")
        if initial not in self.transitions:
            raise ValueError(f"initial state {initial!r} is not declared")

    @property
    def states(self) -> frozenset[str]:
        return frozenset(self.transitions)

    def extended(self, extra: Mapping[str, Iterable[str]]) -> StateTable:
        """A new table with ``extra`` edges added (new states are declared by appearing)."""
        merged = {state: set(targets) for state, targets in self.transitions.items()}
        for state, targets in extra.items():
            merged.setdefault(state, set()).update(targets)
            for target in targets:
                merged.setdefault(target, set())
        return StateTable(merged, self.initial)

    def can(self, source: str, target: str) -> bool:
        return target in self.transitions.get(source, frozenset())

    def check(self, source: str, target: str) -> None:
        if not self.can(source, target):
            raise IllegalTransition(f"a project cannot go from {source} to {target}")


CORE_TABLE = StateTable(CORE_TRANSITIONS)
