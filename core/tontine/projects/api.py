"""Projects API."""

from flask_smorest import Blueprint

blp = Blueprint("projects_api", __name__, url_prefix="/projects", description="Project listings")
