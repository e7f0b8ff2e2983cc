"""Imports every core model so that the metadata is complete (Alembic, tests)."""

from tontine.accounts.models import (
    ExternalIdentity,
    Organization,
    RoleAssignment,
    StaffAction,
    User,
)
from tontine.jobs.models import Job, Schedule
from tontine.ledger.models import LedgerAccount, LedgerTransaction, Posting
from tontine.payments.models import Contribution, Payment, PaymentEvent, Payout
from tontine.projects.models import Comment, Person, Project, ProjectTransition, ProjectUpdate

__all__ = [
    "Comment",
    "Contribution",
    "ExternalIdentity",
    "Job",
    "LedgerAccount",
    "LedgerTransaction",
    "Organization",
    "Payment",
    "PaymentEvent",
    "Payout",
    "Person",
    "Posting",
    "Project",
    "ProjectTransition",
    "ProjectUpdate",
    "RoleAssignment",
    "Schedule",
    "StaffAction",
    "User",
]
