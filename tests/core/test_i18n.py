"""The site speaks French and English: a complete core catalog, the visitor's language chosen
from the browser or the switcher, and amounts written the way each language writes them."""

from __future__ import annotations

import html as htmllib
import io
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

import tontine
from tontine.testing import InstantSite

ROOT = Path(__file__).resolve().parents[2]
CORE = Path(tontine.__file__).resolve().parent
CORE_PO = CORE / "translations" / "fr" / "LC_MESSAGES" / "messages.po"
#: The keywords of the extraction command in babel.cfg (``-k lazy_gettext -k _l``).
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None, "lazy_ngettext": (1, 2)}

NNBSP, NBSP = "\u202f", "\u00a0"


def compile_catalogs() -> None:
    """Compile every French catalog whose .mo is missing or older than its .po.

    The .mo files are not in git (``make`` compiles them); this lets ``pytest`` alone work on a
    fresh clone. Each .mo is written beside the .po through a rename, so a parallel test
    process never reads half a file.
    """
    for po in [CORE_PO, *ROOT.glob("plugins/*/translations/*/LC_MESSAGES/messages.po")]:
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh)
        fd, tmp = tempfile.mkstemp(dir=po.parent, suffix=".mo.tmp")
        with os.fdopen(fd, "wb") as fh:
            write_mo(fh, catalog)
        os.chmod(tmp, 0o644)
        os.replace(tmp, mo)


@pytest.fixture(scope="module", autouse=True)
def compiled_catalogs() -> None:
    compile_catalogs()


def core_catalog() -> Catalog:
    with CORE_PO.open("rb") as fh:
        return read_po(fh, locale="fr")


def method_map() -> tuple[list[tuple[str, str]], dict[str, dict[str, str]]]:
    try:
        from babel.messages.frontend import parse_mapping_cfg as parse
    except ImportError:  # Babel < 2.14
        from babel.messages.frontend import parse_mapping as parse  # type: ignore[attr-defined,no-redef]
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fh:
        return parse(fh)


def strings_in_the_code() -> dict[str, tuple[str, str]]:
    """msgid → (msgid_plural or "", first place it is used), as ``pybabel extract`` finds them."""
    methods, options = method_map()
    found: dict[str, tuple[str, str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(CORE), methods, options, keywords=KEYWORDS
    ):
        singular, plural = (message[0], message[1]) if isinstance(message, tuple) else (message, "")
        if singular:
            found.setdefault(singular, (plural or "", f"{filename}:{lineno}"))
    return found


PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


def placeholders(text: str) -> set[str]:
    """``%(name)s`` placeholders, and an error marker for a ``%`` that is neither one nor ``%%``."""
    found = set(PLACEHOLDER.findall(text))
    if "%" in PLACEHOLDER.sub("", text).replace("%%", ""):
        found.add("<a stray %>")
    return found


# -- the catalog ------------------------------------------------------------------------------


def test_the_french_catalog_has_no_untranslated_fuzzy_or_stale_entry():
    catalog = core_catalog()
    untranslated = [
        m.id
        for m in catalog
        if m.id and not (all(m.string) if isinstance(m.string, tuple) else m.string)
    ]
    assert untranslated == []
    assert [m.id for m in catalog if m.id and m.fuzzy] == []
    assert list(catalog.obsolete) == []
    assert catalog.num_plurals == 2 and catalog.plural_expr == "(n > 1)"


def test_every_string_of_the_code_is_in_the_french_catalog():
    catalog = core_catalog()
    in_code = strings_in_the_code()
    assert len(in_code) > 250  # templates, forms, views and mail were all read
    missing = [
        f"{where}: {msgid!r}" for msgid, (_, where) in in_code.items() if msgid not in catalog
    ]
    assert missing == [], "run pybabel extract + update (see babel.cfg)"
    plural_changed = [
        msgid
        for msgid, (plural, _) in in_code.items()
        if isinstance(catalog[msgid].id, tuple) != bool(plural)
        or (plural and catalog[msgid].id[1] != plural)
    ]
    assert plural_changed == []


def test_translations_keep_every_placeholder():
    catalog = core_catalog()
    assert list(catalog.check()) == []  # Babel's own checks, as pybabel compile runs them
    wrong = []
    for m in catalog:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        expected = placeholders(ids[-1])
        assert placeholders(ids[0]) <= expected
        for string in strings:
            if placeholders(string) != expected:
                wrong.append((ids[0], string))
    assert wrong == []


def test_plural_forms_follow_french_rules():
    buffer = io.BytesIO()
    write_mo(buffer, core_catalog())
    buffer.seek(0)
    fr = Translations(buffer)
    one, many = "%(count)s supporter", "%(count)s supporters"
    assert fr.ngettext(one, many, 0) % {"count": 0} == "0 soutien"
    assert fr.ngettext(one, many, 1) % {"count": 1} == "1 soutien"
    assert fr.ngettext(one, many, 2) % {"count": 2} == "2 soutiens"


# -- the pages ----------------------------------------------------------------------------------


def page(client: Any, url: str, language: str | None = None) -> str:
    headers = {"Accept-Language": language} if language else {}
    response = client.get(url, headers=headers)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


#: Phrases a visitor reads on each page, in English and in French.
PAGES = {
    "home": (
        "/",
        ["Projects to support", "See all projects"],
        ["Des projets à soutenir", "Voir tous les projets"],
    ),
    "browse": (
        "/projects/",
        ["Browse projects", "Any status"],
        ["Découvrir les projets", "Tous les états"],
    ),
    "project": (
        "/projects/{id}",
        ["Support this project", "The story"],
        ["Soutenir ce projet", "L'histoire"],
    ),
    "signup": (
        "/account/signup",
        ["Create your account", "Already have an account?"],
        ["Créez votre compte", "Vous avez déjà un compte ?"],
    ),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_pages_follow_the_browsers_language(app, client, make_project, name):
    project = make_project(title="Une boulangerie à Lyon")
    path, english, french = PAGES[name]
    url = path.format(id=project.id)

    html = page(client, url, "fr-FR,fr;q=0.9,en;q=0.5")
    assert '<html lang="fr">' in html
    for phrase in french + ["Se connecter", "S'inscrire", "Propulsé par Tontine"]:
        assert phrase in html
    assert english[0] not in html

    html = page(client, url, "en-GB,en;q=0.9")
    assert '<html lang="en">' in html
    for phrase in english + ["Log in", "Sign up", "Powered by Tontine"]:
        assert phrase in html
    assert french[0] not in html


def test_a_language_the_site_does_not_speak_gets_the_instances_default(make_app):
    english_site = make_app(LOCALE="en")
    assert '<html lang="en">' in page(english_site.test_client(), "/", "de-DE,de;q=0.9")
    french_site = make_app(LOCALE="fr")
    html = page(french_site.test_client(), "/", "de-DE,de;q=0.9")
    assert '<html lang="fr">' in html and "Des projets à soutenir" in html
    assert '<html lang="fr">' in page(french_site.test_client(), "/")  # no header at all


def test_french_error_messages_on_a_form(app, client, form_post):
    response = form_post(
        client,
        "/account/signup",
        data={"email": "not an address", "password": "x", "confirm": "y", "display_name": ""},
        headers={"Accept-Language": "fr"},
    )
    html = htmllib.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert '<html lang="fr">' in html
    assert "Cette adresse e-mail n'est pas valide." in html
    assert "Indiquez le nom à afficher." in html


# -- the switcher -------------------------------------------------------------------------------


def test_the_switcher_changes_the_language_for_the_session(app, client, form_post):
    english = {"Accept-Language": "en"}
    assert '<html lang="en">' in page(client, "/projects/", "en")

    response = form_post(
        client,
        "/projects/",
        "/locale",
        data={"locale": "fr", "next": "/projects/"},
        headers=english,
    )
    assert response.status_code == 302 and response.headers["Location"] == "/projects/"
    for url in ("/projects/", "/", "/account/signup"):  # the browser still asks for English
        html = page(client, url, "en")
        assert '<html lang="fr">' in html and "Découvrir" in html
    assert 'aria-current="true">FR<' in page(client, "/", "en")

    form_post(client, "/", "/locale", data={"locale": "en", "next": "/"}, headers=english)
    html = page(client, "/", "fr")
    assert '<html lang="en">' in html and "Projects to support" in html

    other = app.test_client()  # another visitor is not affected
    assert '<html lang="fr">' in page(other, "/", "fr")


def test_the_switcher_refuses_a_language_the_site_does_not_speak(app, client, form_post):
    form_post(client, "/", "/locale", data={"locale": "de", "next": "/"})
    assert '<html lang="en">' in page(client, "/", "en")
    with client.session_transaction() as session:
        assert "locale" not in session


def test_the_switcher_needs_the_forms_csrf_token(app, client):
    response = client.post("/locale", data={"locale": "fr", "next": "/"})
    assert response.status_code == 400
    assert '<html lang="en">' in page(client, "/", "en")


# -- amounts -----------------------------------------------------------------------------------


@pytest.fixture
def plain_site(make_app: Any) -> Iterator[Any]:
    site = make_app(plugins=[], extra_plugins=[InstantSite()], PAYMENT_PROVIDERS=["instant"])
    with site.app_context():
        yield site


def test_amounts_are_written_the_way_each_language_writes_them(plain_site, make_project, make_user):
    from tontine.payments.services import contribute

    project = make_project(funding_model="plain", goal="2000")
    contribute(
        project_id=project.id,
        supporter=make_user(),
        amount="1234.56",
        provider_key="instant",
        idempotency_key="i18n-1",
        return_url="/",
    )
    client = plain_site.test_client()
    url = f"/projects/{project.id}"

    french = page(client, url, "fr")
    assert f"1{NNBSP}234,56{NBSP}€" in french  # raised
    assert f"2{NNBSP}000,00{NBSP}€" in french  # the goal
    assert "€1,234.56" not in french

    english = page(client, url, "en")
    assert "€1,234.56" in english and "€2,000.00" in english
    assert "1 234,56" not in english and f"1{NNBSP}234,56" not in english


def test_wtforms_own_messages_follow_the_visitors_language(app):
    """The messages WTForms writes itself (here "not a valid choice") come in the visitor's
    language, request after request, from the catalog tontine.forms.Form reads once."""
    from werkzeug.datastructures import MultiDict
    from wtforms import SelectField

    from tontine.forms import Form

    class Pick(Form):
        class Meta:
            csrf = False

        colour = SelectField(choices=["red", "blue"])

    messages = {}
    for language in ("fr", "en", "fr"):
        # A context of its own per request, as under a server (the locale is kept on ``g``).
        with app.app_context(), app.test_request_context("/", headers={"Accept-Language": language}):
            form = Pick(formdata=MultiDict({"colour": "green"}))
            assert not form.validate()
            messages.setdefault(language, set()).add(form.colour.errors[0])
    assert messages == {"fr": {"N'est pas un choix valide."}, "en": {"Not a valid choice."}}
