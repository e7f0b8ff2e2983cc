"""``terms_from``: the owner form's ``terms.<field>`` inputs, text or uploaded file."""

from __future__ import annotations

import io
from typing import Any

import pytest
from werkzeug.datastructures import FileStorage, MultiDict

from tontine.errors import DomainError
from tontine.projects.forms import TERMS_FILE_MAX_BYTES, terms_from


def upload(data: bytes, name: str = "plan.csv") -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=name, name="terms.plan")


def test_an_uploaded_text_file_replaces_the_text_input(app: Any) -> None:
    form = MultiDict([("terms.plan", "typed"), ("terms.kind", "a"), ("terms.kind", "b"), ("title", "x")])
    files = MultiDict([("terms.plan", upload("\ufeffdate,amount\n2026-01-01,5\n".encode()))])
    assert terms_from(form, files) == {"plan": "date,amount\n2026-01-01,5\n", "kind": ["a", "b"]}
    # No file chosen (an empty file input) or a file not named terms.<field>: the text stays.
    files = MultiDict([("terms.plan", upload(b"", name="")), ("photo", upload(b"x"))])
    assert terms_from(form, files)["plan"] == "typed"
    assert terms_from(form)["plan"] == "typed"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xd8\xff\xe0 a jpeg", "is not a text file"),
        (b"2026-01-01,5\x00", "is not a text file"),
        (b"x" * (TERMS_FILE_MAX_BYTES + 1), "is too large"),
    ],
)
def test_binary_or_oversized_files_are_refused_naming_the_file(app: Any, data: bytes, message: str) -> None:
    with app.test_request_context(), pytest.raises(DomainError, match=message) as refused:
        terms_from(MultiDict(), MultiDict([("terms.plan", upload(data))]))
    assert "plan.csv" in refused.value.message and refused.value.field == "terms.plan"
