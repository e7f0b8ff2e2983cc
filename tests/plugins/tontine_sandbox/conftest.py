"""Reuse the payment tests' fixtures (a site with sandbox, manual and balance, and a small
capped funding model standing in for the gift plugin): see tests/core/payments/conftest.py."""

import importlib.util
from pathlib import Path

_path = Path(__file__).parents[2] / "core" / "payments" / "conftest.py"
_spec = importlib.util.spec_from_file_location(f"{__name__}_payment_fixtures", _path)
assert _spec and _spec.loader
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)
globals().update({k: v for k, v in vars(_fixtures).items() if not k.startswith("_")})
