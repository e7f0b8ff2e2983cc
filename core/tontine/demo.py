"""Demo data: staff accounts from the core, then whatever each enabled plugin loads.

``tontine demo-data`` calls ``load_demo_data()``. Loading twice changes nothing: accounts
are found by e-mail and plugins key their objects the same way. A password is generated and
shown only when its account is created; nothing secret is written to disk.
"""

from __future__ import annotations

import secrets

from tontine.accounts.models import Role, User
from tontine.accounts.services import create_user, find_by_email, grant_role
from tontine.extensions import hook

#: Demo staff, keyed by e-mail: (name, roles).
STAFF: dict[str, tuple[str, tuple[Role, ...]]] = {
    "admin@demo.example.org": ("Camille (admin)", (Role.SUPPORTER, Role.ADMIN)),
    "moderator@demo.example.org": ("Moussa (moderation)", (Role.SUPPORTER, Role.MODERATOR)),
}
MODERATOR_EMAIL = "moderator@demo.example.org"


def demo_password() -> str:
    """A password strong enough for a demo that may end up on the Internet."""
    return "demo-" + secrets.token_urlsafe(12)


def ensure_account(
    email: str, name: str, roles: tuple[Role, ...], password: str | None = None
) -> tuple[User, str | None]:
    """The account with ``email`` (created with ``roles`` if missing) and its new password.

    The password (``password`` or a generated one) is None when the account already
    existed: it is never shown twice.
    """
    user = find_by_email(email)
    if user is not None:
        for role in roles:
            if not any(a.role == role and a.organization_id is None for a in user.roles):
                grant_role(user, role)
        return user, None
    password = password or demo_password()
    return create_user(email=email, password=password, display_name=name, roles=roles), password


def demo_staff() -> User:
    """The demo moderator (plugins use it to approve dreams and confirm bank transfers)."""
    name, roles = STAFF[MODERATOR_EMAIL]
    return ensure_account(MODERATOR_EMAIL, name, roles)[0]


def load_demo_data() -> str:
    """Create the demo staff, then call every plugin's ``load_demo_data``; say what happened."""
    lines = []
    for email, (name, roles) in STAFF.items():
        _user, password = ensure_account(email, name, roles)
        if password:
            lines.append(f"created {email} with password {password} (shown once)")
        else:
            lines.append(f"{email} already exists (password unchanged)")
    results = hook().load_demo_data()
    lines.extend(result for result in results if result)
    return "\n".join(lines)
