"""Projects API: the public listings, filtered and paged like the browse page.

Amounts are decimal strings with their currency (``{"amount": "12.50", "currency": "EUR"}``);
bad query parameters are a 422 problem, an unknown or unpublished project a 404.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, url_for
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from tontine.money import Money
from tontine.projects import browse as listing
from tontine.projects import services
from tontine.projects.schemas import ProjectOutputSchema, ProjectPageSchema, ProjectQuerySchema

blp = Blueprint("projects_api", __name__, url_prefix="/projects", description="Project listings")


def money(value: Money) -> dict[str, str]:
    return {"amount": value.decimal_string(), "currency": value.currency}


def to_output(card: listing.Card) -> dict[str, Any]:
    """One listing as the API shows it (links are absolute, from the instance's origin)."""
    project = card.project
    base = current_app.config["BASE_URL"]
    photo = project.photo or project.person.photo
    return {
        "id": project.id,
        "title": project.title,
        "summary": project.summary,
        "story": project.story,
        "owner_name": project.person.name,
        "place": project.place,
        "country": project.country,
        "category": project.category,
        "state": project.state,
        "funding_model": project.funding_model,
        "terms": project.terms or {},
        "goal": money(project.goal),
        "raised": money(card.raised),
        "backer_count": card.backer_count,
        "deadline": project.deadline,
        "url": base + url_for("projects.detail", project_id=project.id),
        "photo_url": base + url_for("media.file", key=photo) if photo else None,
    }


@blp.route("/")
class ProjectList(MethodView):
    @blp.arguments(ProjectQuerySchema, location="query")
    @blp.response(200, ProjectPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Public listings, newest first; pass ``next_cursor`` back as ``cursor`` for more."""
        page = listing.page(args, args.get("cursor"), args["limit"])
        return {"items": [to_output(card) for card in page.cards], "next_cursor": page.next_cursor}


@blp.route("/<int:project_id>")
class ProjectItem(MethodView):
    @blp.response(200, ProjectOutputSchema)
    @blp.alt_response(404, description="No such published project")
    def get(self, project_id: int) -> dict[str, Any]:
        """One listing; drafts and projects in review exist only for their owner and staff."""
        project = services.get_project(project_id)
        if not services.can_view(current_user, project):
            abort(404)
        return to_output(listing.cards_for([project])[0])
