"""Locale selection and locale-aware formatting of money and dates."""

from __future__ import annotations

from decimal import Decimal

from babel import Locale
from babel.numbers import parse_pattern
from flask import Flask, current_app, has_request_context, request, session
from flask_babel import format_currency, format_datetime, get_locale

from tontine.money import Money


def select_locale() -> str:
    """The session's choice (the switcher), else the browser's best match, else the default."""
    if not has_request_context():  # jobs, CLI, services called from tests
        return current_app.config["LOCALE"]
    locales = current_app.config["LOCALES"]
    chosen = session.get("locale")
    if chosen in locales:
        return chosen
    return request.accept_languages.best_match(locales) or current_app.config["LOCALE"]


def format_money(value: Money | None) -> str:
    """``Money(123456, 'EUR')`` → ``1 234,56 €`` in French, ``€1,234.56`` in English."""
    if value is None:
        return ""
    return format_currency(value.to_decimal(), value.currency)


def format_money_short(value: Money | None) -> str:
    """Money without minor units when they are zero (``€50`` rather than ``€50.00``).

    The locale's own currency pattern, without decimals: ``€50`` in English, ``50 €`` in French.
    """
    if value is None:
        return ""
    amount = value.to_decimal()
    if amount == amount.to_integral_value():
        locale = get_locale() or Locale.parse(current_app.config["LOCALE"])
        pattern = parse_pattern(locale.currency_formats["standard"].pattern)
        pattern.frac_prec = (0, 0)
        return pattern.apply(Decimal(int(amount)), locale, currency=value.currency, currency_digits=False)
    return format_money(value)


def install_filters(app: Flask) -> None:
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["money_short"] = format_money_short
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale())
