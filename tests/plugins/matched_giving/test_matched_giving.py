"""The matched-giving walkthrough (docs/writing-a-plugin.md) works end to end.

``tontine_matched`` sits next to this file, outside the tontine distribution, as a third
party's package would: it is put on ``sys.path`` (as ``pip install`` would) and registered the
way pluggy registers an entry point's module, or through a real entry point.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent
PACKAGE = ROOT / "tontine_matched"
DOC = ROOT.parents[2] / "docs" / "writing-a-plugin.md"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import tontine_matched

from tontine.db import db, unit_of_work
from tontine.errors import DomainError
from tontine.hookspecs import hookimpl
from tontine.ledger.models import AccountKind
from tontine.ledger.services import balance, credit, debit, post, trial_balance
from tontine.money import Money
from tontine.payments.provider import PaymentProvider, ProviderEvent, StartResult


class InstantCard(PaymentProvider):
    """A card that is accepted at once: the payment side is not what this plugin is about."""

    key = "card"
    label = "Card"

    def start(self, payment: Any, return_url: str) -> StartResult:
        ref = f"card-{payment.id}"
        paid = ProviderEvent(event_id=f"paid-{payment.id}", provider_ref=ref, kind="succeeded")
        return StartResult(provider_ref=ref, events=[paid])

    def refund(self, payment: Any, amount: int, event_id: str) -> list[ProviderEvent]:
        return [ProviderEvent(event_id=event_id, provider_ref=payment.provider_ref, kind="refund", amount=amount)]


class CardPlugin:
    @hookimpl
    def register_payment_providers(self) -> list[Any]:
        return [InstantCard()]


def euros(amount: str) -> Money:
    return Money.from_decimal(amount, "EUR")


@pytest.fixture
def site(make_app: Any) -> Any:
    app = make_app(plugins=[], extra_plugins=[tontine_matched, CardPlugin()], PAYMENT_PROVIDERS=["card"])
    with app.app_context():
        yield app


def top_up(user: Any, amount: str) -> None:
    """The sponsor pays money into their Tontine balance (as the balance plugin would)."""
    with unit_of_work():
        post(
            "top_up",
            [
                debit(AccountKind.PROVIDER_CLEARING, "card", euros(amount)),
                credit(AccountKind.SUPPORTER_BALANCE, user.id, euros(amount)),
            ],
            cause=f"top_up:{user.id}:{amount}",
        )


def give(project: Any, supporter: Any, amount: str, key: str) -> Any:
    from tontine.payments.services import contribute

    contribution, payment, _ = contribute(
        project_id=project.id,
        supporter=supporter,
        amount=amount,
        provider_key="card",
        idempotency_key=key,
        return_url="/",
    )
    assert payment.state == "succeeded"
    return contribution


def matches_of(project_id: int) -> list[int]:
    from sqlalchemy import select
    from tontine_matched.models import Match

    db.session.expire_all()
    return list(db.session.scalars(select(Match.amount).where(Match.project_id == project_id).order_by(Match.id)))


def test_a_sponsor_doubles_each_gift_up_to_the_cap(site: Any, make_user: Any, make_project: Any) -> None:
    from tontine.projects.services import raised

    sponsor = make_user(name="Fondation Lumière")
    top_up(sponsor, "300")
    project = make_project(
        funding_model="matched", goal=1000, terms={"sponsor_id": str(sponsor.id), "match_cap": "250"}
    )
    alice, bob, carol, dan = (make_user() for _ in range(4))

    give(project, alice, "100", "a")
    assert balance(AccountKind.PROJECT_ESCROW, project.id, "EUR") == euros("200")
    give(project, bob, "120", "b")
    give(project, carol, "50", "c")  # only 30 left to match
    give(project, dan, "10", "d")  # the cap is reached: no match

    assert matches_of(project.id) == [10000, 12000, 3000]
    assert raised(project) == euros("280")  # what supporters gave
    assert balance(AccountKind.PROJECT_ESCROW, project.id, "EUR") == euros("530")  # and the match
    assert balance(AccountKind.SUPPORTER_BALANCE, sponsor.id, "EUR") == euros("50")
    assert trial_balance() == {"EUR": 0}


def test_a_repeated_confirmation_matches_nothing_twice(site: Any, make_user: Any, make_project: Any) -> None:
    from tontine.extensions import hook
    from tontine.payments.services import apply_event

    sponsor = make_user()
    top_up(sponsor, "500")
    project = make_project(funding_model="matched", terms={"sponsor_id": sponsor.id, "match_cap": "400"})
    contribution = give(project, make_user(), "40", "once")
    payment = contribution.payments[-1]

    late = ProviderEvent(event_id=f"paid-{payment.id}", provider_ref=payment.provider_ref, kind="succeeded")
    assert apply_event("card", late) == "duplicate"
    again = ProviderEvent(event_id="paid-again", provider_ref=payment.provider_ref, kind="succeeded")
    assert apply_event("card", again) == "ignored"
    with unit_of_work():
        hook().contribution_confirmed(contribution=contribution)

    assert matches_of(project.id) == [4000]
    assert balance(AccountKind.PROJECT_ESCROW, project.id, "EUR") == euros("80")
    assert trial_balance() == {"EUR": 0}


def test_the_match_never_exceeds_the_sponsors_balance(site: Any, make_user: Any, make_project: Any) -> None:
    sponsor = make_user()
    top_up(sponsor, "25.50")
    project = make_project(funding_model="matched", terms={"sponsor_id": sponsor.id, "match_cap": "1000"})
    give(project, make_user(), "20", "x")
    give(project, make_user(), "20", "y")
    give(project, make_user(), "20", "z")
    assert matches_of(project.id) == [2000, 550]
    assert balance(AccountKind.SUPPORTER_BALANCE, sponsor.id, "EUR") == euros("0")
    assert trial_balance() == {"EUR": 0}


def test_other_funding_models_are_left_alone(site: Any, make_user: Any, make_project: Any) -> None:
    from tontine.funding import FundingModel

    class Plain(FundingModel):
        key = "plain"

    site.extensions["tontine"].funding_models["plain"] = Plain()
    sponsor = make_user()
    top_up(sponsor, "100")
    project = make_project(funding_model="plain", goal=500)
    give(project, make_user(), "30", "p")
    assert balance(AccountKind.PROJECT_ESCROW, project.id, "EUR") == euros("30")
    assert balance(AccountKind.SUPPORTER_BALANCE, sponsor.id, "EUR") == euros("100")


@pytest.mark.parametrize(
    ("terms", "field", "message"),
    [
        ({"match_cap": "100"}, "terms.sponsor_id", "Missing data"),
        ({"sponsor_id": "99999", "match_cap": "100"}, "terms.sponsor_id", "No account has this number"),
        ({"sponsor_id": "abc", "match_cap": "100"}, "terms.sponsor_id", "Not a valid integer"),
        ({"sponsor_id": "SPONSOR", "match_cap": "-5"}, "terms.match_cap", "greater than 0"),
        ({"sponsor_id": "SPONSOR", "match_cap": "lots"}, "terms.match_cap", "Not a valid number"),
    ],
)
def test_bad_terms_are_refused_with_a_clear_message(
    site: Any, make_user: Any, make_project: Any, terms: dict[str, str], field: str, message: str
) -> None:
    from sqlalchemy import func, select

    from tontine.projects.models import Project

    sponsor = make_user()
    terms = {key: str(sponsor.id) if value == "SPONSOR" else value for key, value in terms.items()}
    with pytest.raises(DomainError) as refused:
        make_project(funding_model="matched", terms=terms)
    assert refused.value.field == field
    assert message in refused.value.message
    assert db.session.scalar(select(func.count()).select_from(Project)) == 0


def test_the_project_page_shows_the_match(site: Any, make_user: Any, make_project: Any) -> None:
    from flask import render_template

    from tontine.projects.services import raised

    sponsor = make_user()
    top_up(sponsor, "100")
    project = make_project(funding_model="matched", terms={"sponsor_id": sponsor.id, "match_cap": "60"})
    give(project, make_user(), "45", "page")
    with site.test_request_context("/", headers={"Accept-Language": "en"}):
        html = render_template("matched/page.html", project=project, raised=raised(project), backer_count=1)
    assert "up to €60.00 in total" in html
    assert 'data-matched="4500"' in html and "Matched so far: €45.00" in html


def test_the_plugins_migration_matches_its_model(site: Any) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from tontine.db import Base

    def only_ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        table = obj if type_ == "table" else getattr(obj, "table", None)
        return table is None or table.name == "matched_gifts"

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": only_ours})
        assert compare_metadata(context, Base.metadata) == []


def test_registered_through_an_entry_point(
    make_app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``pip install tontine-matched`` leaves behind is enough to enable it by name."""
    from tontine.plugins import installed_plugins

    dist = tmp_path / "tontine_matched-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tontine-matched\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[tontine]\nmatched = tontine_matched\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "matched" in installed_plugins()
    app = make_app(plugins=["matched"], PAYMENT_PROVIDERS=[])
    assert "matched" in app.extensions["tontine"].funding_models
    assert app.extensions["tontine"].pm.get_plugin("matched") is tontine_matched


FILE_MARK = re.compile(r"<!-- file: (\S+) -->\n```\w*\n(.*?)```", re.DOTALL)


def test_the_walkthrough_shows_exactly_this_plugins_code() -> None:
    shown = {name: code for name, code in FILE_MARK.findall(DOC.read_text())}
    files = {
        str(path.relative_to(ROOT)): path.read_text()
        for path in sorted(PACKAGE.rglob("*"))
        if path.is_file() and path.suffix in {".py", ".html"}
    }
    assert set(shown) == set(files), "docs/writing-a-plugin.md must show every file of the plugin"
    for name, code in files.items():
        assert shown[name] == code, f"{name} in docs/writing-a-plugin.md differs from {PACKAGE.name}"


def test_end_to_end_over_http_with_the_sandbox(live_server: Any, make_user: Any, make_project: Any) -> None:
    """A supporter gives on the live site, pays on the sandbox's page; its webhook brings the match."""
    import requests

    from tontine.testing import csrf_token_from, wait_for

    server = live_server(extra_plugins=[tontine_matched])
    with server.app.app_context():
        sponsor = make_user(name="Fondation Lumière")
        top_up(sponsor, "100")
        project = make_project(funding_model="matched", goal=500,
                               terms={"sponsor_id": sponsor.id, "match_cap": "100"})
        make_user(email="ines@example.org", password="ines's long password")
        project_id, sponsor_id = project.id, sponsor.id

    browser = requests.Session()
    browser.headers["Accept-Language"] = "en"
    login_page = browser.get(f"{server.url}/account/login")
    browser.post(f"{server.url}/account/login", data={
        "csrf_token": csrf_token_from(login_page.text),
        "email": "ines@example.org", "password": "ines's long password"})
    page = browser.get(f"{server.url}/projects/{project_id}")
    assert "Every gift is doubled" in page.text  # the plugin's page fragment, on the real page
    give_page = browser.get(f"{server.url}/projects/{project_id}/give")
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', give_page.text).group(1)
    checkout = browser.post(f"{server.url}/projects/{project_id}/give", data={
        "csrf_token": csrf_token_from(give_page.text), "idempotency_key": key,
        "amount": "30", "provider": "sandbox", "refund_to": "payment_method"})
    assert "/sandbox/checkout/" in checkout.url
    browser.post(checkout.url, data={"csrf_token": csrf_token_from(checkout.text), "action": "pay"})

    def matched() -> list[int]:
        with server.app.app_context():
            try:
                return matches_of(project_id)
            finally:
                db.session.remove()

    assert wait_for(matched, timeout=30) == [3000]
    with server.app.app_context():
        assert balance(AccountKind.PROJECT_ESCROW, project_id, "EUR") == euros("60")
        assert balance(AccountKind.SUPPORTER_BALANCE, sponsor_id, "EUR") == euros("70")
        assert trial_balance() == {"EUR": 0}
        db.session.remove()
