"""Project pages: browse, the project page, the owner's dashboard and forms, moderation.

Views are thin: they read forms, call ``projects.services`` (which own the transactions) and
show a domain refusal as a message on the same form with a 4xx status.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from marshmallow import EXCLUDE, ValidationError
from sqlalchemy import select
from werkzeug.routing import BuildError

from tontine import storage
from tontine.accounts.models import User
from tontine.db import db
from tontine.errors import DomainError
from tontine.extensions import registry
from tontine.money import Money
from tontine.payments.models import Contribution
from tontine.payments.states import HOLDS_FUNDS, PaymentState
from tontine.projects import browse as listing
from tontine.projects import services, states
from tontine.projects.forms import (
    STATE_LABELS,
    ActionForm,
    CommentForm,
    ProjectForm,
    RejectForm,
    UpdateForm,
    WithdrawForm,
    category_choices,
    terms_from,
)
from tontine.projects.models import Comment, Project
from tontine.projects.schemas import ProjectQuerySchema
from tontine.projects.states import IllegalTransition

bp = Blueprint("projects", __name__, url_prefix="/projects")

#: Contributions the owner sees on the supporters page (everything that was once paid).
PAID_STATES = HOLDS_FUNDS | {PaymentState.REFUNDED, PaymentState.LOST}


@bp.app_context_processor
def project_helpers() -> dict[str, Any]:
    return {
        "state_label": state_label,
        "photo_url": photo_url,
        "paragraphs": paragraphs,
    }


def state_label(state: str) -> Any:
    """The state's name for people: the core's, or the funding model's that added it."""
    if state in STATE_LABELS:
        return STATE_LABELS[state]
    for model in registry().funding_models.values():
        if state in model.state_labels:
            return model.state_labels[state]
    return state


def photo_url(key: str | None, external: bool = False) -> str | None:
    """Where a stored photo is served (absolute from BASE_URL when ``external``)."""
    if not key:
        return None
    path = url_for("media.file", key=key)
    return current_app.config["BASE_URL"] + path if external else path


def absolute(endpoint: str, **values: Any) -> str:
    """An absolute link built from the instance's origin, never from the Host header."""
    return current_app.config["BASE_URL"] + url_for(endpoint, **values)


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined,no-any-return]


def _visible(project_id: int) -> Project:
    """The project if this visitor may see it; drafts are 404 to everyone but staff."""
    project = services.get_project(project_id)
    if not services.can_view(current_user, project):
        abort(404)
    return project


def _owned(project_id: int) -> Project:
    """The project if the current user may act as its owner; 403 otherwise."""
    project = services.get_project(project_id)
    if not services.can_edit(current_user, project):
        abort(403)
    return project


def _moderator() -> User:
    if not current_user.is_moderator:
        abort(403)
    return _user()


def _model_choices() -> list[tuple[str, str]]:
    return [(key, str(model.label or key)) for key, model in registry().funding_models.items()]


# --- Browse -----------------------------------------------------------------------------


@bp.get("/")
def browse():  # type: ignore[no-untyped-def]
    error = None
    status = 200
    filters: dict[str, Any] = {}
    results = None
    try:
        args = ProjectQuerySchema(unknown=EXCLUDE).load(request.args)
        filters = {name: args.get(name) or "" for name in listing.FILTERS}
        results = _results(filters, args.get("cursor"))
    except ValidationError:
        error, status = _("Some search filters are not valid."), 400
        filters = {name: request.args.get(name, "")[:120] for name in listing.FILTERS}
    except listing.BadQuery as exc:
        error, status = exc.message, 400
    body = render_template(
        "projects/browse.html",
        results=results,
        filters=filters,
        error=error,
        categories=category_choices(_("All categories")),
        public_states=[
            s for s in [*STATE_LABELS, *sorted(services.state_table().states - set(STATE_LABELS))]
            if states.is_public(s)
        ],
        models=_model_choices(),
    )
    return body, status


def _results(filters: dict[str, Any], cursor: str | None) -> Markup:
    """The cards and pager of one list page, from the fragment cache when fresh."""
    active = {k: v for k, v in filters.items() if v}

    def render() -> str:
        result = listing.page(filters, cursor)
        next_url = (
            url_for(".browse", **active, cursor=result.next_cursor) if result.next_cursor else None
        )
        return render_template(
            "projects/_results.html",
            cards=result.cards,
            next_url=next_url,
            first_url=url_for(".browse", **active) if cursor else None,
        )

    cache = current_app.extensions.setdefault("tontine.listing_cache", listing.FragmentCache())
    key = (str(get_locale()), tuple(sorted(active.items())), cursor)
    return Markup(cache.get_or_render(key, float(current_app.config["BROWSE_CACHE_SECONDS"]), render))


# --- The project page --------------------------------------------------------------------


def public_supporters(project_id: int) -> list[str]:
    """Names shown on the page: each named supporter once, anonymous gifts as "Anonymous"."""
    rows = db.session.execute(
        select(Contribution.supporter_id, Contribution.anonymous, User.display_name)
        .outerjoin(User, User.id == Contribution.supporter_id)
        .where(Contribution.project_id == project_id, Contribution.state.in_(HOLDS_FUNDS))
        .order_by(Contribution.id.desc())
        .limit(500)
    ).all()
    names: list[str] = []
    seen: set[int] = set()
    for supporter_id, anonymous, name in rows:
        if anonymous or supporter_id is None or not name:
            names.append(_("Anonymous"))
        elif supporter_id not in seen:
            seen.add(supporter_id)
            names.append(name)
    return names


def _comments(project_id: int) -> list[Any]:
    return list(
        db.session.execute(
            select(Comment, User.display_name)
            .outerjoin(User, User.id == Comment.author_id)
            .where(Comment.project_id == project_id, Comment.hidden.is_(False))
            .order_by(Comment.id)
        )
    )


def _give_url(project: Project) -> str | None:
    if project.state != states.OPEN:
        return None
    try:
        return url_for("payments.give", project_id=project.id)
    except BuildError:  # the payments pages are not installed on this site
        return None


def paragraphs(text: str) -> list[str]:
    """A plain-text story cut into paragraphs at blank lines."""
    return [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]


def _render_detail(project: Project, comment_form: CommentForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    card = listing.cards_for([project])[0]
    model = registry().funding_models.get(project.funding_model)
    page_url = absolute("projects.detail", project_id=project.id)
    body = render_template(
        "projects/detail.html",
        project=project,
        card=card,
        raised=card.raised,
        backer_count=card.backer_count,
        model=model,
        story=paragraphs(project.story),
        supporters=public_supporters(project.id),
        updates=project.updates,
        comments=_comments(project.id),
        comment_form=comment_form or CommentForm(),
        give_url=_give_url(project),
        page_url=page_url,
        image_url=photo_url(project.photo or project.person.photo, external=True),
        can_edit=services.can_edit(current_user, project),
        public=states.is_public(project.state),
    )
    return body, status


@bp.get("/<int:project_id>")
def detail(project_id: int):  # type: ignore[no-untyped-def]
    return _render_detail(_visible(project_id))


@bp.post("/<int:project_id>/comments")
@login_required
def comment(project_id: int):  # type: ignore[no-untyped-def]
    project = _visible(project_id)
    form = CommentForm()
    if form.validate_on_submit():
        try:
            services.add_comment(project, _user(), form.body.data or "")
        except DomainError as exc:
            form.body.errors = [*form.body.errors, exc.message]
        else:
            flash(_("Your comment is published."), "success")
            return redirect(url_for(".detail", project_id=project.id) + "#comments", code=303)
    return _render_detail(project, comment_form=form, status=400)


# --- The owner's dashboard and forms ----------------------------------------------------------


def _dashboard(error: str | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    mine = db.session.scalars(
        select(Project).where(Project.owner_id == current_user.id).order_by(Project.id.desc())
    ).all()
    body = render_template(
        "projects/dashboard.html",
        cards=listing.cards_for(mine),
        action_form=ActionForm(),
        error=error,
        editable=services.EDITABLE_STATES,
    )
    return body, status


@bp.get("/mine")
@login_required
def dashboard():  # type: ignore[no-untyped-def]
    return _dashboard()


def _show_error(form: ProjectForm, exc: DomainError) -> None:
    """Put a service's refusal next to the field it is about (or on top of the form)."""
    field = (exc.field or "").split(".", 1)[0]
    if field in form and field != "terms":
        form[field].errors = [*form[field].errors, exc.message]
    else:
        form.form_errors.append(exc.message)


def _save(form: ProjectForm, terms: dict[str, Any], project: Project | None) -> Project:
    """Store the photo, then create or update the listing; the photo goes if that fails."""
    live = project is not None and project.state not in services.EDITABLE_STATES
    if live:
        data: dict[str, Any] = {"summary": form.summary.data or "", "story": form.story.data or ""}
    else:
        data = {
            "title": (form.title.data or "").strip(),
            "summary": (form.summary.data or "").strip(),
            "story": form.story.data or "",
            "place": (form.place.data or "").strip(),
            "country": (form.country.data or "").strip().upper(),
            "category": form.category.data or "",
            "goal": str(form.goal.data),
            "duration_days": form.duration_days.data,
            "funding_model": form.funding_model.data,
            "terms": terms,
        }
        if project is None and (form.person_name.data or "").strip():
            data["person_name"] = form.person_name.data.strip()
    upload = form.photo.data
    key = None
    if upload is not None and getattr(upload, "filename", ""):
        key = storage.save_image(upload.read())
        data["photo"] = key
    try:
        if project is None:
            return services.create_project(_user(), data)
        return services.update_project(project, _user(), data)
    except BaseException:
        storage.delete(key)
        raise


def _project_form(project: Project | None):  # type: ignore[no-untyped-def]
    models = _model_choices()
    if not models:
        raise DomainError(_("No funding model is enabled on this site."), status=503)
    keys = [key for key, _label in models]
    live = project is not None and project.state not in services.EDITABLE_STATES
    currency = project.currency if project else current_app.config["CURRENCY"]
    if request.method == "POST":
        form = ProjectForm(models=models, currency=currency)
        terms = terms_from(request.form)
    elif project is None:
        chosen = request.args.get("model")
        form = ProjectForm(
            models=models, currency=currency, funding_model=chosen if chosen in keys else keys[0]
        )
        terms = {}
    else:
        form = ProjectForm(
            models=models,
            currency=currency,
            title=project.title,
            summary=project.summary,
            story=project.story,
            place=project.place,
            country=project.country,
            category=project.category,
            goal=project.goal.to_decimal(),
            duration_days=int((project.terms or {}).get("duration_days", 30)),
            funding_model=project.funding_model,
        )
        terms = {k: v for k, v in (project.terms or {}).items() if k != "duration_days"}
    if live:
        for name in (
            "title",
            "place",
            "country",
            "category",
            "goal",
            "duration_days",
            "funding_model",
        ):
            delattr(form, name)
    return form, terms, live, keys


def _edit_page(project: Project | None):  # type: ignore[no-untyped-def]
    form, terms, live, keys = _project_form(project)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:  # the terms again, with their uploaded files (refused: a form message)
                saved = _save(form, terms_from(request.form, request.files), project)
            except DomainError as exc:
                _show_error(form, exc)
            else:
                if project is None:
                    flash(
                        _(
                            "Your project is saved as a draft. Submit it for review when it is ready."
                        ),
                        "success",
                    )
                else:
                    flash(_("Your changes are saved."), "success")
                return redirect(url_for(".dashboard") + f"#project-{saved.id}", code=303)
        status = 400
    model_key = project.funding_model if live and project else form.funding_model.data
    model = registry().funding_models.get(model_key if model_key in keys else keys[0])
    body = render_template(
        "projects/form.html", form=form, project=project, model=model, terms=terms, live=live
    )
    return body, status


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():  # type: ignore[no-untyped-def]
    return _edit_page(None)


@bp.route("/<int:project_id>/edit", methods=["GET", "POST"])
@login_required
def edit(project_id: int):  # type: ignore[no-untyped-def]
    return _edit_page(_owned(project_id))


def _act(project: Project, action: Any, done: str, refused: str):  # type: ignore[no-untyped-def]
    """Run a state change from a dashboard button; refusals come back on the dashboard."""
    form = ActionForm()
    if not form.validate_on_submit():
        return _dashboard(_("The form expired; please try again."), 400)
    try:
        action()
    except IllegalTransition:
        return _dashboard(refused, 409)
    except DomainError as exc:
        return _dashboard(exc.message, exc.status)
    flash(done, "success")
    return redirect(url_for(".dashboard") + f"#project-{project.id}", code=303)


@bp.post("/<int:project_id>/submit")
@login_required
def submit(project_id: int):  # type: ignore[no-untyped-def]
    project = _owned(project_id)
    return _act(
        project,
        lambda: services.submit(project, _user()),
        _("Your project is submitted; a moderator will review it."),
        _("This project cannot be submitted in its current state."),
    )


@bp.post("/<int:project_id>/withdraw")
@login_required
def withdraw(project_id: int):  # type: ignore[no-untyped-def]
    project = _owned(project_id)
    reason = WithdrawForm().reason.data or ""
    return _act(
        project,
        lambda: services.withdraw(project, _user(), reason[:500]),
        _("Your project is withdrawn."),
        _("This project can no longer be withdrawn."),
    )


@bp.route("/<int:project_id>/updates/new", methods=["GET", "POST"])
@login_required
def post_update(project_id: int):  # type: ignore[no-untyped-def]
    project = _owned(project_id)
    form = UpdateForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                services.post_update(project, _user(), form.title.data or "", form.body.data or "")
            except DomainError as exc:
                form.form_errors.append(exc.message)
            else:
                flash(_("Your update is published."), "success")
                return redirect(url_for(".detail", project_id=project.id) + "#updates", code=303)
        status = 400
    return render_template("projects/update_form.html", form=form, project=project), status


@bp.get("/<int:project_id>/supporters")
@login_required
def supporters(project_id: int):  # type: ignore[no-untyped-def]
    project = services.get_project(project_id)
    if not (services.can_edit(current_user, project) or current_user.is_moderator):
        abort(403)
    rows = db.session.execute(
        select(Contribution, User.display_name)
        .outerjoin(User, User.id == Contribution.supporter_id)
        .where(Contribution.project_id == project.id, Contribution.state.in_(PAID_STATES))
        .order_by(Contribution.id.desc())
    ).all()
    total = Money(
        sum(c.net_amount for c, _name in rows if c.state in HOLDS_FUNDS), project.currency
    )
    return render_template("projects/supporters.html", project=project, rows=rows, total=total)


# --- Moderation -----------------------------------------------------------------------------


def _moderation_page(errors: dict[int, RejectForm] | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    waiting = db.session.scalars(
        select(Project).where(Project.state == states.IN_REVIEW).order_by(Project.id)
    ).all()
    forms = errors or {}
    body = render_template(
        "projects/moderation.html",
        cards=listing.cards_for(waiting),
        action_form=ActionForm(),
        reject_forms={p.id: forms.get(p.id) or RejectForm(formdata=None) for p in waiting},
        model_labels=dict(_model_choices()),
    )
    return body, status


@bp.get("/moderation")
@login_required
def moderation():  # type: ignore[no-untyped-def]
    _moderator()
    return _moderation_page()


@bp.post("/<int:project_id>/approve")
@login_required
def approve(project_id: int):  # type: ignore[no-untyped-def]
    moderator = _moderator()
    project = services.get_project(project_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.approve(project, moderator)
    except IllegalTransition:
        flash(_("Only projects in review can be approved."), "error")
        return _moderation_page(status=409)
    flash(_("“%(title)s” is open.", title=project.title), "success")
    return redirect(url_for(".moderation"), code=303)


@bp.post("/<int:project_id>/reject")
@login_required
def reject(project_id: int):  # type: ignore[no-untyped-def]
    moderator = _moderator()
    project = services.get_project(project_id)
    form = RejectForm()
    if form.validate_on_submit():
        try:
            services.reject(project, moderator, form.reason.data or "")
        except IllegalTransition:
            form.reason.errors = [_("Only projects in review can be rejected.")]
            return _moderation_page({project.id: form}, status=409)
        except DomainError as exc:
            form.reason.errors = [exc.message]
        else:
            flash(_("“%(title)s” is sent back to its owner.", title=project.title), "success")
            return redirect(url_for(".moderation"), code=303)
    return _moderation_page({project.id: form}, status=400)


@bp.post("/<int:project_id>/feature")
@login_required
def feature(project_id: int):  # type: ignore[no-untyped-def]
    """Moderators put a project on the home page (``featured=1``) or take it off."""
    moderator = _moderator()
    project = _visible(project_id)
    featured = request.form.get("featured") == "1"
    services.set_featured(project, moderator, featured)
    flash(
        _("This project is now featured on the home page.")
        if featured
        else _("This project is no longer featured."),
        "success",
    )
    return redirect(url_for(".detail", project_id=project.id), code=303)


@bp.post("/<int:project_id>/comments/<int:comment_id>/hide")
@login_required
def hide_comment(project_id: int, comment_id: int):  # type: ignore[no-untyped-def]
    moderator = _moderator()
    project = _visible(project_id)
    comment = db.session.get(Comment, comment_id) if 0 < comment_id < 2**31 else None
    if comment is None or comment.project_id != project.id:
        abort(404)
    services.hide_comment(comment.id, moderator)
    flash(_("The comment is hidden."), "success")
    return redirect(url_for(".detail", project_id=project.id) + "#comments", code=303)
