"""docs/hooks.md documents every hook of ``tontine.hookspecs``, with its exact signature.

A plugin author reads the doc, not the source: a hook missing from it, a documented hook that
no longer exists, or a stale signature or docstring is a bug.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from tontine import hookspecs

DOC = Path(__file__).resolve().parents[2] / "docs" / "hooks.md"
SECTION = re.compile(r"^### `(\w+)`\s*$", re.MULTILINE)
CODE = re.compile(r"```python\n(def [^\n]+)\n```\n(.*)", re.DOTALL)


def specs() -> dict[str, object]:
    return {
        name: func
        for name, func in vars(hookspecs).items()
        if callable(func) and hasattr(func, "tontine_spec")
    }


def documented() -> dict[str, str]:
    """Hook name → the text of its section in docs/hooks.md."""
    text = DOC.read_text()
    parts = SECTION.split(text)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def signature_from_doc(line: str) -> inspect.Signature:
    """Compile the documented ``def`` line the way hookspecs.py is compiled (PEP 563)."""
    namespace: dict[str, object] = {}
    source = f"from __future__ import annotations\n{line}: ...\n"
    exec(compile(source, str(DOC), "exec"), namespace)  # noqa: S102 - our own docs/hooks.md
    func = next(v for k, v in namespace.items() if inspect.isfunction(v))
    return inspect.signature(func)


def normalized(text: str) -> str:
    return " ".join(text.split())


def test_every_hook_is_documented() -> None:
    missing = sorted(set(specs()) - set(documented()))
    assert not missing, f"hooks missing from docs/hooks.md: {missing}"


def test_every_documented_hook_exists() -> None:
    stale = sorted(set(documented()) - set(specs()))
    assert not stale, f"docs/hooks.md documents hooks that do not exist: {stale}"


@pytest.mark.parametrize("name", sorted(specs()))
def test_documented_signature_and_docstring_match(name: str) -> None:
    section = documented().get(name)
    if section is None:
        pytest.fail(f"{name} is not documented in docs/hooks.md")
    match = CODE.search(section)
    assert match, f"{name}: the section needs a ```python block with its def line"
    line, prose = match.groups()
    assert line.startswith(f"def {name}("), f"{name}: the code block documents {line!r}"
    spec = specs()[name]
    assert signature_from_doc(line) == inspect.signature(spec), (
        f"{name}: documented {line!r}, but hookspecs.py has "
        f"def {name}{inspect.signature(spec)}"
    )
    docstring = normalized(inspect.getdoc(spec) or "")
    assert docstring, f"{name} has no docstring in hookspecs.py"
    assert normalized(prose).startswith(docstring), (
        f"{name}: the doc must start with the hook's docstring: {docstring!r}"
    )
    options = spec.tontine_spec  # type: ignore[attr-defined]
    for option in ("firstresult", "historic"):
        if options.get(option):
            assert option in section, f"{name} is {option}: the doc must say so"


def test_signature_parser_notices_a_changed_signature() -> None:
    """The comparison is not vacuous: a renamed argument or new return type differs."""
    spec = inspect.signature(hookspecs.project_saved)
    assert signature_from_doc("def project_saved(project: Any) -> None") == spec
    assert signature_from_doc("def project_saved(proj: Any) -> None") != spec
    assert signature_from_doc("def project_saved(project: Any) -> bool") != spec
    assert signature_from_doc("def project_saved(project: Any, extra: int = 1) -> None") != spec
