"""docs/federation.md documents every setting, with its default."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import tontine_federation
from tontine_federation.settings import DEFAULTS

DOCS = Path(tontine_federation.__file__).parents[2] / "docs" / "federation.md"


def test_every_setting_is_documented_with_its_default() -> None:
    block = re.search(r"```toml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    assert block is not None
    documented = tomllib.loads(block.group(1))["federation"]
    assert documented == DEFAULTS
