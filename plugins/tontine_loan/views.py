"""Loan pages: partners, the partner's dashboard, disbursal and repayments, the lender's portfolio.

Views are thin: they read forms, call the services (which own the transactions) and show a
refusal as a message on the same form with a 4xx status.
"""

from __future__ import annotations

import secrets
from datetime import date
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from tontine.accounts.models import Organization, User
from tontine.db import db
from tontine.errors import DomainError
from tontine.ledger.models import AccountKind
from tontine.ledger.services import balance
from tontine.money import Money, allocate
from tontine.projects.models import Project
from tontine.projects.services import get_project
from tontine_loan import partners as partner_services
from tontine_loan import reports, services
from tontine_loan import teams as team_services
from tontine_loan.forms import (
    ActionForm,
    DisburseForm,
    PartnerForm,
    RatingForm,
    RepaymentForm,
    SettlementForm,
    StaffForm,
    TeamForm,
)
from tontine_loan.funding import ticket_rules
from tontine_loan.models import FieldPartner, LenderShare, Loan, Repayment
from tontine_loan.schedule import ScheduleError, build_schedule
from tontine_loan.schemas import GENDERS

bp = Blueprint("loan", __name__, template_folder="templates")

FREQUENCY_LABELS = {
    "monthly": _l("Monthly"),
    "quarterly": _l("Quarterly"),
    "at_end": _l("At the end of the term"),
    "irregular": _l("Irregular"),
}


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined,no-any-return]


def _admin() -> User:
    if not current_user.is_authenticated or not current_user.is_admin:
        abort(403)
    return _user()


def _managed(project_id: int) -> tuple[Project, Loan]:
    project = get_project(project_id)
    if project.funding_model != "loan":
        abort(404)
    if not services.can_manage(current_user, project):
        abort(403)
    return project, services.get_loan(project.id)


# --- What the project page and forms include --------------------------------------------


def loan_section(project: Project) -> dict[str, Any]:
    """Everything the loan part of a project page shows."""
    terms = project.terms or {}
    partner = db.session.get(FieldPartner, terms["partner_id"]) if terms.get("partner_id") else None
    loan = db.session.get(Loan, project.id)
    instalments: list[dict[str, Any]] = []
    if loan is not None and loan.instalments:
        paid = services.settled_total(project.id)
        running = 0
        for i in loan.instalments:
            running += i.total
            instalments.append(
                {
                    "number": i.number,
                    "due": i.due,
                    "principal": Money(i.principal, loan.currency),
                    "interest": Money(i.interest, loan.currency),
                    "paid": running <= paid,
                }
            )
    elif terms.get("repayment_frequency") == "irregular":
        weights = [
            Money.round_decimal(Decimal(part), project.currency).amount
            for _due, part in terms.get("irregular_schedule") or []
        ]
        parts = allocate(project.goal_amount, weights) if weights and sum(weights) else []
        instalments = [
            {
                "number": n,
                "due": date.fromisoformat(due),
                "principal": Money(part, project.currency),
                "interest": Money(0, project.currency),
                "paid": False,
            }
            for n, ((due, _w), part) in enumerate(
                zip(terms["irregular_schedule"], parts, strict=True), 1
            )
        ]
    else:
        try:
            preview = build_schedule(
                project.goal.to_decimal(),
                services.lender_rate(terms),
                int(terms.get("term_months") or 1),
                terms.get("method") or "zero_interest",
                int(terms.get("grace_months") or 0),
                date.fromisoformat(terms["disbursal_date"])
                if terms.get("disbursal_date")
                else None,
                project.currency,
                day_count=terms.get("day_count", "30/360"),
            )
        except (ScheduleError, ValueError):
            preview = []
        instalments = [
            {
                "number": i.number,
                "due": i.due,
                "principal": Money.from_decimal(i.principal, project.currency),
                "interest": Money.from_decimal(i.interest, project.currency),
                "paid": False,
            }
            for i in preview
        ]
    lenders = (
        db.session.execute(
            select(User.display_name, LenderShare.amount, Organization.name)
            .join(User, User.id == LenderShare.lender_id)
            .outerjoin(Organization, Organization.id == LenderShare.team_id)
            .where(LenderShare.project_id == project.id, User.erased_at.is_(None))
            .order_by(LenderShare.id)
        ).all()
        if loan is not None
        else []
    )
    minimum, step = ticket_rules(project.currency)
    mine = None
    if loan is not None and current_user.is_authenticated:
        mine = next(iter(reports.portfolio(current_user.id, project.id)), None)
    return {
        "mine": mine,
        "admin_form": ActionForm()
        if current_user.is_authenticated and current_user.is_admin
        else None,
        "terms": terms,
        "partner": partner,
        "loan": loan,
        "instalments": instalments,
        "scheduled": bool(loan is not None and loan.instalments),
        "lenders": [
            (name, Money(amount, project.currency), team) for name, amount, team in lenders
        ],
        "can_manage": services.can_manage(current_user, project),
        "minimum": minimum,
        "step": step,
        "frequency": FREQUENCY_LABELS.get(
            terms.get("repayment_frequency", "monthly"), FREQUENCY_LABELS["monthly"]
        ),
    }


@bp.app_context_processor
def loan_helpers() -> dict[str, Any]:
    def partner_choices() -> list[FieldPartner]:
        return list(
            db.session.scalars(
                select(FieldPartner).where(FieldPartner.active.is_(True)).order_by(FieldPartner.id)
            )
        )

    def my_teams() -> list[Any]:
        if not current_user.is_authenticated:
            return []
        return team_services.teams_of(current_user.id)

    return {
        "loan_section": loan_section,
        "loan_partner_choices": partner_choices,
        "loan_my_teams": my_teams,
        "money_of": lambda amount, currency: Money(int(amount or 0), currency),
        "loan_date": lambda day: format_date(day, "medium") if day else "",
    }


# --- Partners ---------------------------------------------------------------------------


@bp.get("/partners/")
def partners():  # type: ignore[no-untyped-def]
    rows = db.session.scalars(
        select(FieldPartner).where(FieldPartner.active.is_(True)).order_by(FieldPartner.id)
    ).all()
    currency = current_app.config["CURRENCY"]
    listed = [(p, reports.partner_figures(p, currency)) for p in rows]
    return render_template(
        "loan/partners.html",
        partners=listed,
        can_add=current_user.is_authenticated and current_user.is_admin,
    )


@bp.get("/partners/<int(max=2147483647):partner_id>")
def partner(partner_id: int):  # type: ignore[no-untyped-def]
    found = partner_services.get_partner(partner_id)
    figures = reports.partner_figures(found, current_app.config["CURRENCY"])
    is_admin = current_user.is_authenticated and current_user.is_admin
    return render_template(
        "loan/partner.html",
        partner=found,
        figures=figures,
        projects=reports.partner_projects(found),
        staff_form=StaffForm() if is_admin else None,
        rating_form=RatingForm() if is_admin else None,
        is_staff=bool(
            current_user.is_authenticated
            and current_user.has_role(partner_services.Role.PARTNER_STAFF, found.organization_id)
        ),
    )


@bp.route("/partners/new", methods=["GET", "POST"])
@login_required
def new_partner():  # type: ignore[no-untyped-def]
    admin = _admin()
    form = PartnerForm()
    status = 200
    if form.validate_on_submit():
        try:
            created = partner_services.create_partner(
                admin,
                name=form.name.data or "",
                country=form.country.data or "",
                borrower_rate=form.borrower_rate.data or "0",
                risk_rating=form.risk_rating.data,
                description=form.description.data or "",
                website=form.website.data or "",
            )
        except DomainError as exc:
            field = getattr(form, exc.field or "", None)
            if field is not None:
                field.errors = [*field.errors, exc.message]
            else:
                form.form_errors.append(exc.message)
        else:
            flash(_("The field partner is registered."), "success")
            return redirect(url_for(".partner", partner_id=created.id), code=303)
    if form.is_submitted():
        status = 400
    return render_template("loan/partner_form.html", form=form), status


@bp.post("/partners/<int(max=2147483647):partner_id>/staff")
@login_required
def add_staff(partner_id: int):  # type: ignore[no-untyped-def]
    admin = _admin()
    form = StaffForm()
    if form.validate_on_submit():
        user = db.session.scalars(
            select(User).where(User.email == (form.email.data or "").strip().lower())
        ).first()
        if user is None:
            flash(_("No account uses this e-mail address."), "error")
            return redirect(url_for(".partner", partner_id=partner_id), code=303)
        partner_services.add_staff(admin, partner_id, user)
        flash(_("%(name)s is now on the partner's staff.", name=user.display_name), "success")
    else:
        flash(_("Enter the e-mail address of an account."), "error")
    return redirect(url_for(".partner", partner_id=partner_id), code=303)


@bp.post("/partners/<int(max=2147483647):partner_id>/rating")
@login_required
def rate_partner(partner_id: int):  # type: ignore[no-untyped-def]
    admin = _admin()
    form = RatingForm()
    if form.validate_on_submit():
        partner_services.set_risk_rating(
            admin, partner_id, form.risk_rating.data or 0, form.reason.data or ""
        )
        flash(_("The risk rating is saved."), "success")
    else:
        flash(_("The risk rating is a whole number from 1 to 5, with a reason."), "error")
    return redirect(url_for(".partner", partner_id=partner_id), code=303)


@bp.get("/partners/<int(max=2147483647):partner_id>/dashboard")
@login_required
def dashboard(partner_id: int):  # type: ignore[no-untyped-def]
    found = partner_services.get_partner(partner_id)
    if not (
        current_user.is_admin
        or current_user.has_role(partner_services.Role.PARTNER_STAFF, found.organization_id)
    ):
        abort(403)
    projects = db.session.scalars(
        select(Project)
        .where(
            Project.funding_model == "loan", Project.terms["partner_id"].as_integer() == found.id
        )
        .order_by(Project.id.desc())
    ).all()
    today = date.today()
    rows = []
    for project in projects:
        loan = db.session.get(Loan, project.id)
        behind = 0
        if loan is not None and loan.instalments:
            behind = max(0, services.due_by(loan, today) - services.settled_total(project.id))
        rows.append((project, loan, Money(behind, project.currency)))
    currency = current_app.config["CURRENCY"]
    return render_template(
        "loan/dashboard.html",
        partner=found,
        rows=rows,
        figures=reports.partner_figures(found, currency),
        position=partner_services.partner_position(found, currency),
        settlement_form=SettlementForm() if current_user.is_admin else None,
    )


@bp.post("/partners/<int(max=2147483647):partner_id>/transfers")
@login_required
def settle(partner_id: int):  # type: ignore[no-untyped-def]
    admin = _admin()
    form = SettlementForm()
    if not form.validate_on_submit():
        flash(_("Give the direction, the amount and how the transfer was checked."), "error")
        return redirect(url_for(".dashboard", partner_id=partner_id), code=303)
    try:
        partner_services.settle(
            admin,
            partner_id,
            amount=form.amount.data or "",
            direction=form.direction.data,
            currency=current_app.config["CURRENCY"],
            reason=form.reason.data or "",
        )
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(_("The transfer is recorded."), "success")
    return redirect(url_for(".dashboard", partner_id=partner_id), code=303)


# --- Disbursal and repayments -----------------------------------------------------------


@bp.route("/loans/<int(max=2147483647):project_id>/disburse", methods=["GET", "POST"])
@login_required
def disburse(project_id: int):  # type: ignore[no-untyped-def]
    project, loan = _managed(project_id)
    form = DisburseForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.disburse(
                project.id,
                _user(),
                disbursed_on=form.disbursed_on.data,
                rate=form.rate.data or None,
                note=form.note.data or "",
            )
        except DomainError as exc:
            form.form_errors.append(exc.message)
            status = exc.status
        else:
            flash(_("The disbursal is recorded and the schedule is set."), "success")
            return redirect(url_for(".repayments", project_id=project.id), code=303)
    elif form.is_submitted():
        status = 400
    return render_template("loan/disburse.html", project=project, loan=loan, form=form), status


def _repayments_page(project: Project, loan: Loan, form: RepaymentForm, status: int = 200):  # type: ignore[no-untyped-def]
    if not form.idempotency_key.data:
        form.idempotency_key.data = secrets.token_urlsafe(16)
    repayments = db.session.scalars(
        select(Repayment).where(Repayment.project_id == project.id).order_by(Repayment.id.desc())
    ).all()
    owed = (
        sum(p.outstanding for p in services.positions(loan)) if loan.instalments else loan.principal
    )
    return render_template(
        "loan/repayments.html",
        project=project,
        loan=loan,
        form=form,
        repayments=repayments,
        owed=Money(owed, loan.currency),
        section=loan_section(project),
    ), status


@bp.route("/loans/<int(max=2147483647):project_id>/repayments", methods=["GET", "POST"])
@login_required
def repayments(project_id: int):  # type: ignore[no-untyped-def]
    project, loan = _managed(project_id)
    form = RepaymentForm()
    if not form.is_submitted():
        return _repayments_page(project, loan, form)
    if not form.validate():
        return _repayments_page(project, loan, form, 400)
    try:
        services.record_repayment(
            project.id,
            _user(),
            paid_on=form.paid_on.data,
            idempotency_key=form.idempotency_key.data,
            amount=form.amount.data or None,
            local_amount=form.local_amount.data or None,
            rate=form.rate.data or None,
            note=form.note.data or "",
        )
    except DomainError as exc:
        field = getattr(form, exc.field or "", None)
        if field is not None and exc.field in ("amount", "local_amount", "rate"):
            field.errors = [*field.errors, exc.message]
        else:
            form.form_errors.append(exc.message)
        return _repayments_page(project, loan, form, exc.status)
    flash(_("The repayment is recorded and shared among the lenders."), "success")
    return redirect(url_for(".repayments", project_id=project.id), code=303)


# --- The lender's portfolio -------------------------------------------------------------


@bp.get("/my/loans")
@login_required
def portfolio():  # type: ignore[no-untyped-def]
    holdings = reports.portfolio(current_user.id)
    currency = current_app.config["CURRENCY"]
    months = reports.repayments_by_month(current_user.id)
    peak = max((m.amount for _, m in months), default=0)
    totals = {
        key: Money(
            sum(getattr(h, key).amount for h in holdings if h.lent.currency == currency), currency
        )
        for key in ("lent", "repaid", "outstanding", "lost")
    }
    return render_template(
        "loan/portfolio.html",
        holdings=holdings,
        months=months,
        peak=peak,
        totals=totals,
        action_form=ActionForm(),
        balance=balance(AccountKind.SUPPORTER_BALANCE, current_user.id, currency),
    )


@bp.post("/my/loans/donate")
@login_required
def donate():  # type: ignore[no-untyped-def]
    from flask import request

    from tontine_loan.balance import donate as give

    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        give(_user(), request.form.get("amount", ""), current_app.config["CURRENCY"])
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for(".portfolio"), code=303)
    flash(_("Thank you: your gift keeps the site running."), "success")
    return redirect(url_for(".portfolio"), code=303)


@bp.get("/my/loans.csv")
@login_required
def portfolio_csv():  # type: ignore[no-untyped-def]
    return Response(
        reports.portfolio_csv(current_user.id),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=my-loans.csv"},
    )


# --- Lending teams ----------------------------------------------------------------------


def _teams_page(form: TeamForm, status: int = 200):  # type: ignore[no-untyped-def]
    from tontine_loan.models import LendingTeam

    teams = db.session.scalars(select(LendingTeam).order_by(LendingTeam.id.desc()).limit(200)).all()
    return render_template("loan/teams.html", teams=teams, form=form), status


@bp.get("/teams/")
def teams():  # type: ignore[no-untyped-def]
    return _teams_page(TeamForm())


@bp.post("/teams/")
@login_required
def create_team():  # type: ignore[no-untyped-def]
    form = TeamForm()
    if not form.validate_on_submit():
        return _teams_page(form, 400)
    try:
        team = team_services.create_team(_user(), form.name.data or "", form.description.data or "")
    except DomainError as exc:
        form.name.errors = [*form.name.errors, exc.message]
        return _teams_page(form, exc.status)
    flash(_("Your team is created."), "success")
    return redirect(url_for(".team", team_id=team.id), code=303)


@bp.get("/teams/<int(max=2147483647):team_id>")
def team(team_id: int):  # type: ignore[no-untyped-def]
    page = team_services.team_page(team_id)
    member = current_user.is_authenticated and team_services.is_member(team_id, current_user.id)
    return render_template("loan/team.html", page=page, member=member, action_form=ActionForm())


@bp.post("/teams/<int(max=2147483647):team_id>/join")
@login_required
def join_team(team_id: int):  # type: ignore[no-untyped-def]
    if not ActionForm().validate_on_submit():
        abort(400)
    team_services.join_team(_user(), team_id)
    flash(_("You joined the team."), "success")
    return redirect(url_for(".team", team_id=team_id), code=303)


@bp.post("/teams/<int(max=2147483647):team_id>/leave")
@login_required
def leave_team(team_id: int):  # type: ignore[no-untyped-def]
    if not ActionForm().validate_on_submit():
        abort(400)
    team_services.leave_team(_user(), team_id)
    flash(_("You left the team."), "success")
    return redirect(url_for(".team", team_id=team_id), code=303)


# --- Auto-lending -----------------------------------------------------------------------


@bp.route("/my/loans/auto", methods=["GET", "POST"])
@login_required
def auto_lending():  # type: ignore[no-untyped-def]
    from flask import request

    from tontine.projects.forms import category_choices
    from tontine_loan import autolend

    form = ActionForm()
    error = None
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        data = {
            "enabled": request.form.get("enabled", ""),
            "countries": request.form.get("countries", ""),
            "categories": request.form.getlist("categories"),
            "max_risk_rating": request.form.get("max_risk_rating", ""),
            "max_term_months": request.form.get("max_term_months", ""),
            "idle_days": request.form.get("idle_days", ""),
        }
        try:
            autolend.save_settings(_user(), data)
        except DomainError as exc:
            error = exc.message
            status = 400
        else:
            flash(_("Your auto-lending settings are saved."), "success")
            return redirect(url_for(".auto_lending"), code=303)
    setting = autolend.settings_of(current_user.id)
    return render_template(
        "loan/auto_lending.html",
        form=form,
        setting=setting,
        error=error,
        categories=[c for c in category_choices() if c[0]],
        default_idle=autolend.DEFAULT_IDLE_DAYS,
    ), status


# --- Browsing loans ---------------------------------------------------------------------


@bp.get("/loans/")
def browse():  # type: ignore[no-untyped-def]
    from flask import request

    from tontine.projects.browse import cards_for
    from tontine.projects.forms import category_choices
    from tontine.projects.schemas import CATEGORIES

    args = request.args
    country = (args.get("country") or "").strip().upper()
    category = args.get("category") or ""
    sort = args.get("sort") or "ending"
    partner_arg = args.get("partner") or ""
    if (
        (country and (len(country) != 2 or not country.isalpha()))
        or (category and category not in CATEGORIES)
        or sort not in reports.SORTS
        or (partner_arg and not (partner_arg.isdigit() and len(partner_arg) < 10))
    ):
        raise DomainError(_("Unknown filter: choose from the lists."), status=400)
    partner_id = int(partner_arg) if partner_arg else None
    gender = args.get("gender") or ""
    if gender and gender not in GENDERS:
        raise DomainError(_("Unknown filter: choose from the lists."), status=400)
    projects = reports.browse_loans(
        country=country, category=category, partner_id=partner_id, sort=sort, gender=gender
    )
    partners = db.session.scalars(
        select(FieldPartner).where(FieldPartner.active.is_(True)).order_by(FieldPartner.id)
    ).all()
    return render_template(
        "loan/browse.html",
        cards=cards_for(projects),
        countries=reports.loan_countries(),
        categories=[c for c in category_choices() if c[0]],
        partners=partners,
        chosen={
            "country": country,
            "category": category,
            "partner": partner_id,
            "gender": gender,
            "sort": sort,
        },
    )


@bp.post("/loans/<int(max=2147483647):project_id>/default")
@login_required
def declare_default(project_id: int):  # type: ignore[no-untyped-def]
    from flask import request

    admin = _admin()
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.declare_default(project_id, admin, request.form.get("reason", ""))
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(_("The loan is declared in default and what was owed is written off."), "success")
    return redirect(url_for("projects.detail", project_id=project_id), code=303)


# --- Withdrawals ------------------------------------------------------------------------


@bp.post("/my/loans/withdraw")
@login_required
def withdraw():  # type: ignore[no-untyped-def]
    from flask import request

    from tontine_loan.balance import request_withdrawal

    if not ActionForm().validate_on_submit():
        abort(400)
    amount = request.form.get("amount", "")
    try:
        request_withdrawal(_user(), amount, current_app.config["CURRENCY"])
    except DomainError as exc:
        return _withdrawals_page(error=exc.message, amount=amount), 422
    flash(_("Your withdrawal is requested: the payment to you follows."), "success")
    return redirect(url_for(".withdrawals"), code=303)


@bp.get("/my/loans/withdrawals")
@login_required
def withdrawals():  # type: ignore[no-untyped-def]
    return _withdrawals_page()


def _withdrawals_page(error: str = "", amount: str = "") -> str:
    """The lender's balance, the withdraw form and their payouts (requested, paid, failed)."""
    from tontine.payments.services import balance_payouts_of

    return render_template(
        "loan/withdrawals.html",
        payouts=balance_payouts_of(_user()),
        balance=balance(AccountKind.SUPPORTER_BALANCE, current_user.id, current_app.config["CURRENCY"]),
        action_form=ActionForm(),
        error=error,
        amount=amount[:20],
    )
