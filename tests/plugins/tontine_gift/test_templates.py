"""What supporters and owners see: the project section, the reward choice, the terms fields."""

from __future__ import annotations

import re

import pytest
from flask import render_template_string


def _render(app, source: str, method: str = "GET", data=None, **context) -> str:
    with app.test_request_context("/", method=method, data=data):
        return render_template_string(source, **context)


def _section(app, project, raised_amount: int) -> str:
    from tontine.money import Money

    return _render(
        app,
        '{% include "gift/project_section.html" %}',
        project=project,
        raised=Money(raised_amount, project.currency),
        backer_count=0,
    )


def test_the_section_says_all_or_nothing_or_keep_it_all(site, make_project):
    html = _section(site, make_project(goal=1000), 0)
    assert "All or nothing" in html and "every gift is refunded" in html
    html = _section(site, make_project(goal=1000, terms={"mode": "keep_it_all"}), 0)
    assert "Keep it all" in html


def test_stretch_goals_are_shown_reached_or_not(site, make_project):
    project = make_project(goal=1000, terms={"stretch_goals": "1500 | A second oven\n2500 | A van"})
    html = _section(site, project, 180_000)
    assert "Stretch goals" in html
    oven = re.search(
        r'<li class="stretch-goal (\S+)">[^<]*<span class="amount">[^<]*</span> — A second oven',
        html,
    )
    van = re.search(
        r'<li class="stretch-goal (\S+)">[^<]*<span class="amount">[^<]*</span> — A van', html
    )
    assert oven and oven.group(1) == "reached"
    assert van and van.group(1) == "not-reached"
    assert "€1,500" in html and "€2,500" in html
    assert "reached" in html and "not reached yet" in html


def test_rewards_show_what_is_left_and_sold_out(site, draft_with_tiers, make_user, give):
    project, (_card, dinner, bread) = draft_with_tiers(
        [
            {"title": "Postcard", "min_amount": "10"},
            {"title": "Dinner at the bakery", "min_amount": "50", "quantity": 1},
            {"title": "Bread for a month", "min_amount": "30", "quantity": 10},
        ],
        goal=1000,
    )
    give(project, make_user(), "50", tier=dinner)
    give(project, make_user(), "30", tier=bread)
    html = _section(site, project, 8000)
    dinner_html = html[html.index("Dinner at the bakery") : html.index("Bread for a month")]
    assert "Sold out" in dinner_html
    assert "9 left of 10" in html
    assert "Unlimited" in html
    assert "For a gift of €50 or more" in html


def test_the_give_form_offers_the_rewards_but_not_the_sold_out_ones(
    site, draft_with_tiers, make_user, give
):
    project, (card, dinner) = draft_with_tiers(
        [
            {"title": "Postcard", "min_amount": "10"},
            {"title": "Dinner", "min_amount": "50", "quantity": 1},
        ],
        goal=1000,
        terms={"min_gift": "5"},
    )
    give(project, make_user(), "50", tier=dinner)
    html = _render(site, '{% include "gift/give_fields.html" %}', project=project)
    radios = re.findall(
        r'<input type="radio" name="details.reward_tier_id" value="(\d*)"([^>]*)>', html
    )
    assert [value for value, _ in radios] == ["", str(card.id), str(dinner.id)]
    assert "checked" in radios[0][1]  # no reward by default
    assert "disabled" in radios[2][1] and "disabled" not in radios[1][1]
    assert "No reward, thank you" in html and "sold out" in html
    assert "The smallest gift is €5." in html


def test_the_give_form_keeps_the_chosen_reward_after_an_error(site, draft_with_tiers):
    project, (card,) = draft_with_tiers([{"title": "Postcard", "min_amount": "10"}])
    html = _render(
        site,
        '{% include "gift/give_fields.html" %}',
        method="POST",
        data={"details.reward_tier_id": str(card.id)},
        project=project,
    )
    assert re.search(rf'value="{card.id}"\s+checked', html)


def test_the_terms_fields_show_the_saved_terms(site, make_project):
    project = make_project(
        state="draft",
        goal=1000,
        terms={"mode": "keep_it_all", "min_gift": "5", "stretch_goals": "1500 | Oven\n2000 | Van"},
    )
    html = _render(
        site, '{% include "gift/terms_fields.html" %}', project=project, terms=project.terms
    )
    assert re.search(r'name="terms.mode" value="keep_it_all" checked', html)
    assert 'name="terms.min_gift" inputmode="decimal" value="5"' in html
    assert re.search(r'name="terms.cap_at_goal" value="false" checked', html)
    assert "1500 | Oven\n2000 | Van</textarea>" in html


def test_the_terms_fields_for_a_new_project_and_after_an_error(site):
    html = _render(site, '{% include "gift/terms_fields.html" %}', project=None, terms={})
    assert re.search(r'name="terms.mode" value="all_or_nothing" checked', html)
    assert 'name="terms.stretch_goals"' in html
    html = _render(
        site,
        '{% include "gift/terms_fields.html" %}',
        method="POST",
        project=None,
        data={"terms.mode": "keep_it_all", "terms.stretch_goals": "oops"},
        terms={},
    )
    assert re.search(r'name="terms.mode" value="keep_it_all" checked', html)
    assert ">oops</textarea>" in html


@pytest.fixture
def french_catalog():
    """``make`` compiles the catalogs; compile this one here too when running pytest alone."""
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    import tontine_gift

    folder = Path(tontine_gift.__file__).parent / "translations" / "fr" / "LC_MESSAGES"
    po, mo = folder / "messages.po", folder / "messages.mo"
    if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
        with po.open("rb") as fh:
            catalog = read_po(fh, locale="fr")
        with mo.open("wb") as fh:
            write_mo(fh, catalog)


def test_a_french_visitor_reads_the_section_in_french(
    site, french_catalog, draft_with_tiers, make_user, give
):
    from flask_babel import refresh

    from tontine.money import Money

    project, (dinner,) = draft_with_tiers(
        [{"title": "Dîner", "min_amount": "50", "quantity": 1}], goal=1000
    )
    give(project, make_user(), "50", tier=dinner)
    with site.test_request_context("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"}):
        refresh()  # the locale of the services' earlier calls is cached on ``g``
        html = render_template_string(
            '{% include "gift/project_section.html" %}',
            project=project,
            raised=Money(5000, "EUR"),
            backer_count=1,
        )
    assert "Tout ou rien" in html and "Épuisée" in html
    assert "Pour un don de 50\u202f€ ou plus" in html or "Pour un don de 50\u00a0€ ou plus" in html
