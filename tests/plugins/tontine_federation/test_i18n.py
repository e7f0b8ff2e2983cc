"""The plugin's French catalog covers every string of its code and keeps placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import tontine_federation

HERE = Path(tontine_federation.__file__).parent
ROOT = HERE.parents[1]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def catalog():  # type: ignore[no-untyped-def]
    with (HERE / "translations" / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale="fr")


def strings_in_the_code() -> dict[str, str]:
    from babel.messages.frontend import parse_mapping_cfg

    with (ROOT / "babel.cfg").open(encoding="utf-8") as fh:
        methods, options = parse_mapping_cfg(fh)
    found: dict[str, str] = {}
    for filename, lineno, message, _c, _ctx in extract_from_dir(
        str(HERE), methods, options, keywords=KEYWORDS
    ):
        singular = message[0] if isinstance(message, tuple) else message
        if singular:
            found.setdefault(singular, f"{filename}:{lineno}")
    return found


def test_every_string_is_translated() -> None:
    french = catalog()
    missing = [
        f"{where}: {msgid!r}"
        for msgid, where in strings_in_the_code().items()
        if msgid not in french
        or not all(
            french[msgid].string
            if isinstance(french[msgid].string, tuple)
            else [french[msgid].string]
        )
    ]
    assert missing == [], "run pybabel extract + update for plugins/tontine_federation"
    assert [m.id for m in french if m.id and m.fuzzy] == []


def test_translations_keep_every_placeholder() -> None:
    for message in catalog():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == wanted, message.id
