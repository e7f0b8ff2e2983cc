"""E-mail: queued as jobs, delivered by the worker through SMTP (or to the console).

``send_mail`` renders the message at once, in the recipient's locale, and enqueues a
``deliver_email`` job in the caller's transaction: a mail about something that was rolled
back is never sent, and an SMTP outage delays the mail instead of failing the request.
Jobs run at least once, so every message carries a ``Message-ID`` fixed at enqueue time:
a repeated delivery is recognisable as the same message.

Links in mails are built from ``BASE_URL`` (``external_url``), never from a request's
``Host`` header, which a client controls.
"""

from __future__ import annotations

import logging
import smtplib
import sys
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale, get_locale

from tontine.jobs.models import Job
from tontine.jobs.services import enqueue

log = logging.getLogger(__name__)


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL on this site's public origin (``BASE_URL``), with or without a request."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http"
    )
    return adapter.build(endpoint, values, force_external=True)


def _locale_for(locale: str | None) -> str:
    locales = current_app.config["LOCALES"]
    if locale in locales:
        return str(locale)
    current = str(get_locale() or "")
    return current if current in locales else current_app.config["LOCALE"]


def send_mail(to: str, subject: str, template: str, **context: Any) -> Job | None:
    """Queue a mail rendered from ``mail/<template>.txt`` in the recipient's locale.

    ``locale`` in ``context`` is the recipient's preferred locale (the site's default or the
    current one otherwise). ``subject`` may be a ``lazy_gettext`` string: it is rendered in
    that locale too. The job joins the current transaction.
    """
    locale = _locale_for(context.pop("locale", None))
    with force_locale(locale):
        context.setdefault("site_name", current_app.config["NAME"])
        context.setdefault("base_url", current_app.config["BASE_URL"])
        body = render_template(f"mail/{template}.txt", **context)
        subject_text = str(subject)
    domain = urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"
    payload = {
        "to": to,
        "subject": subject_text,
        "body": body,
        "locale": locale,
        "message_id": make_msgid(domain=domain),
    }
    return enqueue("deliver_email", payload)


def build_message(payload: dict[str, Any]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = payload["to"]
    message["Subject"] = payload["subject"]
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = payload.get("message_id") or make_msgid()
    message.set_content(payload["body"])  # clears Content-* headers: set them after
    if payload.get("locale"):
        message["Content-Language"] = payload["locale"]
    return message


def deliver_email(payload: dict[str, Any]) -> None:
    """Job handler: send one queued mail; an exception makes the worker retry later."""
    message = build_message(payload)
    config = current_app.config
    server = config.get("MAIL_SERVER") or ""
    if not server:
        headers = "".join(
            f"{name}: {message[name]}\n" for name in ("From", "To", "Subject", "Message-ID")
        )
        text = (
            "--- e-mail (MAIL_SERVER is empty: printed, not sent) ---\n"
            f"{headers}\n{payload['body'].rstrip()}\n--- end of e-mail ---"
        )
        log.info("%s", text)
        print(text, file=sys.stdout, flush=True)
        return
    with smtplib.SMTP(server, int(config.get("MAIL_PORT") or 25), timeout=30) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(message)
