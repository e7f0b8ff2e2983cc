"""Flask extensions shared by every app; each is bound to an app in ``create_app``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy
from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect

if TYPE_CHECKING:
    from tontine.funding import FundingModel
    from tontine.payments.provider import PaymentProvider

babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


@dataclass
class Registry:
    """What the plugins registered for one app."""

    pm: pluggy.PluginManager
    funding_models: dict[str, FundingModel] = field(default_factory=dict)
    payment_providers: dict[str, PaymentProvider] = field(default_factory=dict)
    job_handlers: dict[str, Any] = field(default_factory=dict)
    schedules: list[tuple[str, str, int]] = field(default_factory=list)


def registry() -> Registry:
    """The current app's registry (plugin manager, funding models, providers, jobs)."""
    return current_app.extensions["tontine"]


def hook() -> Any:
    """The current app's hook relay: ``hook().project_saved(project=p)``."""
    return registry().pm.hook
