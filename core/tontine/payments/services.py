"""Contributions and payments: reserve, collect, confirm, refund, pay out.

The core owns the payment state table and idempotency:

- creating a contribution takes an idempotency key: a retried form or API call returns the
  first contribution instead of creating a second;
- the project row is locked while a contribution is validated and reserved, so concurrent
  supporters never push a capped project past its goal (and never overbook a reward);
- every provider event is stored once (``PaymentEvent`` unique key) and applied only along an
  edge of the state table; ledger transactions carry a ``cause`` that is posted at most once.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from tontine.accounts.models import StaffAction, User
from tontine.db import db, lock_row, unit_of_work, utcnow
from tontine.errors import Conflict, DomainError, Forbidden, NotFound, first_error
from tontine.extensions import hook, registry
from tontine.funding import ContributionRefused
from tontine.jobs.services import enqueue
from tontine.ledger.models import AccountKind
from tontine.ledger.services import Leg, credit, debit, post
from tontine.money import Money, percent_of
from tontine.payments.models import Contribution, Payment, PaymentEvent, Payout
from tontine.payments.provider import PaymentProvider, ProviderEvent
from tontine.payments.states import HOLDS_FUNDS, PaymentState, PayoutState, can_move
from tontine.projects import states as project_states
from tontine.projects.models import Project

PLATFORM = "platform"
#: Largest amount (minor units) accepted from a form or API: far above any real gift,
#: well inside a 64-bit column, so absurd input is refused instead of overflowing.
MAX_MINOR_UNITS = 10**13


def provider(key: str) -> PaymentProvider:
    found = registry().payment_providers.get(key)
    if found is None or key not in current_app.config["PAYMENT_PROVIDERS"]:
        raise DomainError(f"Unknown payment method {key!r}.", field="provider")
    return found


def source_account(payment: Payment, contribution: Contribution) -> tuple[AccountKind, str]:
    """Where the money comes from: the provider's clearing account, or a Tontine balance."""
    if payment.provider == "balance":
        return AccountKind.SUPPORTER_BALANCE, str(contribution.supporter_id)
    return AccountKind.PROVIDER_CLEARING, payment.provider


# --- Contributing -----------------------------------------------------------------------


def contribute(
    *,
    project_id: int,
    supporter: User,
    amount: Decimal | str,
    provider_key: str,
    idempotency_key: str,
    return_url: str | Callable[[Contribution], str],
    tip: Decimal | str = "0",
    details: dict[str, Any] | None = None,
    anonymous: bool = False,
    refund_to: str = "payment_method",
) -> tuple[Contribution, Payment, Any]:
    """Reserve a contribution and start its payment; returns (contribution, payment, start).

    Retrying with the same ``idempotency_key`` returns the first contribution (and a ``None``
    start result: the caller sends the supporter to the existing payment). ``return_url``
    may be a function of the new contribution (the page that shows its outcome).
    """
    if not idempotency_key or len(idempotency_key) > 80:
        raise DomainError("A contribution needs an idempotency key of at most 80 characters.")
    if refund_to not in ("payment_method", "balance"):
        raise DomainError("Refunds go to the payment method or to your balance.", field="refund_to")
    chosen = provider(provider_key)
    supporter_id = supporter.id  # read now: the unit of work's fresh start would reload the user
    with unit_of_work() as session:
        project = lock_row(Project, project_id)
        if project is None:
            raise NotFound("No such project.")
        existing = session.scalars(
            select(Contribution).where(
                Contribution.supporter_id == supporter_id,
                Contribution.idempotency_key == idempotency_key,
            )
        ).first()
        if existing is not None:
            if existing.project_id != project_id:
                raise Conflict("This idempotency key was used for another project.")
            return existing, existing.payments[-1], None
        if project.state != project_states.OPEN or (
            project.deadline is not None and project.deadline <= utcnow()
        ):
            raise ContributionRefused("This project is not taking contributions.")
        try:
            money = Money.from_decimal(amount, project.currency)
            tip_money = Money.from_decimal(tip or "0", project.currency)
        except ValueError as exc:
            raise ContributionRefused(str(exc), field="amount") from exc
        if money.amount <= 0:
            raise ContributionRefused("The amount must be positive.", field="amount")
        if tip_money.amount < 0:
            raise ContributionRefused("The tip cannot be negative.", field="tip")
        if money.amount > MAX_MINOR_UNITS or tip_money.amount > MAX_MINOR_UNITS:
            raise ContributionRefused("This amount is too large.", field="amount")
        from tontine.projects.services import funding_model, reserved

        model = funding_model(project)
        try:
            clean = model.contribution_schema().load(details or {})
        except ValidationError as exc:
            field, message = first_error(exc)
            raise ContributionRefused(f"{field}: {message}", field=field) from exc
        model.validate_contribution(project, money, clean)
        cap = model.cap(project)
        if cap is not None:
            left = cap - reserved(project)
            if money.amount > left:
                if left <= 0:
                    raise ContributionRefused("This project has reached its goal.")
                raise ContributionRefused(
                    f"Only {Money(left, project.currency)} can still be given to this project.",
                    field="amount",
                )
        contribution = Contribution(
            project_id=project.id,
            supporter_id=supporter_id,
            amount=money.amount,
            tip_amount=tip_money.amount,
            currency=project.currency,
            anonymous=anonymous,
            refund_to=refund_to,
            details=clean,
            idempotency_key=idempotency_key,
        )
        session.add(contribution)
        session.flush()
        model.reserve(project, contribution)
        expiry = timedelta(
            minutes=chosen.expiry_minutes or int(current_app.config["CHECKOUT_EXPIRY_MINUTES"])
        )
        payment = Payment(
            contribution=contribution,
            provider=chosen.key,
            provider_ref=f"pending-{secrets.token_hex(12)}",
            amount=contribution.total.amount,
            currency=contribution.currency,
            expires_at=utcnow() + expiry,
        )
        session.add(payment)
        session.flush()
        result = chosen.start(
            payment, return_url(contribution) if callable(return_url) else return_url
        )
        payment.provider_ref = result.provider_ref
        if result.state != PaymentState.CREATED and can_move(payment.state, result.state):
            _set_state(payment, result.state)
        session.flush()
        for event in result.events:
            apply_event(chosen.key, event)
    return contribution, payment, result


def _set_state(payment: Payment, state: PaymentState) -> None:
    payment.state = state
    payment.contribution.state = state


# --- Provider events --------------------------------------------------------------------


UNKNOWN = ("unknown payment", "unknown payout")


def apply_event(provider_key: str, event: ProviderEvent) -> str:
    """Apply one provider event once; returns what happened ("applied", "duplicate", …).

    The payment (or payout) row is locked first, so concurrent deliveries of one event are
    serialized and the second finds the stored event. An event for a payment we do not know
    (yet: a provider may call back before our transaction commits) writes nothing and
    returns "unknown payment", so that a later delivery can still be applied.
    """
    with unit_of_work() as session:
        if event.kind in ("payout_paid", "payout_failed"):
            payout = session.scalars(
                select(Payout)
                .where(Payout.provider == provider_key, Payout.provider_ref == event.provider_ref)
                .with_for_update()
            ).first()
            if payout is None:
                return "unknown payout"
            record = _record_event(provider_key, event, None)
            if record is None:
                return "duplicate"
            outcome = _apply_payout_event(payout, event)
        else:
            # Locked, with its contribution and project in the same query (only the payment
            # row is locked; the project is read again from the identity map when applied).
            found = session.execute(
                select(Payment, Project)
                .join(Contribution, Contribution.id == Payment.contribution_id)
                .join(Project, Project.id == Contribution.project_id)
                .where(Payment.provider == provider_key, Payment.provider_ref == event.provider_ref)
                .options(joinedload(Payment.contribution, innerjoin=True))
                .with_for_update(of=Payment)
            ).first()
            payment = found[0] if found is not None else None
            if payment is None:
                return "unknown payment"
            record = _record_event(provider_key, event, payment.id)
            if record is None:
                return "duplicate"
            outcome = _apply_to_payment(payment, event)
        record.applied = outcome == "applied"
        record.note = outcome[:200]
        return outcome


def _record_event(provider_key: str, event: ProviderEvent, payment_id: int | None) -> PaymentEvent | None:
    """Store the event once; None when it was stored before (a duplicate delivery).

    One ``INSERT … ON CONFLICT DO NOTHING RETURNING`` on the unique (provider, event id): no
    savepoint round trips, and a concurrent delivery of the same event waits for ours.
    """
    session = db.session
    values = {
        "provider": provider_key,
        "event_id": event.event_id[:120],
        "kind": event.kind[:40],
        "amount": event.amount,
        "payment_id": payment_id,
        # Stored as applied (the usual outcome, so usually no second write); apply_event
        # corrects both in the same transaction when the outcome differs.
        "applied": True,
        "note": "applied",
        "received_at": utcnow(),
    }
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as upsert
        else:
            from sqlalchemy.dialects.sqlite import insert as upsert
        return session.scalars(
            upsert(PaymentEvent)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[PaymentEvent.provider, PaymentEvent.event_id])
            .returning(PaymentEvent)
        ).first()
    record = PaymentEvent(**values)
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        return None
    return record


def _apply_to_payment(payment: Payment, event: ProviderEvent) -> str:
    contribution = payment.contribution
    if event.kind == "refund":
        return _apply_refund(payment, event.amount or 0, event.event_id)
    try:
        target = PaymentState(event.kind)
    except ValueError:
        return f"unknown event kind {event.kind!r}"
    if payment.state == target or not can_move(payment.state, target):
        if target == PaymentState.SUCCEEDED and payment.state in LATE_CAPTURE:
            return _return_late_capture(payment, event)
        return "ignored"  # late, repeated or out of order: the stored state is newer
    if target in (PaymentState.REFUNDED, PaymentState.PARTIALLY_REFUNDED):
        return _apply_refund(payment, event.amount or payment.amount - payment.refunded_amount, event.event_id)
    previous = payment.state
    _set_state(payment, target)
    if event.reason:
        payment.failure_reason = event.reason[:200]
    project = db.session.get(Project, contribution.project_id)
    assert project is not None
    if target == PaymentState.SUCCEEDED:
        kind, ref = source_account(payment, contribution)
        legs = [
            Leg(kind, ref, Money(payment.amount, payment.currency)),
            credit(AccountKind.PROJECT_ESCROW, project.id, contribution.money),
        ]
        if contribution.tip_amount:
            legs.append(credit(AccountKind.DONATIONS, PLATFORM, Money(contribution.tip_amount, payment.currency)))
        post("contribution", legs, memo=f"contribution {contribution.id}", cause=f"payment:{payment.id}:succeeded")
        hook().contribution_confirmed(contribution=contribution)
        if project.state in (project_states.FAILED, project_states.WITHDRAWN):
            # Paid after the project failed: the refund scheduled at close found nothing
            # to refund then, so this one needs its own job.
            enqueue("refund_contribution", {"contribution_id": contribution.id},
                    dedupe_key=f"refund:{contribution.id}:late")
    elif target == PaymentState.LOST and previous == PaymentState.DISPUTED:
        kind, ref = source_account(payment, contribution)
        remaining = payment.amount - payment.refunded_amount
        project_part = contribution.amount - contribution.refunded_amount
        legs = [
            debit(AccountKind.PROJECT_ESCROW, project.id, Money(project_part, payment.currency)),
            Leg(kind, ref, Money(-remaining, payment.currency)),
        ]
        if remaining - project_part:
            legs.append(debit(AccountKind.DONATIONS, PLATFORM, Money(remaining - project_part, payment.currency)))
        post("chargeback", legs, memo=f"dispute lost on payment {payment.id}", cause=f"payment:{payment.id}:lost")
        hook().contribution_refunded(contribution=contribution)
    return "applied"


#: States a payment ends in without funds; money captured after them goes straight back.
LATE_CAPTURE = frozenset({PaymentState.FAILED, PaymentState.CANCELLED, PaymentState.EXPIRED})


def _return_late_capture(payment: Payment, event: ProviderEvent) -> str:
    """The provider took the money after the checkout expired or was cancelled: the
    contribution stays as it is (it no longer reserves a share of the goal, and the project
    may be full), and the provider is asked to give the money back. Its refund event then
    finds no funds held and changes nothing, so the books never see the round trip."""
    found = registry().payment_providers.get(payment.provider)
    if found is None:
        return "ignored"
    for refund_event in found.refund(payment, payment.amount, f"late-{event.event_id}"):
        apply_event(payment.provider, refund_event)
    return "ignored: paid too late, refund requested"


def _apply_refund(
    payment: Payment, amount: int, event_id: str, to: tuple[AccountKind, str] | None = None
) -> str:
    """Return ``amount`` to the payer: the project's part first, then the tip.

    The money goes back where it came from, or to ``to`` (the supporter's balance, when the
    supporter chose it for refunds).
    """
    if payment.state not in HOLDS_FUNDS or payment.state == PaymentState.DISPUTED:
        return "ignored"
    remaining = payment.amount - payment.refunded_amount
    amount = min(amount, remaining)
    if amount <= 0:
        return "ignored"
    contribution = payment.contribution
    project_left = contribution.amount - contribution.refunded_amount
    project_part = min(amount, project_left)
    tip_part = amount - project_part
    kind, ref = to or source_account(payment, contribution)
    legs = [
        debit(AccountKind.PROJECT_ESCROW, contribution.project_id, Money(project_part, payment.currency)),
        Leg(kind, ref, Money(-amount, payment.currency)),
    ]
    if tip_part:
        legs.append(debit(AccountKind.DONATIONS, PLATFORM, Money(tip_part, payment.currency)))
    channel = "balance" if to else payment.provider
    post("refund", legs, memo=f"refund of payment {payment.id}", cause=f"refund:{channel}:{event_id}")
    payment.refunded_amount += amount
    contribution.refunded_amount += project_part
    hook().contribution_refunded(contribution=contribution)
    state = PaymentState.REFUNDED if payment.refunded_amount == payment.amount else PaymentState.PARTIALLY_REFUNDED
    _set_state(payment, state)
    return "applied"


# --- Refunds ----------------------------------------------------------------------------


def refund_contribution(contribution_id: int, actor: User | None = None, reason: str = "") -> str:
    """Refund what is left of a contribution, to its payment method or the supporter's balance."""
    with unit_of_work() as session:
        # Lock the payment before the contribution, in the order webhooks take them
        # (``apply_event``), so a refund and a webhook for one payment cannot deadlock.
        payment_id = session.scalar(
            select(Payment.id)
            .where(Payment.contribution_id == contribution_id)
            .order_by(Payment.id.desc())
            .limit(1)
        )
        payment = lock_row(Payment, payment_id) if payment_id is not None else None
        contribution = lock_row(Contribution, contribution_id)
        if contribution is None or payment is None:
            raise NotFound("No such contribution.")
        if payment.state not in HOLDS_FUNDS or payment.state == PaymentState.DISPUTED:
            return "nothing to refund"
        remaining = payment.amount - payment.refunded_amount
        if actor is not None:
            record_staff_action(actor, "refund", f"contribution:{contribution.id}", reason)
        event_id = f"refund-{contribution.id}-{payment.refunded_amount}"
        if contribution.refund_to == "balance" and payment.provider != "balance":
            to = (AccountKind.SUPPORTER_BALANCE, str(contribution.supporter_id or 0))
            _apply_refund(payment, remaining, event_id, to=to)
            return "refunded to balance"
        events = provider(payment.provider).refund(payment, remaining, event_id)
        for event in events:
            apply_event(payment.provider, event)
        session.flush()
        return "refund requested"


def schedule_refunds(project: Project) -> int:
    """Queue one refund job per contribution of ``project`` holding funds (idempotent)."""
    ids = db.session.scalars(
        select(Contribution.id).where(
            Contribution.project_id == project.id, Contribution.state.in_(HOLDS_FUNDS)
        )
    ).all()
    for contribution_id in ids:
        enqueue("refund_contribution", {"contribution_id": contribution_id},
                dedupe_key=f"refund:{contribution_id}")
    return len(ids)


def refund_job(payload: dict[str, Any]) -> None:
    refund_contribution(int(payload["contribution_id"]))


def expire_stale_payments(payload: dict[str, Any] | None = None) -> int:
    """Job: checkouts left unfinished past their expiry release what they reserved."""
    stale = db.session.execute(
        select(Payment.provider, Payment.provider_ref, Payment.id).where(
            Payment.state.in_((PaymentState.CREATED, PaymentState.PENDING, PaymentState.REQUIRES_ACTION)),
            Payment.expires_at < utcnow(),
        )
    ).all()
    db.session.rollback()
    for key, ref, payment_id in stale:
        apply_event(key, ProviderEvent(event_id=f"tontine-expire-{payment_id}", provider_ref=ref,
                                       kind=PaymentState.EXPIRED.value))
    return len(stale)


# --- Payouts ----------------------------------------------------------------------------


def request_payout(project_id: int, actor: User) -> Payout:
    """Send what a funded project raised (less the platform fee) to its owner."""
    from tontine.ledger.services import balance
    from tontine.projects.services import can_edit

    with unit_of_work() as session:
        project = lock_row(Project, project_id)
        if project is None:
            raise NotFound("No such project.")
        if not (can_edit(actor, project) or actor.is_admin):
            raise Forbidden("You cannot request a payout for this project.")
        if project.state not in (project_states.FUNDED, project_states.RUNNING, project_states.COMPLETED):
            raise DomainError("Money is paid out once the project is funded.")
        held = balance(AccountKind.PROJECT_ESCROW, project.id, project.currency)
        if held.amount <= 0:
            raise DomainError("There is nothing left to pay out.")
        fee = percent_of(held.amount, Decimal(str(current_app.config["PLATFORM_FEE_PERCENT"])))
        net = held.amount - fee
        provider_key = payout_provider_key()
        payout = Payout(
            project_id=project.id, amount=net, fee_amount=fee, currency=project.currency,
            provider=provider_key, requested_by=actor.id,
        )
        session.add(payout)
        session.flush()
        payout.provider_ref = f"payout-{payout.id}"
        post(
            "payout",
            [
                debit(AccountKind.PROJECT_ESCROW, project.id, held),
                credit(AccountKind.PLATFORM_FEES, PLATFORM, Money(fee, project.currency)),
                credit(AccountKind.PAYOUTS_IN_TRANSIT, payout.id, Money(net, project.currency)),
            ],
            memo=f"payout {payout.id} for project {project.id}",
            cause=f"payout:{payout.id}:requested",
        )
        record_staff_action(actor, "payout_requested", f"payout:{payout.id}", "owner requested payout")
        _send_payout(payout)
    return payout


def request_balance_payout(user: User, amount: Money | Decimal | str, currency: str) -> Payout:
    """Pay part of a supporter's Tontine balance out to them, through the site's provider.

    The user row is locked while the balance is read, so two requests at once cannot spend
    the same money; the balance leaves (into ``PAYOUTS_IN_TRANSIT``) in the same unit of
    work that creates the payout, and a failed payout puts it back.
    """
    from flask_babel import gettext as _

    from tontine.ledger.services import balance

    wanted: Money | None = amount if isinstance(amount, Money) else None
    if wanted is None:
        try:
            wanted = Money.from_decimal(str(amount).strip().replace(",", "."), currency)
        except (ValueError, ArithmeticError):
            wanted = None
    if wanted is None or wanted.currency != currency or wanted.amount > MAX_MINOR_UNITS:
        raise DomainError(_("Enter an amount in %(currency)s.", currency=currency), field="amount")
    amount = wanted
    if amount.amount <= 0:
        raise DomainError(_("The amount must be more than zero."), field="amount")
    provider_key = payout_provider_key()
    with unit_of_work() as session:
        if lock_row(User, user.id) is None:
            raise NotFound("No such account.")
        held = balance(AccountKind.SUPPORTER_BALANCE, user.id, currency)
        if held.amount < amount.amount:
            raise DomainError(
                _("You cannot withdraw more than your balance of %(balance)s.", balance=str(held)),
                field="amount",
            )
        payout = Payout(
            supporter_id=user.id, amount=amount.amount, fee_amount=0, currency=currency,
            provider=provider_key, requested_by=user.id,
        )
        session.add(payout)
        session.flush()
        payout.provider_ref = f"payout-{payout.id}"
        post(
            "payout",
            [
                debit(AccountKind.SUPPORTER_BALANCE, user.id, amount),
                credit(AccountKind.PAYOUTS_IN_TRANSIT, payout.id, amount),
            ],
            memo=f"payout {payout.id} from the balance of account {user.id}",
            cause=f"payout:{payout.id}:requested",
        )
        _send_payout(payout)
    return payout


def _send_payout(payout: Payout) -> None:
    """Ask the payout's provider to send it; events it answers at once apply now."""
    for event in provider(payout.provider).payout(payout):
        apply_event(payout.provider, event)


def payout_provider_key() -> str:
    """The first configured provider that can send money out (a balance cannot)."""
    for key in current_app.config["PAYMENT_PROVIDERS"]:
        found = registry().payment_providers.get(key)
        if found is not None and found.pays_out:
            return key
    raise DomainError("No payment method of this site can pay money out.")


def _apply_payout_event(payout: Payout, event: ProviderEvent) -> str:
    provider_key = payout.provider
    target = PayoutState.PAID if event.kind == "payout_paid" else PayoutState.FAILED
    if payout.state != PayoutState.REQUESTED:
        return "ignored"
    payout.state = target
    net = Money(payout.amount, payout.currency)
    if target == PayoutState.PAID:
        post("payout_paid",
             [debit(AccountKind.PAYOUTS_IN_TRANSIT, payout.id, net),
              credit(AccountKind.PROVIDER_CLEARING, provider_key, net)],
             memo=f"payout {payout.id} paid", cause=f"payout:{payout.id}:paid")
    else:
        # The money goes back where it came from: the project's escrow (with the fee it
        # paid), or the supporter's balance.
        payout.failure_reason = event.reason[:200]
        in_transit = debit(AccountKind.PAYOUTS_IN_TRANSIT, payout.id, net)
        if payout.supporter_id is not None:
            legs = [in_transit, credit(AccountKind.SUPPORTER_BALANCE, payout.supporter_id, net)]
        else:
            fee = Money(payout.fee_amount, payout.currency)
            legs = [in_transit,
                    debit(AccountKind.PLATFORM_FEES, PLATFORM, fee),
                    credit(AccountKind.PROJECT_ESCROW, payout.project_id, net + fee)]
        post("payout_failed", legs,
             memo=f"payout {payout.id} failed", cause=f"payout:{payout.id}:failed")
    return "applied"


def record_staff_action(actor: User, action: str, subject: str, reason: str) -> None:
    db.session.add(StaffAction(actor_id=actor.id, action=action, subject=subject, reason=reason[:500]))


def mark_received(payment_id: int, staff: User, reason: str) -> str:
    """Staff confirm a bank transfer arrived (manual provider); recorded with who and why."""
    if not staff.is_moderator:
        raise Forbidden("Only staff can mark a transfer as received.")
    if not reason.strip():
        raise DomainError("Say how the transfer was checked.", field="reason")
    with unit_of_work():
        payment = lock_row(Payment, payment_id)
        if payment is None:
            raise NotFound("No such payment.")
        if not registry().payment_providers.get(payment.provider, PaymentProvider()).staff_confirms:
            raise DomainError("Only bank transfers are marked received by staff.")
        if payment.state not in (PaymentState.CREATED, PaymentState.PENDING, PaymentState.REQUIRES_ACTION):
            raise Conflict(f"This payment is already {payment.state.value}.")
        record_staff_action(staff, "transfer_received", f"payment:{payment.id}", reason)
        return apply_event(payment.provider, ProviderEvent(
            event_id=f"staff-received-{payment.id}", provider_ref=payment.provider_ref,
            kind=PaymentState.SUCCEEDED.value))


def pending_transfers() -> list[Payment]:
    """Payments waiting for staff to confirm money arrived (bank transfers), oldest first."""
    keys = [key for key, found in registry().payment_providers.items() if found.staff_confirms]
    return list(db.session.scalars(
        select(Payment).where(
            Payment.provider.in_(keys),
            Payment.state.in_((PaymentState.CREATED, PaymentState.PENDING, PaymentState.REQUIRES_ACTION)),
        ).order_by(Payment.id)
    ))


def payouts_of(project_id: int) -> list[Payout]:
    return list(db.session.scalars(
        select(Payout).where(Payout.project_id == project_id).order_by(Payout.id.desc())
    ))


def balance_payouts_of(user: User) -> list[Payout]:
    """A supporter's payouts from their balance, newest first."""
    return list(db.session.scalars(
        select(Payout).where(Payout.supporter_id == user.id).order_by(Payout.id.desc())
    ))


def contributions_of(user: User) -> list[Contribution]:
    """A supporter's contributions, newest first, with their payments (one query each)."""
    from sqlalchemy.orm import selectinload

    return list(db.session.scalars(
        select(Contribution)
        .where(Contribution.supporter_id == user.id)
        .options(selectinload(Contribution.payments))
        .order_by(Contribution.id.desc())
    ))
