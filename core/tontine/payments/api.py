"""Contributions API."""

from flask_smorest import Blueprint

blp = Blueprint("contributions_api", __name__, url_prefix="/contributions", description="Contributions")
