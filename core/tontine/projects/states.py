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

#: States in which a listing is seen only by its owner and moderators. Every other state is
#: public (listed, federated): the core's open, funded, failed, running, completed, and the
#: states funding models add after them (a late loan is still followed by its lenders).
PRIVATE_STATES = frozenset({DRAFT, IN_REVIEW, REJECTED, WITHDRAWN})

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


#: The core's own public states (a funding model may add more: use ``is_public``).
PUBLIC_STATES = frozenset(CORE_TRANSITIONS) - PRIVATE_STATES


def is_public(state: str) -> bool:
    return state not in PRIVATE_STATES


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
