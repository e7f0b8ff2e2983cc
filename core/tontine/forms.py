"""The base of every Tontine form."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from babel import support
from flask_babel import get_locale
from flask_wtf import FlaskForm
from wtforms.i18n import messages_path


@lru_cache(maxsize=16)
def _wtforms_catalog(locale: str) -> support.Translations:
    """WTForms' own messages ("Not a valid choice", …) in one language, read once per process."""
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class Form(FlaskForm):
    """A Flask-WTF form (CSRF token included) whose built-in messages follow the visitor's
    language. Flask-WTF alone reads WTForms' catalog from disk on every request that builds
    a form; this reads it once per language."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form: Any) -> Any:
            return _wtforms_catalog(str(get_locale() or "en"))
