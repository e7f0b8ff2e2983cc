"""Errors: JSON problem bodies (RFC 9457) for the API and webhooks, pages for people.

A service raises a ``DomainError`` subclass with a message meant for the user; the view
turns it into a 4xx. Nothing a client sends may produce a 500.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """A request the domain refuses; ``status`` is the HTTP status it maps to."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if status is not None:
            self.status = status


def first_error(exc: ValidationError) -> tuple[str, str]:
    """The first (field, message) of a marshmallow error, for one clear form or API message."""
    field, messages = next(iter(exc.normalized_messages().items()))
    while isinstance(messages, dict):
        messages = next(iter(messages.values()))
    message = messages[0] if isinstance(messages, list) else messages
    while isinstance(message, dict | list):
        message = next(iter(message.values())) if isinstance(message, dict) else message[0]
    return str(field), str(message)


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


def wants_problem_json() -> bool:
    path = request.path
    return (
        path.startswith(("/api/", "/payments/webhook"))
        or request.accept_mimetypes.best == "application/json"
    )


def problem(status: int, title: str, detail: str | None = None, **extra: Any):  # type: ignore[no-untyped-def]
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):  # type: ignore[no-untyped-def]
        if wants_problem_json():
            extra = {"field": exc.field} if exc.field else {}
            return problem(exc.status, exc.message, **extra)
        return render_template("error.html", status=exc.status, message=exc.message), exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        status = exc.code or 500
        if wants_problem_json():
            extra: dict[str, Any] = {}
            data = getattr(exc, "data", None)
            if isinstance(data, dict) and "messages" in data:
                extra["errors"] = data["messages"]
            response = problem(status, exc.name, exc.description, **extra)
            for key, value in exc.get_headers():
                if key.lower() == "retry-after":
                    response.headers[key] = value
            return response
        message = exc.description if status != 404 else _("This page does not exist.")
        response = app.make_response(
            (render_template("error.html", status=status, message=message), status)
        )
        for key, value in exc.get_headers():
            if key.lower() == "retry-after":
                response.headers[key] = value
        return response
